"""Render: a digest as a mail with a text part and an HTML part (inline CSS), headers included.

Pure: takes the collected items and the links, returns an EmailMessage. The
headers make it a well-behaved list mail (RFC 2369, RFC 8058 one-click
unsubscribe) that mailfeed's own ingest recognises if it is mailed back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from gateway.digest.collect import Collected

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


def render(
    *, feed: dict[str, str], collected: Collected, reply_address: dict[int, str], links: Links,
    env: Envelope, period_label: str, total_replaced: int, now: datetime,
) -> EmailMessage:
    items = [
        {**vars(i), "url": f"{links.base_url}/t/{i.thread_id}", "reply_to": reply_address[i.thread_id]}
        for i in collected.items
    ]
    ctx = {
        "feed": feed, "items": items, "more": collected.more, "entry_count": collected.entry_count,
        "total_replaced": total_replaced, "period_label": period_label, "feed_url": links.feed_url,
        "prefs_url": links.prefs_url, "unsubscribe_url": links.unsubscribe_url,
    }
    msg = EmailMessage()
    msg["From"] = env.sender
    msg["To"] = env.to
    msg["Reply-To"] = env.reply_to
    msg["Subject"] = f"[{feed['title']}] Digest for {period_label}: {_summary(collected)}"
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = env.message_id
    msg["List-Id"] = env.list_id
    msg["List-Unsubscribe"] = f"<{links.unsubscribe_url}>, <{links.unsubscribe_mailto}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["Auto-Submitted"] = "auto-generated"
    msg["Precedence"] = "list"
    msg[LOOP_HEADER] = "1"
    msg.set_content(_env.get_template("digest/digest.txt").render(ctx))
    msg.add_alternative(_env.get_template("digest/digest.html").render(ctx), subtype="html")
    return msg


def _summary(c: Collected) -> str:
    new = sum(1 for i in c.items if i.new_thread)
    active = len(c.items) - new + c.more
    parts = [f"{new} new thread{'s' if new != 1 else ''}"] if new else []
    if active:
        parts.append(f"{active} active")
    return ", ".join(parts) or "nothing new"
