"""Steps 5 and 6, unwrap and extract: what an entry shows.

Pure glue over forward.py (finding the original inside a forward) and reply.py
(splitting new text from quoted history and signature); sanitize.py makes the
HTML safe and html_text.py gives a text rendering of HTML-only mail.
"""

from __future__ import annotations

import hashlib
import html as htmllib
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from gateway import forward, links, reply, reply_helpdesk
from gateway.html_text import html_to_text
from gateway.message import Address, Attachment, Forward, ParsedMessage, ReplyParts
from gateway.parse import ParseError, parse
from gateway.parse_attachments import safe_filename
from gateway.parse_calendar import is_calendar
from gateway.sanitize import cid_references, refers_to, sanitize_html, without_hidden
from gateway.thread import FORWARDS, is_reply_subject, normalize_subject

SNIPPET_CHARS = 240
# what a mail gateway puts before the subject the author wrote ("[EXTERNAL] Catering")
_GATEWAY_TAG = re.compile(
    r"^\s*(?:\[\s*(?:external|ext|extern|externe|externo|esterno|external\s+(?:e-?mail|mail|sender|message))\s*\]|"
    r"\*\s*external\s*\*|(?-i:EXTERNAL)\s*:)\s*",  # "External: audit dates" is the author's
    re.I,
)
MAX_NESTED_FORWARDS = 5
# A forward's own prefix, not one behind "Re:" (a reply that attaches a message is no forward)
_FORWARD_SUBJECT = re.compile(rf"^\s*(?:{FORWARDS}|vs):", re.IGNORECASE)


@dataclass
class Content:
    """The visible parts of one entry."""

    author: Address
    date: datetime | None
    subject: str
    text: str
    quoted_text: str = ""
    signature: str = ""
    html: str | None = None
    snippet: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    forward: Forward | None = None
    original_key: str | None = None  # the original's Message-ID, or forward_key() for an inline forward


def content_of(msg: ParsedMessage, lists: frozenset[str] = frozenset()) -> Content:
    """Unwrap a forward if there is one, then split the visible text.

    `lists`: addresses and domains of mailing lists whose rewritten From:
    ("Ann via Team") is undone, showing the author they name (list_author.py).
    """
    author = msg.author
    if msg.list_author is not None and (author.address in lists or author.address.rpartition("@")[2] in lists):
        author = msg.list_author
    found = _unwrap(msg, author)
    if found is not None:
        return found
    text, html = _with_meeting(msg)
    files = msg.attachments
    if msg.embedded:
        text, html, files = _without_attached_messages(msg.embedded, text, html, files)
    reply_to_something = bool(msg.in_reply_to or msg.references) or is_reply_subject(msg.subject)
    return _extracted(author, msg.date, msg.subject, text, html, files, own_quotes=not reply_to_something)


MAX_ATTACHED_READ = 10  # attached messages whose bodies are taken out of the message's own


def _without_attached_messages(
    embedded: list[bytes], text: str, html: str | None, files: list[Attachment]
) -> tuple[str, str | None, list[Attachment]]:
    """The text and HTML without the bodies of the messages attached to a message that is no forward
    of them (a reply that attaches the customer's mail), which mail-parser lists with its own, and
    those messages among the files, named for their subjects, when it listed none. A message with no
    words of its own (a digest) keeps theirs too: it is only their envelope."""
    whole_text, whole_html = text, html
    attached = []
    for data in embedded[:MAX_ATTACHED_READ]:
        try:
            inner = parse(data)
        except ParseError:
            continue
        if inner.text.strip():
            text = text.replace(inner.text, "")
        if html and inner.html and inner.html.strip():
            html = html.replace(inner.html, "")
        # a subject's slash is no folder ("Re: 34Mbit/s" was "s.eml")
        name = safe_filename(f"{inner.subject or 'message'}.eml".replace("/", "-").replace("\\", "-"))
        attached.append(Attachment(name, "message/rfc822", data))
    if not any(f.content_type == "message/rfc822" for f in files):
        files = [*files, *attached]
    if not text.strip():
        return whole_text, whole_html, files
    return text.strip("\n"), html if html and html.strip() else None, files


_WHEN_LINE = re.compile(r"^\s*when\s*:", re.IGNORECASE | re.MULTILINE)


