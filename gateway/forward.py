"""Unwrap step: recover a message forwarded inline (pasted below a marker).

Recognising the markers and header blocks of Gmail ("---------- Forwarded
message ---------"), Apple Mail ("Begin forwarded message:"), Outlook
("-----Original Message-----", From:/Sent:/To:/Subject:), Thunderbird,
Sparrow, Mail.ru, BlackBerry and their translations is left to quotequail,
which measured best on the labelled forwards (see bench/accuracy.py); this
module decides what counts as a forward and turns the result into values.

A forward is a forward marker, or a wrapped message with a header block in a
mail whose subject says it is forwarded (Fwd:, FW:, WG:, TR:, RV:, VS:, …): an
"-----Original Message-----" block under a "Re:" subject is reply history, which
`reply` handles. Attached message/rfc822 forwards are the pipeline's business.

quotequail parses HTML with lxml, whose parser caps nesting depth (libxml2's
limit), so its recursive tree walks stay bounded; input over `MAX_CHARS` is not
unwrapped at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

import quotequail
from lxml import etree

from gateway import forward_markers as M
from gateway import forward_notes as N
from gateway import reply_closings as C
from gateway import reply_patterns as P
from gateway.forward_dates import parse_date
from gateway.forward_fields import attributed, english_fields, notes_sender, parse_address, with_date
from gateway.html_text import html_to_text
from gateway.message import Address
from gateway.reply_headers import find_header
from gateway.reply_tokens import OpenStack, Token, source, tokenize
from gateway.thread import FORWARDS

__all__ = [
    "InlineForward",
    "unwrap_text",
    "unwrap_html",
    "original_html",
    "is_forward_subject",
    "without_forward_prefix",
    "parse_address",
]

MAX_CHARS = 2_000_000
# "Fwd:", "FW:", German "WG:", French "TR:", Spanish "RV:", Nordic "VS:"/"VB:", Dutch "Doorst:"
_FWD_SUBJECT = re.compile(
    r"^\s*(?:\[[^\]]{0,80}\]\s*)?(?:(?:re|aw|sv|antw)\s*:\s*)*"
    # threading's forward prefixes, and those it counts as replies elsewhere: VS: (a forward in Danish
    # and Norwegian, a reply in Finnish: see _FINNISH_REPLY), RIF:; and Czech "Přeposlat:"
    rf"(?:{FORWARDS}|vs|rif|přeposlat)\s*(?:\[\d{{1,3}}\])?\s*[:：]",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class InlineForward:
    """A message forwarded inline: the forwarder's note and the original's headers and body."""

    note: str
    author: Address
    date: datetime | None
    subject: str
    to: str
    text: str
    html: str | None = None


def is_forward_subject(subject: str) -> bool:
    """True when the subject says the mail is a forward (Fwd:, FW:, WG:, TR:, …)."""
    return bool(_FWD_SUBJECT.match(subject[:300]))


def without_forward_prefix(subject: str) -> str:
    """The subject without its "Fwd:"/"WG:"/"ENC:" prefix, for a forward whose header named none."""
    if not is_forward_subject(subject):
        return subject
    return (_FWD_SUBJECT.sub("", subject[:300], count=1) + subject[300:]).strip()


def unwrap_text(text: str, *, subject: str = "", sent: datetime | None = None) -> InlineForward | None:
    """The forwarded message inside a text/plain body, or None; `sent`, the forward's own date, tells
    which way round a numeric date in its header is meant (forward_dates.parse_date)."""
    if not text or len(text) > MAX_CHARS:
        return None
    # Outlook in French writes a no-break space before each colon ("De\xa0:"), which quotequail misses
    text = text.replace("\r\n", "\n").replace("\xa0:", " :")
    if not _may_be_forward(subject, text) or _field_flood(text):
        return None  # what _accept would say anyway, without quotequail's cost
    if _reply_above_forward(text):
        return None  # a reply whose quoted history holds a forward ("Re: Fwd: …"): the reply step's
    yandex = _yandex_forward(text, sent)
    if yandex is not None:
        return yandex
    intro = _intro_forward(text, sent) if is_forward_subject(subject) else None
    if intro is not None:
        return replace(intro, subject=without_forward_prefix(subject))
    result = quotequail.unwrap(english_fields(M.in_english(text), without_forward_prefix(subject)))
    if not _accept(result, subject, text) and is_forward_subject(subject) and not _FINNISH_REPLY.match(subject):
        result = attributed(text)  # Outlook for Mac's forward under a reply's header in another language
    if not _accept(result, subject, text):
        return None
    assert result is not None
    result = with_date(result, text)
    body, below = N.at_end_marker(N.without_closing_marker(_whole_body(result.get("text", "").strip("\n"), text)))
    top = N.without_app_line(N.unsigned(N.without_marker(result.get("text_top", ""))), result.get("type", ""))
    note = N.join(top, result.get("text_bottom", ""), below)
    return _build(result, note=note, text=N.unstuffed(body), html=None, sent=sent)


# quotequail reads the field lines below each field line again (`find_unwrap_start`): a body of
# 12,500 "From: a" lines under "Fwd:" took 149 s, and 2 MB would hold the processor for hours. A
# forward's header has some twenty fields; a run past this many is no header quotequail need read.
MAX_FIELD_RUN = 200
_FIELD_LINE = re.compile(r"\*?[-\w ]+:")  # quotequail's header line (its HEADER_RE), at a line's start


def _field_flood(text: str) -> bool:
    """A run of more than MAX_FIELD_RUN field lines as quotequail counts them: blank lines and one
    wrapped line between two fields do not end it (its `extract_headers`), nor do quote marks, which
    it takes off to read a quoted forward again."""
    run = between = 0
    for line in text.split("\n"):
        if _FIELD_LINE.match(line.lstrip("> \t")):
            run, between = run + 1, 0
            if run > MAX_FIELD_RUN:
                return True
        elif line.strip():
            between += 1
            run = run if between < 2 else 0
    return False


# Yandex's forward: its marker, then one line of date, time and sender instead of header fields
# ("02.03.2026, 09:12, "Bo Berg" <bo@example.net>:"), and an end marker
_YANDEX_HEADER = re.compile(
    r"^[ \t]*[-=]{2,}[ \t]*(?:пересылаемое\s+сообщение|beginning\s+of\s+forwarded\s+message)[ \t]*[-=]{2,}[ \t]*\n"
    r"(?:[ \t]*\n)?[ \t]*(\d{1,2}\.\d{1,2}\.\d{4}),?[ \t]+(\d{1,2}:\d{2}),[ \t]*"
    r"([^\n]{1,200}@[^\n]{1,200}?)[ \t]*:[ \t]*\n",
    re.IGNORECASE | re.MULTILINE,
)


def _yandex_forward(text: str, sent: datetime | None) -> InlineForward | None:
    found = _YANDEX_HEADER.search(text)
    if found is None:
        return None
    day, clock, sender = found.groups()
    return InlineForward(
        note=text[: found.start()].strip("\n"),
        author=parse_address(sender),
        date=parse_date(f"{day} {clock}", before=sent),
        subject="",
        to="",
        text=N.at_end_marker(text[found.end() :].strip("\n"))[0],
    )


# aerc's and alot's forward in the body: one line naming the sender and the date, no header block
# ("Forwarded message from Bo Berg on Mon Mar 2, 2026 at 9:12 AM:", "… from Bo Berg (2026-03-02 09:12:00):")
_INTRO = re.compile(
    r"^[ \t]*forwarded\s+message\s+from\s+([^\n]{1,200}?)"
    r"(?:\s+on\s+([^\n]{6,60}?)|\s+\(([^()\n]{6,40})\))[ \t]*:[ \t]*\n",
    re.IGNORECASE | re.MULTILINE,
)


def _intro_forward(text: str, sent: datetime | None) -> InlineForward | None:
    """A forward under `_INTRO`: the original below it, its ">" taken off when every line has one (alot),
    and the forwarder's own "-- " signature, the last of two, left out (aerc)."""
    found = _INTRO.search(text)
    if found is None:
        return None
    lines = text[found.end() :].strip("\n").split("\n")
    if all(P.QUOTED.match(line) for line in lines if line.strip()):
        lines = [P.QUOTE_PREFIX.sub("", line, count=1) for line in lines]
    separators = [i for i, line in enumerate(lines) if C.SIG_DELIMITER.match(line)]
    if len(separators) > 1:
        lines = lines[: separators[-1]]
    sender, on, bracketed = found.groups()
    return InlineForward(
        note=text[: found.start()].strip("\n"),
        author=parse_address(sender),
        date=parse_date(on or bracketed, before=sent),
        subject="",
        to="",
        text="\n".join(lines).strip("\n"),
    )


