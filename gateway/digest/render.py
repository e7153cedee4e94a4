"""Render: a digest as a mail with a text part and an HTML part (inline CSS), headers included.

Pure: takes the collected items and the links, returns the mail's bytes. The
headers make it a well-behaved list mail (RFC 2369, RFC 8058 one-click
unsubscribe) that mailfeed's own ingest recognises if it is mailed back.
"""

from __future__ import annotations

import binascii
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.utils import format_datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from gateway.digest.collect import Collected, Item

LOOP_HEADER = "X-Mailfeed-Digest"


def templates_dir() -> Path:
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "templates", here.parent / "templates"):
        if (candidate / "digest").is_dir():
            return candidate
    raise RuntimeError("mailfeed templates not found; reinstall the package")


_env = Environment(
    loader=FileSystemLoader(templates_dir()),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,  # the templates ship with the package; checking their mtime cost 5% of a digest
)


@dataclass(frozen=True)
class Links:
    """Where a digest's links point; all absolute."""

    base_url: str
    feed_url: str
    prefs_url: str
    unsubscribe_url: str
    unsubscribe_mailto: str


@dataclass(frozen=True)
class Envelope:
    sender: str  # From:
    return_path: str  # envelope MAIL FROM (VERP: bounces come back per reader)
    to: str
    reply_to: str
    message_id: str
    list_id: str


@dataclass(frozen=True)
class Rendered:
    """A digest ready for the relay: the bytes of the mail and its Message-ID."""

    data: bytes
    message_id: str


MUTE_PLACEHOLDER = "MAILFEED-MUTE-URL"
BlockCache = dict[tuple[object, ...], tuple[str, Markup]]


def render(
    *,
    feed: dict[str, str],
    collected: Collected,
    reply_address: dict[int, str],
    mute_url: dict[int, str],
    links: Links,
    env: Envelope,
    period_label: str,
    total_replaced: int,
    now: datetime,
    cache: BlockCache | None = None,
) -> Rendered:
    """The digest mail. Items are rendered once per content and reused across readers
    (`cache`); only the reader's own mute link is put in per reader."""
    cache = {} if cache is None else cache
    text_blocks, html_blocks = [], []
    for i in collected.items:
        text_block, html_block = _item_blocks(i, f"{links.base_url}/t/{i.thread_id}", reply_address[i.thread_id], cache)
        text_blocks.append(text_block.replace(MUTE_PLACEHOLDER, mute_url[i.thread_id]))
        html_blocks.append(Markup(html_block.replace(MUTE_PLACEHOLDER, escape(mute_url[i.thread_id]))))
    ctx = {
        "feed": feed,
        "items": collected.items,
        "more": collected.more,
        "entry_count": collected.entry_count,
        "total_replaced": total_replaced,
        "period_label": period_label,
        "feed_url": links.feed_url,
        "prefs_url": links.prefs_url,
        "unsubscribe_url": links.unsubscribe_url,
    }
    headers = [
        ("From", env.sender),
        ("To", env.to),
        ("Reply-To", env.reply_to),
        ("Subject", f"[{feed['title']}] Digest for {period_label}: {_summary(collected)}"),
        ("Date", format_datetime(now)),
        ("Message-ID", env.message_id),
        ("List-Id", env.list_id),
        ("List-Unsubscribe", f"<{links.unsubscribe_url}>, <{links.unsubscribe_mailto}>"),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ("Auto-Submitted", "auto-generated"),
        ("Precedence", "list"),
        (LOOP_HEADER, "1"),
    ]
    text = _env.get_template("digest/digest.txt").render(ctx, item_blocks=text_blocks)
    html = _env.get_template("digest/digest.html").render(ctx, item_blocks=html_blocks)
    return Rendered(mime_alternative(headers, text, html), env.message_id)


def _item_blocks(item: Item, url: str, reply_to: str, cache: BlockCache) -> tuple[str, Markup]:
    key = (
        item.thread_id,
        item.subject,
        item.new_thread,
        item.author,
        item.snippet,
        item.comments,
        tuple(item.who),
        item.has_attachments,
        url,
        reply_to,
    )
    found = cache.get(key)
    if found is None:
        ctx = {"item": {**vars(item), "url": url, "reply_to": reply_to, "mute_url": MUTE_PLACEHOLDER}}
        found = (
            _env.get_template("digest/item.txt").render(ctx),
            Markup(_env.get_template("digest/item.html").render(ctx)),
        )
        cache[key] = found
    return found


def mime_alternative(headers: list[tuple[str, str]], text: str, html: str) -> bytes:
    """A multipart/alternative mail, text then HTML, both UTF-8 quoted-printable.

    Written out directly rather than through email.message: a digest goes to
    every reader, and the stdlib's header objects cost more than the rest of
    rendering together.
    """
    boundary = "=_mailfeed_" + hashlib.sha256(text.encode() + html.encode()).hexdigest()[:24]
    out = [f"{name}: {_header_value(name, value)}" for name, value in headers]
    out += ["MIME-Version: 1.0", f'Content-Type: multipart/alternative; boundary="{boundary}"', ""]
    for subtype, body in (("plain", text), ("html", html)):
        out += [
            f"--{boundary}",
            f"Content-Type: text/{subtype}; charset=utf-8",
            "Content-Transfer-Encoding: quoted-printable",
            "",
            _qp(body),
        ]
    out += [f"--{boundary}--", ""]
    return "\r\n".join(out).encode("ascii")


# What would end a header line, or is no text: a feed title "Team\r\nBcc: …" added header fields
_NOT_IN_HEADER = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]+")


def _header_value(name: str, value: str) -> str:
    """On one line (control characters as a space); ASCII as is, anything else as RFC 2047
    encoded words (display names and subjects) of at most 75 characters, folded with CRLF."""
    value = _NOT_IN_HEADER.sub(" ", value)
    if value.isascii():
        return value
    return Header(value, "utf-8", maxlinelen=76, header_name=name).encode(linesep="\r\n")


def _qp(body: str) -> str:
    data = body.replace("\r\n", "\n").encode("utf-8")
    return binascii.b2a_qp(data).decode("ascii").replace("\n", "\r\n")


def _summary(c: Collected) -> str:
    """ "3 new threads, 2 active", counting the threads past MAX_THREADS as what they are (all 64
    new threads of a first digest read "25 new threads, 39 active")."""
    new = c.new_threads if c.new_threads is not None else sum(1 for i in c.items if i.new_thread)
    active = len(c.items) + c.more - new
    parts = [f"{new} new thread{'s' if new != 1 else ''}"] if new else []
    if active:
        parts.append(f"{active} active")
    return ", ".join(parts) or "nothing new"
