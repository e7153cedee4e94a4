"""Template environment and the small filters pages and feeds share: dates, entry bodies, links."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from gateway.message import PGP_ENCRYPTED_FILE
from gateway.sanitize import rewrite_cid
from gateway.store.models import Attachment
from gateway.store.view_rows import AttachmentRow, EntryRow, ForwardRow

# Raster formats browsers render without running anything; never SVG (it can carry script).
INLINE_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
# the placeholder exactly as sanitize writes it and nh3 keeps it: no other attribute can steer the match
_REMOTE_SPAN = re.compile(r'<span class="remote-image" data-src="([^"]*)">(.*?)</span>', re.S)
_URL = re.compile(r"""\bhttps?://[^\s<>"']+[^\s<>"'.,;:!?)\]]""")


def templates_dir() -> Path:
    """templates/ inside the installed package (wheel), else the one in the source tree."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "templates", here.parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise RuntimeError("mailfeed templates not found; reinstall the package")


def ago(when: datetime | None, now: datetime) -> str:
    """'3 hours ago'; a date once it is more than a month old."""
    if when is None:
        return ""
    seconds = (now - when).total_seconds()
    if seconds < 60:
        return "just now"
    for unit, size in (("minute", 60), ("hour", 3600), ("day", 86400)):
        n = int(seconds // size)
        limit = {"minute": 60, "hour": 24, "day": 31}[unit]
        if n < limit:
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return f"on {when:%-d %b %Y}"


def absolute(when: datetime | None) -> str:
    return "" if when is None else when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def local_time(when: datetime, offset_minutes: int = 0) -> datetime:
    """`when` (UTC) in the author's own offset."""
    return when.astimezone(timezone(timedelta(minutes=offset_minutes)) if offset_minutes else UTC)


def attachment_url(
    entry_id: int, att: AttachmentRow | Attachment, *, inline: bool = False, key: str | None = None
) -> str:
    url = f"/attachments/{entry_id}/{att.position}/{quote(att.filename, safe='')}"
    params = [p for p in ("inline=1" if inline else "", f"key={quote(key)}" if key else "") if p]
    return url + ("?" + "&".join(params) if params else "")


def is_inline_image(att: AttachmentRow | Attachment) -> bool:
    return att.content_type.lower() in INLINE_IMAGE_TYPES


def entry_body(
    entry: EntryRow,
    attachments: list[AttachmentRow],
    *,
    images: bool = False,
    key: str | None = None,
    base: str = "",
    feed: bool = False,
) -> Markup:
    """The entry's sanitized HTML (cid: images pointed at their attachments), else its text, as HTML.

    `entry.html` was sanitized before it was stored (gateway/sanitize.py); it is the
    only mail content ever marked safe. Remote images stay placeholders unless
    `images` (the reader asked for them; the page's CSP then allows https: images).
    For a `feed`, text is laid out in paragraphs and line breaks (`text_feed_html`).
    """
    if entry.html:
        urls = {
            a.content_id: base + attachment_url(entry.id, a, inline=True, key=key) for a in attachments if a.content_id
        }
        body = rewrite_cid(entry.html, urls)
        if images:
            body = _REMOTE_SPAN.sub(_remote_image, body)
        return Markup(body)  # noqa: S704 - sanitized at ingest, see docstring
    if not entry.text.strip():
        kind = encrypted(attachments)
        if kind:
            return Markup('<p class="notice">{}</p>').format(
                f"This message is encrypted ({kind}): only its recipients' keys open it. "
                "The original message (.eml) holds it whole."
            )
    return text_feed_html(entry.text) if feed else text_html(entry.text)


def encrypted(attachments: list[AttachmentRow]) -> str:
    """The encryption, OpenPGP or S/MIME, when an entry's only content is an encrypted part
    ("encrypted.asc", "smime.p7m"); empty otherwise."""
    for a in attachments:
        ctype, name = a.content_type.lower(), a.filename.lower()
        if ctype == "application/pgp-encrypted" or name == PGP_ENCRYPTED_FILE:
            return "OpenPGP"
        if ctype in ("application/pkcs7-mime", "application/x-pkcs7-mime") or name == "smime.p7m":
            return "S/MIME"
    return ""


