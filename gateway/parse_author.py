"""Step 3, parse: who wrote a message, from its From: as senders write it.

mailfeed reads From: itself (mail-parser renders raw 8-bit names as "\\udcXX" text):
"Doe, John <…>" as Exchange writes names, an encoded word with a comma in it,
"Name address" with no brackets, Mailman 2's "ann at example.com (Ann)", Outlook's
"Name [address]"; then Sender, Reply-To and Return-Path; with no address anywhere,
the From value as written. And who a list that rewrote From: names as the author.
"""

from __future__ import annotations

import email.utils
import re
from email.message import Message

from gateway.list_author import named_author, rewritten
from gateway.message import Address
from gateway.parse_headers import comma_named, decoded, no_nul, read_header

__all__ = ["author_of", "list_author_of"]

MAX_WRITTEN_NAME = 200  # a From: with no address, shown as its author's name
MAX_ADDRESSES = 100  # read from one header, when a list's rewritten From: sends us looking


def author_of(from_: list[tuple[str, str]], msg: Message, charset: str | None) -> Address:
    # Read From ourselves first: mail-parser renders raw 8-bit names as "\udcXX" text.
    value = read_header(msg, "from", charset)
    listed = comma_named(value)  # "Doe, John <john.doe@example.com>", as Exchange writes names
    if listed is not None:
        return Address(decoded(listed[0]), no_nul(listed[1]).lower())
    name, addr = email.utils.parseaddr(_SPECIALS_WORD.sub(r'"\g<0>"', value))
    named = "" if addr else name  # 'From: "Mark Whatney" <>': with no address anywhere, the name is who wrote it
    if addr and "@" in addr:
        words = addr.split()
        if len(words) > 1 and not name:  # "From: Ana Lima ana@example.org", no angle brackets
            at = next((i for i, w in enumerate(words) if "@" in w), len(words) - 1)
            name, addr = " ".join(words[:at]), words[at]
        return Address(decoded(name), no_nul(addr).strip().lower())
    obscured = _OBSCURED.match(value)
    if obscured is not None:
        return _unobscured(obscured)
    bracketed = _SQUARE_BRACKETED.match(value)  # "Shawn Jones [shawn@example.com]", as Outlook prints a sender
    if bracketed is not None:
        return Address(decoded(bracketed[1].strip().strip('"')), no_nul(bracketed[2]).lower())
    bare = _BARE_ADDRESS.search(value)  # "From: frank@example.org grace@example.org": no list separator
    if bare is not None:
        return Address("", no_nul(bare.group()).lower())
    for name, addr in from_:
        if addr:
            return Address(no_nul(name or ""), no_nul(addr).strip().lower())
    for header in ("sender", "reply-to", "return-path"):
        name, addr = email.utils.parseaddr(read_header(msg, header, charset))
        if addr:
            return Address(decoded(name), no_nul(addr).lower())
    # no address anywhere: the From value as written is all that says who it is ("From: test",
    # "From: Undisclosed recipients:;"), where the entry named nobody
    written = named or value.strip().rstrip(";:").strip(' "<>')[:MAX_WRITTEN_NAME]
    return Address(no_nul(decoded(written)), "")


# An RFC 2047 word with a comma or another special in it, unquoted (Outlook: "=?iso-8859-1?Q?B=FCrling,=20Andreas?="):
# quoted, so the address parser does not split the name there
_SPECIALS_WORD = re.compile(r'(?<!")=\?[\w.:-]{1,40}\?[QqBb]\?[^?\s",;<>@]{0,300}[,;<>@][^?\s"]{0,300}\?=(?!")')

_BARE_ADDRESS = re.compile(r"(?<![^\s<,;])[^\s<>()\[\]\",;:@]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+")

_SQUARE_BRACKETED = re.compile(
    r"\s*([^\[\]<>@]{0,200}?)\s*\[(?:mailto:)?([^\s<>()\[\]\",;:@]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+)\]\s*$",
    re.IGNORECASE,
)

# Mailman 2's text archives write "From: ann at example.com (Ann Smith)", to keep addresses from harvesters.
_OBSCURED = re.compile(
    r"\s*([^\s@<>()\[\]\",;:]+) at ([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)\s*(?:\((.*)\))?\s*$", re.DOTALL
)


def _unobscured(m: re.Match[str]) -> Address:
    """The author of a message from a Mailman 2 text archive, the address as it was before the archive obscured it.

    Without it, every imported message had no author: no name on the page,
    nothing for a reader's "only mine" digest to match.
    """
    name = decoded(m[3] or "")
    if _OBSCURED.match(name):  # no name: Mailman wrote the address again
        name = ""
    return Address(name, no_nul(f"{m[1]}@{m[2]}").lower())


def list_author_of(author: Address, msg: Message) -> Address | None:
    """Who a list that rewrote From: names as the author; the other headers are read only then."""
    if rewritten(author) is None:
        return None
    return named_author(
        author,
        original_from=_addresses(msg, "x-original-from"),
        reply_to=_addresses(msg, "reply-to"),
        cc=_addresses(msg, "cc"),
    )


def _addresses(msg: Message, name: str) -> list[Address]:
    found = email.utils.getaddresses([read_header(msg, name)])[:MAX_ADDRESSES]
    return [Address(decoded(n), no_nul(a).strip().lower()) for n, a in found if "@" in a]