def unwrap_html(html: str, *, subject: str = "", sent: datetime | None = None) -> InlineForward | None:
    """The forwarded message inside an HTML body, or None (`sent` as for `unwrap_text`)."""
    if not html or len(html) > MAX_CHARS:
        return None
    text = html_to_text(html)
    if not _may_be_forward(subject, text) or _field_flood(text) or _reply_above_forward(text):
        return None
    try:
        result = quotequail.unwrap_html(html)
    except etree.LxmlError:  # quotequail builds XPath from tag names, and lxml refuses some ("<dˇ>")
        result = None
    if not _accept(result, subject, text):
        # header fields quotequail reads only in some languages: the text rendering's, mapped
        in_text = unwrap_text(text, subject=subject, sent=sent)
        return replace(in_text, html=original_html(html) or None) if in_text is not None else None
    assert result is not None
    result = with_date(result, text)
    # the clients' own header first: quotequail's html keeps Gmail's gmail_quote wrapper,
    # which the reply step would then fold away as history, or has no body at all
    inner = _unquoted(original_html(html) or _without_quote_wrapper(result.get("html") or ""))
    top = N.without_app_line(N.without_marker(html_to_text(result.get("html_top") or "")), result.get("type", ""))
    note = N.join(top, html_to_text(result.get("html_bottom") or ""))
    body = html_to_text(inner) if inner else ""
    inner, body = N.html_without_closing_marker(inner, body), N.without_closing_marker(body)
    if not body.strip():  # the header block found, the body lost: read it from the text rendering
        in_text = unwrap_text(text, subject=subject, sent=sent)
        body = in_text.text if in_text is not None else ""
    return _build(result, note=note, text=body, html=inner or None, sent=sent)