def _remote_image(m: re.Match[str]) -> str:
    """The image the reader asked for, over https: the page's policy loads no other (an http:
    newsletter image showed as broken), and no network sees which mail was read."""
    alt = html.escape(html.unescape(re.sub(r"<[^>]*>", "", m.group(2))), quote=True)
    src = "https://" + m.group(1)[len("http://") :] if m.group(1).lower().startswith("http://") else m.group(1)
    return f'<img src="{src}" alt="{alt}" referrerpolicy="no-referrer" loading="lazy">'


def text_html(text: str) -> Markup:
    """Plain text as HTML: escaped, links made clickable, line breaks kept by CSS."""
    return Markup('<div class="text" dir="auto">') + _linked(text) + Markup("</div>")


def text_feed_html(text: str) -> Markup:
    """Plain text as HTML for feed readers, which apply none of the site's CSS (its white-space:
    pre-wrap kept the line breaks): blank lines part paragraphs, each line break is a <br>,
    leading indentation is kept; escaped, links made as `text_html` makes them."""
    paras = [Markup("<p>") + Markup("<br>\n").join(map(_line, p)) + Markup("</p>") for p in _paragraphs(text)]
    return Markup('<div class="text" dir="auto">') + Markup("\n").join(paras) + Markup("</div>")


def forwards_html(forwards: Sequence[ForwardRow]) -> Markup:
    """Who forwarded a post and the note each wrote above it ("Forwarded by Cy Chan: FYI, see
    below."), for feed readers to show above the original as the thread page does; empty when
    it was not forwarded."""
    if not forwards:
        return Markup("")
    out: list[Markup] = []
    for f in forwards:
        head = Markup("Forwarded by <strong>{}</strong>").format(f.by_name or f.by_address or "(unknown sender)")
        paras = [Markup("<br>\n").join(map(_line, p)) for p in _paragraphs(f.note)]
        first = head + Markup(": ") + paras[0] if paras else head + Markup(".")
        out.extend(Markup('<p class="forwarded">{}</p>').format(p) for p in [first, *paras[1:]])
    return Markup('<div class="forwards" dir="auto">') + Markup("\n").join(out) + Markup("</div><hr>")


def _paragraphs(text: str) -> list[list[str]]:
    """The text's paragraphs (runs of lines not blank), each a list of its lines."""
    paras: list[list[str]] = [[]]
    for line in text.splitlines():
        if line.strip():
            paras[-1].append(line.rstrip())
        elif paras[-1]:
            paras.append([])
    return [p for p in paras if p]


def _line(line: str) -> Markup:
    """One line of text as HTML, its indentation kept as no-break spaces (HTML collapses spaces)."""
    body = line.lstrip(" \t")
    indent = line[: len(line) - len(body)].replace("\t", "    ")
    return Markup("&nbsp;" * len(indent)) + _linked(body)


def _linked(text: str) -> Markup:
    """Text escaped, with its http(s) URLs made links."""
    out, last = [], 0
    for m in _URL.finditer(text):
        out.append(escape(text[last : m.start()]))
        url = escape(m.group(0))
        out.append(Markup(f'<a href="{url}" rel="noopener noreferrer nofollow">{url}</a>'))
        last = m.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(templates_dir()))
    env = templates.env
    env.filters["ago"] = ago
    env.filters["absolute"] = absolute
    env.filters["urlquote"] = lambda s: quote(str(s), safe="")
    env.globals["attachment_url"] = attachment_url
    env.globals["entry_body"] = entry_body
    env.globals["is_inline_image"] = is_inline_image
    env.globals["local_time"] = local_time
    return templates


templates = make_templates()
