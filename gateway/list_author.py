"""Who wrote a message that a mailing list re-sent under its own address.

A list relaying mail from a domain that publishes DMARC p=reject or quarantine
rewrites From: to its own address and keeps the author's name in front:
"'Ann Smith' via Team" <team@example.com> (Google Groups), "Ann Smith via
Team" (Mailman). The author's address goes to X-Original-From (Google Groups),
to Reply-To, or to Cc when Reply-To points at the list (Mailman). Left as it
came, every such post shows the list as its author, and a reader's "only mine"
digest misses their own threads.

Pure. `named_author` reads what the headers claim; whether to believe them is
the caller's decision (extract, for the lists an admin names in TRUSTED_LISTS):
anyone can write these headers. Sender policy and DMARC keep judging From:,
the address the list signed for.
"""

from __future__ import annotations

import re

from gateway.message import Address

_VIA = re.compile(r"(.*) via \S", re.IGNORECASE | re.DOTALL)  # greedy: the last " via " splits


def rewritten(author: Address) -> str | None:
    """The author's name in a From: that a list rewrote ("Ann Smith" of "'Ann Smith' via Team"), else None.

    A list's name rarely holds " via ", an author's sometimes does. Matched at
    the start only, the pattern backtracks once over the name: linear on the
    longest name a hostile header holds.
    """
    name = " ".join(author.name.split())
    m = _VIA.match(name)
    if m is None:
        return None
    head = m[1].strip()
    if len(head) > 1 and head[0] == head[-1] and head[0] in "'\"":
        head = head[1:-1].strip()
    return head or None


def named_author(
    author: Address, *, original_from: list[Address], reply_to: list[Address], cc: list[Address]
) -> Address | None:
    """The author a list's rewritten From: points to; None when From: is no such rewrite or nothing names them.

    X-Original-From is the list's own copy of the author's From:. A Reply-To or
    Cc address counts only under the name the list kept: a poster's own
    Reply-To (to a colleague, say) is not taken for its author.
    """
    name = rewritten(author)
    if name is None:
        return None
    for found in original_from:
        if found.address and found.address != author.address:
            return Address(_shown_name(found.name or name, found.address), found.address)
    for found in (*reply_to, *cc):
        if found.address and found.address != author.address and _same(found.name, name, found.address):
            return Address(_shown_name(found.name, found.address), found.address)
    return None


def _same(name: str, kept: str, address: str) -> bool:
    """Whether `name` (of `address`) is the name the list kept; a nameless author's is their address.

    Mailman writes a nameless author as "ann at example.com via Team".
    """
    kept = kept.casefold()
    if name:
        return " ".join(name.split()).casefold() == kept
    return kept in (address, address.replace("@", " at "))


def _shown_name(name: str, address: str) -> str:
    """No name when all there is to show is the address again."""
    return "" if name.casefold() in (address, address.replace("@", " at ")) else name