def original_html(html: str) -> str:
    """What follows a forward's header block in HTML: the forwarded body, or "".

    The header is Gmail's `<div class="gmail_attr">`, Outlook on the web's
    `<div id="divRplyFwdMsg">`, Outlook desktop's bordered `<div>` or Thunderbird's
    `<table class="moz-email-headers-table">` (in its `moz-forward-container`). quotequail
    0.5.4 returns no body for Gmail's forward as Gmail sends it, and reads a
    body line such as "between 21:00 and 22:00" as one more Outlook header field.
    End tags left unmatched by the cut are dropped by the sanitizer.
    """
    if not any(mark in html for mark in ("gmail_attr", "divRplyFwdMsg", "border-top", "moz-email-headers-table")):
        return ""
    tokens = tokenize(html)
    start = next((i for i, t in enumerate(tokens) if t.kind == "start" and _is_header_box(t)), None)
    if start is None:
        return ""
    stack = OpenStack()
    for i, tok in enumerate(tokens):
        if tok.kind == "start":
            stack.push(i, tok.tag)
        elif tok.kind == "end" and stack.pop(tok.tag) == start:
            body = i + 1
            while body < len(tokens) and (tokens[body].tag in ("br", "hr") or not tokens[body].text.strip()):
                body += 1  # the blank lines under the header
            return "".join(source(t) for t in tokens[body:]).strip()
    return ""


# Gmail's container of what it forwards (its older layout, with no `gmail_attr` header box), which
# quotequail hands back around the original's body: there it marks no quote
_QUOTE_WRAPPER = re.compile(
    r"""\A(\s{0,200}<div\b[^>]{0,300}?)\s{1,20}class=(["'])[^"'>]{0,200}?\bgmail_quote\b[^"'>]{0,200}\2""",
    re.IGNORECASE,
)


def _without_quote_wrapper(html: str) -> str:
    """The forwarded body without the class that would make the reply step fold all of it away."""
    return _QUOTE_WRAPPER.sub(r"\1", html, count=1)


_BLOCKQUOTE_TAG = re.compile(r"<(/?)blockquote\b[^>]{0,2000}>", re.IGNORECASE)


def _unquoted(html: str) -> str:
    """The forwarded body out of the one blockquote that holds all of it: Spark writes its forward's
    header unquoted and the original below it in `<blockquote type="cite" class="spark_quote">`,
    which the reply step would fold away whole as quoted history, leaving the post empty."""
    tags = list(_BLOCKQUOTE_TAG.finditer(html))
    if not tags or tags[0].group(1):
        return html
    depth, end = 0, None
    for i, tag in enumerate(tags):
        depth += -1 if tag.group(1) else 1
        if depth == 0:
            end = i
            break
    if end is None:
        return html  # never closed: left as it is
    first, last = tags[0], tags[end]
    if any(not t.group(1) for t in tags[end + 1 :]) or html_to_text(html[: first.start()] + html[last.end() :]).strip():
        return html  # a second quote, or words outside it: a body that quotes something
    return html[: first.start()] + html[first.end() : last.start()] + html[last.end() :]