def _with_meeting(msg: ParsedMessage) -> tuple[str, str | None]:
    """The text and HTML with the meeting's time and place above them, as a mail client shows
    them above an Outlook meeting request's body; not twice, when the body says "When:" itself."""
    if not msg.meeting or _WHEN_LINE.search(msg.text):
        return msg.text, msg.html
    text = f"{msg.meeting}\n\n{msg.text}" if msg.text.strip() else msg.meeting
    lines = "<br>".join(htmllib.escape(line) for line in msg.meeting.split("\n"))
    return text, f"<p>{lines}</p>{msg.html}" if msg.html else None


def forward_key(author: Address, date: datetime | None, subject: str) -> str | None:
    """What identifies an inline-forwarded original: its author, date and subject.

    Several people forwarding the same broadcast make one post, whichever
    client each used; an inline forward carries no Message-ID, so the key is
    built from what every client copies into its forward header. The date is
    the instant, in UTC, to the minute: Apple writes "09:00:27 GMT+1" where Gmail
    writes "9:00 AM" in the forwarder's zone, which `_unwrap` has applied by then.
    """
    who = author.address or author.name.casefold()
    if not who or date is None:
        return None
    instant = (date.astimezone(UTC) if date.tzinfo else date).replace(second=0, microsecond=0)
    basis = f"{who}|{instant.isoformat()}|{normalize_subject(subject)}"
    return f"fwd-{hashlib.sha256(basis.encode()).hexdigest()[:32]}@forward.mailfeed.invalid"


def snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SNIPPET_CHARS else flat[: SNIPPET_CHARS - 1].rstrip() + "…"


def _extracted(
    author: Address,
    date: datetime | None,
    subject: str,
    text: str,
    html: str | None,
    attachments: list[Attachment],
    fwd: Forward | None = None,
    original_key: str | None = None,
    *,
    own_quotes: bool = False,
) -> Content:
    """The visible parts of a body. `own_quotes`: the message replies to nothing, so quoted lines
    without a reply header above them are the author's quotation, not history."""
    new_html = quoted_html = history = ""
    html = without_hidden(html) if html else html
    text = _inline_images(links.in_text(text))
    ticket = reply_helpdesk.ticket_text(text)
    if ticket is not None:  # a helpdesk's update: its newest comment, the older ones as history
        text, history = ticket
    if html and (ticket is not None or not text.strip()):
        cut = reply_helpdesk.ticket_html(html)
        if cut is not None:
            html, quoted_html = cut
            history = history or html_to_text(quoted_html)
    if html:
        new_html, quoted_html = reply.split_reply_html(reply.without_banner(html))
    # quoted lines the HTML shows as the author's (a plain <blockquote>, no client's quote markup); the
    # HTML is searched only when the text has quoted lines, or is the HTML's own rendering
    quoting = not text.strip() or text.lstrip().startswith(">") or "\n>" in text
    own_quotes = own_quotes or bool(html and not quoted_html and quoting and _BLOCKQUOTE.search(new_html))
    parts = reply.split_reply(text, own_quotes=own_quotes) if text.strip() else None
    # the HTML's cut left nothing (a client's quote container around all of it) where the text part,
    # quoting nothing, has words: those are the message, and the HTML is shown whole
    unquoted_text = parts is not None and bool(parts.text) and not parts.quoted_text
    if html and quoted_html and unquoted_text and not html_to_text(new_html).strip():
        new_html, quoted_html = reply.without_banner(html), ""
    if html and (parts is None or (quoted_html and not parts.quoted_text)):
        # HTML-only mail, or a text part that hides the quote the HTML shows (iCloud
        # runs the whole HTML into one text line): the HTML's cut is the one to show
        text = html_to_text(new_html)  # empty when everything was quoted
        quoted = html_to_text(quoted_html) if quoted_html else ""
        parts = reply.with_marked_signature(reply.split_reply(text, own_quotes=own_quotes), new_html)
        parts_quoted = "\n".join(p for p in (parts.quoted_text, quoted) if p)
    else:
        parts = parts or reply.split_reply(text)
        parts_quoted = parts.quoted_text
    parts_quoted = "\n\n".join(p for p in (parts_quoted, history) if p)
    if parts.signature and any(is_calendar(a) for a in attachments):
        # an invitation's text is the calendar's own layout (where, who, the call's link),
        # with no author's signature under it: its last paragraphs stay shown
        parts = ReplyParts(text=f"{parts.text}\n\n{parts.signature}".strip(), quoted_text=parts.quoted_text)
    shown_html = _shown_html(new_html, parts.signature) if html else None
    if quoted_html:
        attachments = _without_quoted_images(attachments, quoted_html, shown_html or "")
    return Content(
        author=author,
        date=date,
        subject=_GATEWAY_TAG.sub("", subject, count=1),
        text=parts.text,
        quoted_text=parts_quoted,
        signature=parts.signature,
        html=shown_html,
        snippet=snippet(parts.text),
        attachments=attachments,
        forward=fwd,
        original_key=original_key,
    )