def _is_header_box(tok: Token) -> bool:
    if "gmail_attr" in tok.attr("class") or tok.attr("id") == "divRplyFwdMsg":
        return True
    if tok.tag == "table" and "moz-email-headers-table" in tok.attr("class").split():
        return True  # Thunderbird's, under its forward line in the user's language
    style = tok.attr("style").replace(" ", "").lower()
    return tok.tag == "div" and "border-top:solid" in style


def _accept(result: dict[str, str] | None, subject: str, text: str) -> bool:
    """A wrapped message with a sender, under a forward marker or a forward subject."""
    if not result or not result.get("from") or result.get("type") not in ("forward", "reply"):
        return False
    if is_forward_subject(subject):
        return not _FINNISH_REPLY.match(subject) or not _FINNISH_FIELDS.search(text)
    # quotequail also calls "-----Original Message-----" and bare header blocks
    # forwards; Outlook writes those when replying too, so they need the subject
    return result.get("type") == "forward" and _has_forward_marker(text)


# "VS:" forwards in Danish and Norwegian Outlook but answers in Finnish (whose forward is "VL:"):
# under a Finnish header block it is a reply
_FINNISH_REPLY = re.compile(r"^\s*vs\s*:", re.IGNORECASE)
_FINNISH_FIELDS = re.compile(r"^[\s>*]*lähettäjä\s*\*?\s*:", re.IGNORECASE | re.MULTILINE)


def _reply_above_forward(text: str) -> bool:
    """A reply header ("On … wrote:") above the first forward marker: the forward is history being answered."""
    lines = text.split("\n")
    marker = next((i for i, ln in enumerate(lines) if M.is_forward_marker(ln)), None)
    if marker is None or not P.QUOTED.match(lines[marker]):
        return False  # an unquoted marker is this mail's own forward
    return find_header(lines[:marker]) is not None


def _may_be_forward(subject: str, text: str) -> bool:
    """_accept's own conditions, checked first: most mail is no forward, and unwrapping costs."""
    return is_forward_subject(subject) or _has_forward_marker(text)


def _has_forward_marker(text: str) -> bool:
    return any(M.is_forward_marker(line) for line in text.split("\n"))


def _whole_body(read: str, text: str) -> str:
    """The forwarded body quotequail read, or all of it below the header's blank line when quotequail
    took its first lines for header fields ("Found this at gate 3 at 07:45 today." has a colon):
    the original lost its first words."""
    below = _body_below_headers(text)
    if not read:
        return below
    if len(below) <= len(read) or not below.rstrip().endswith(read.rstrip()):
        return read
    lost = below.rstrip()[: len(below.rstrip()) - len(read.rstrip())].split("\n")
    fields = any(P.FROM_FIELD.match(line) or P.OTHER_FIELD.match(line) for line in lost)
    return read if fields else below  # header fields a blank line apart (BlackBerry's) are no body


def _body_below_headers(text: str) -> str:
    """The forwarded body when quotequail loses it.

    quotequail 0.5.4 reads a body line such as "Saturday 02:00-04:00." as one
    more header and returns no text; the body is what follows the first blank
    line under the From: field.
    """
    lines = text.split("\n")
    start = next((i for i, line in enumerate(lines) if P.FROM_FIELD.match(line[: P.LINE_MAX_CHARS])), None)
    if start is None:
        return ""
    blank = next((i for i in range(start, len(lines)) if not P.QUOTE_PREFIX.sub("", lines[i]).strip()), None)
    if blank is None:
        return ""
    quoted = bool(P.QUOTED.match(lines[start]))
    body = [P.QUOTE_PREFIX.sub("", ln, count=1) if quoted else ln for ln in lines[blank + 1 :]]
    return "\n".join(body).strip("\n")


def _build(result: dict[str, str], *, note: str, text: str, html: str | None, sent: datetime | None) -> InlineForward:
    # iOS Mail starts the message it forwards with a zero-width no-break space (U+FEFF): the post's
    # text began with it, invisible but in its snippet, its JSON and its search index
    text, html = text.replace("\ufeff", ""), html.replace("\ufeff", "") if html else html
    sender, on = notes_sender(result.get("from", ""))  # Lotus Notes' "Bo Berg/ACME on 03/02/2026 10:15 AM"
    return InlineForward(
        note=note,
        author=parse_address(sender),
        date=parse_date(result.get("date", "") or on, before=sent),
        subject=(result.get("subject") or "").strip(),
        to=(result.get("to") or "").strip(),
        text=text,
        html=html,
    )