_BLOCKQUOTE = re.compile(r"<blockquote\b", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_BLANK = " \t\r\n\xa0\u200b\u200c\u200d\ufeff"  # and the zero-width characters editors leave behind


def _without_quoted_images(attachments: list[Attachment], quoted_html: str, shown: str) -> list[Attachment]:
    """The files without the inline images only the quoted history of a reply's HTML showed: each
    reply carries them again (Outlook re-attaches the earlier messages' logos as image002.png,
    image003.png…), and every comment of a thread listed them as its own files. An image the
    shown HTML points at stays, as does one the replier's own signature shows (Apple Mail puts a
    sent photo below it); the raw message keeps them all."""
    if not any(a.content_id and a.content_type.startswith("image/") for a in attachments):
        return attachments
    quoted, kept = cid_references(quoted_html), cid_references(shown)
    return [
        a
        for a in attachments
        if not (a.content_id and a.content_type.startswith("image/"))
        or refers_to(kept, a.content_id)
        or not refers_to(quoted, a.content_id)
    ]


def _shown_html(new_html: str, signature: str) -> str | None:
    """The sanitized HTML to show, or None when it shows nothing (no word, no image): the page then
    shows the text part, where a client's empty HTML part (nested empty divs) left it blank."""
    if not new_html.strip():
        return None
    shown = sanitize_html(_without_signature(new_html, signature))
    if "<img" in shown or "remote-image" in shown:
        return shown
    words = _TAG.sub("", shown)
    return shown if htmllib.unescape(words).strip(_BLANK) else None


# Outlook's text part marks an image pasted into the body "[cid:image001.png@01DCAC3F.7B2E5A10]"
_CID_PLACEHOLDER = re.compile(r"\[cid:([^\]\s@]{0,200})@[^\]\s]{1,200}\]")


def _inline_images(text: str) -> str:
    """Outlook's placeholders for inline images written as Gmail writes them, "[image: image001.png]".

    The raw form, an internal id, read as noise in the text, the snippet and the digest.
    """
    if "[cid:" not in text:
        return text
    return _CID_PLACEHOLDER.sub(lambda m: f"[image: {m[1]}]" if m[1] else "[image]", text)


def _is_forward_subject(subject: str) -> bool:
    return bool(_FORWARD_SUBJECT.match(subject))


def _unwrap(msg: ParsedMessage, by: Address) -> Content | None:
    """The original inside a forward (an attached message/rfc822, or an inline one) that `by` sent."""
    inner = _attached_original(msg)
    if inner is not None:
        # mail-parser lists the attached message's text among the outer
        # body parts; what remains without it is the forwarder's note.
        note = _note_above(msg, inner)
        middle = []  # a forward of a forward, each attached: the middle forwarders' notes join the outer one
        for _ in range(MAX_NESTED_FORWARDS):
            deeper = _attached_original(inner, within=True)
            if deeper is None:
                break
            said = _note_above(inner, deeper)
            if said:
                middle.append(f"{inner.author.name or inner.author.address}:\n{said}")
            inner = deeper
        fwd = Forward(by=by, date=msg.date, note="\n\n".join(n for n in (note, *middle) if n))
        return _extracted(
            inner.author,
            inner.date,
            inner.subject or forward.without_forward_prefix(msg.subject),  # a message saved with no Subject
            inner.text,
            inner.html,
            _with_files_of(msg.attachments, inner.attachments),
            fwd,
            inner.message_id,
        )
    inline = None
    if msg.text.strip():
        inline = forward.unwrap_text(msg.text, subject=msg.subject, sent=msg.date)
        if inline is not None and msg.html:
            # the text part finds the forward; the HTML part, when it holds the same one, shows it as sent
            in_html = forward.unwrap_html(msg.html, subject=msg.subject, sent=msg.date)
            if in_html is not None and in_html.html and in_html.author == inline.author:
                inline = replace(inline, html=in_html.html)
            elif in_html is None:  # a header quotequail cannot read in HTML: the body below the client's box
                inline = replace(inline, html=forward.original_html(msg.html) or None)
    if inline is None and msg.html and (not msg.text.strip() or forward.is_forward_subject(msg.subject)):
        # no text part, or one that hides the forward (Yahoo runs its header fields into one line)
        inline = forward.unwrap_html(msg.html, subject=msg.subject, sent=msg.date)
    if inline is None or not (inline.author.address or inline.author.name):
        return None  # Outlook may show only a name in its forward header; that is enough
    inline = _innermost(inline)
    fwd = Forward(by=by, date=msg.date, note=_inline_images(inline.note.strip()))  # Outlook's "[cid:…]" too
    subject = inline.subject or forward.without_forward_prefix(msg.subject)
    date = inline.date
    if date is not None and date.tzinfo is None:
        # A forward header shows the forwarder's local time: take their offset.
        date = date.replace(tzinfo=msg.date.tzinfo if msg.date else UTC)
    key = forward_key(inline.author, date, subject)
    if msg.meeting and not _WHEN_LINE.search(inline.text):
        # Outlook forwards a meeting with its time and place as header fields ("When:", "Where:"), dropped
        # with the header; the calendar it carries says them, as above a meeting request's body
        text, html = _with_meeting(replace(msg, text=inline.text, html=inline.html))
        inline = replace(inline, text=text, html=html)
    return _extracted(inline.author, date, subject, inline.text, inline.html, msg.attachments, fwd, key)


def _attached_original(msg: ParsedMessage, *, within: bool = False) -> ParsedMessage | None:
    """The message a forward attaches, when it is a forward of one.

    "AW: …" with a message attached and words above it is a reply that attaches it, not a forward
    of it; a message that attaches several (a digest, "Fwd: two customer mails") is its sender's,
    the messages its files. `within` a forward, only a forward's subject or no words of its own
    make an attached message a forward again: a report that attaches what it reports on is none.
    """
    if len(msg.embedded) != 1:
        return None
    forwarded = _is_forward_subject(msg.subject)
    short = len(msg.text.strip()) < 2000
    if not (forwarded or short or within):
        return None  # a long message that attaches one: its own, the attached one a file
    try:
        inner = parse(msg.embedded[0])
    except ParseError:
        return None
    if not inner.author.address:
        return None
    if forwarded or (short and not within and not is_reply_subject(msg.subject)):
        return inner
    # a reply's subject, or a message inside a forward, over nothing but the attached message: its
    # envelope, as a forward is; with words of its own, the attached message is what it answers or reports
    own = msg.text.replace(inner.text, "") if inner.text else msg.text
    return None if own.strip() else inner


def _with_files_of(files: list[Attachment], original: list[Attachment]) -> list[Attachment]:
    """The forward's files and those of the original it unwraps that mail-parser did not list for the
    forward (a part the original's sender named nothing): the same bytes once."""
    seen = {a.data for a in files}
    return files + [a for a in original if a.data not in seen]


def _note_above(msg: ParsedMessage, inner: ParsedMessage) -> str:
    """What the forwarder wrote above the message they attached: the text without the attached one's."""
    outer = msg.text.replace(inner.text, "") if inner.text else msg.text
    if not outer.strip() and msg.html:  # a note written in HTML alone
        outer = html_to_text(msg.html.replace(inner.html, "") if inner.html else msg.html)
        start = " ".join(inner.text.split()[:12])
        if start and start in " ".join(outer.split()):
            outer = ""  # the original's words are in it: no note of the forwarder's to tell apart
    return reply.split_reply(outer).text if outer.strip() else ""


def _innermost(inline: forward.InlineForward) -> forward.InlineForward:
    """The original inside a forward of a forward (of a forward…), under the outer note.

    Readers want the original's author, date, subject and body; the middle
    forwarders' headers go, and their notes join the outer one, each under its
    writer's name ("Ana Lima: Please close Tom's accounts…" is often the request itself).
    A loop with a bound, not recursion.
    """
    for _ in range(MAX_NESTED_FORWARDS):
        inner = forward.unwrap_text(inline.text, subject=inline.subject, sent=inline.date)
        if inner is None or not (inner.author.address or inner.author.name):
            break
        in_html = forward.unwrap_html(inline.html, subject=inline.subject, sent=inline.date) if inline.html else None
        html = in_html.html if in_html is not None and in_html.author == inner.author else None
        middle = inner.note.strip()
        if middle:
            middle = f"{inline.author.name or inline.author.address}:\n{middle}"
        note = "\n\n".join(n for n in (inline.note.strip(), middle) if n)
        inline = replace(inner, note=note, html=html)
    return inline


def _without_signature(new_html: str, signature: str) -> str:
    return reply.without_signature(new_html, signature) if signature else new_html
