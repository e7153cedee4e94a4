"""Step 3, parse: the raw bytes mended where the parser would misread them, before it reads them.

The stored raw keeps every byte as it came; these are copies for reading. Blank lines or a
tool's line above the headers, MIME fields a blank line cut off the header (Outlook's attached
messages), field names written apart from their colons, trace headers mail-parser need not read,
and attached messages sent in base64 (`read_encoded_messages`, on the parsed tree).
"""

from __future__ import annotations

import binascii
import email
import quopri
import re
from email.message import Message


def mended(raw: bytes) -> bytes:
    """`raw` as the parser should read it: no blank lines above the header or inside it
    (`_header_rejoined`), MIME fields that open a body joined to its header, no space between a
    field's name and its colon, a header that runs into its multipart's first delimiter ended there
    (`_ended_at_its_boundary`), no line in the header that is no field (`_without_odd_lines`)."""
    raw = _LEADING_BLANK.sub(b"", raw, count=1)
    raw = _without_mangled_from_line(raw)
    raw = _with_mime_fields_joined(_header_rejoined(raw) or raw)
    raw = _without_space_before_colons(raw) or raw
    raw = _ended_at_its_boundary(raw) or raw
    return _without_odd_lines(raw) or raw


def names_a_message(raw: bytes) -> bool:
    """Whether `raw` may hold a message/rfc822 or message/global part: a plain substring search,
    as a case-blind pattern over every message's bytes cost 0.17 ms."""
    return b"essage/" in raw or b"ESSAGE/" in raw


# Blank lines above the first header: the header block would end before it began. Files saved by
# some tools, and mbox entries written with a blank line after their "From " line, start so.
_LEADING_BLANK = re.compile(rb"\A(?:[ \t]*\r?\n)+(?=[\x21-\x39\x3b-\x7e]{1,76}:)")


# An mbox "From " line some tool saved with a colon ("From: ann@x.org  Thu Aug 22 12:46:39 2002"),
# above the message's own From: field: it was read as the author, "ann@x.orgthuaug2212"
_MANGLED_FROM_LINE = re.compile(
    rb"\AFrom:[ \t]*\S{1,200}@\S{1,200}[ \t]+(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[ \t]+[A-Z][a-z]{2}[ \t]+\d{1,2}"
    rb"[ \t]+\d{1,2}:\d{2}:\d{2}[ \t]+\d{4}[ \t]*\r?\n"
)


def _without_mangled_from_line(raw: bytes) -> bytes:
    """`raw` without such a line, when the header has a From: field of its own below it."""
    line = _MANGLED_FROM_LINE.match(raw) if raw.startswith(b"From:") else None
    if line is None or b"\nFrom:" not in raw[line.end() - 1 : max(header_end(raw), line.end())]:
        return raw
    return raw[line.end() :]


# MIME's fields alone at the top of the body, ended by a blank line: Outlook attaches messages so
# (a blank line between their headers and their Content-Type), and the whole MIME body read as text
_MIME_FIELDS_BELOW = re.compile(
    rb"(?:(?:Content-Type|MIME-Version|Content-Transfer-Encoding):[^\n]{0,998}\n(?:[ \t][^\n]{0,998}\n){0,20}){1,5}"
    rb"\r?\n",
    re.IGNORECASE,
)


_CONTENT_TYPE = re.compile(rb"^content-type:", re.IGNORECASE | re.MULTILINE)
_ATTACHED_MESSAGE = re.compile(rb"^content-type:[ \t]*message/rfc822", re.IGNORECASE | re.MULTILINE)
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")


def _with_mime_fields_joined(raw: bytes) -> bytes:
    """The message, and each message attached to it, with MIME fields that open its body moved up
    into its header, when that header has no Content-Type of its own."""
    starts = [0]
    if names_a_message(raw):
        for m in _ATTACHED_MESSAGE.finditer(raw):
            blank = _BLANK_LINE.search(raw, m.end())  # the end of the part's own header
            if blank is not None:
                starts.append(blank.end())
    for start in reversed(starts):  # from the end: the offsets before each stay right
        raw = _joined_at(raw, start)
    return raw


def _joined_at(raw: bytes, start: int) -> bytes:
    blank = _BLANK_LINE.search(raw, start)
    if blank is None or _CONTENT_TYPE.search(raw, start, blank.start()):
        return raw
    if _MIME_FIELDS_BELOW.match(raw, blank.end()) is None:
        return raw
    eol = b"\r\n" if raw.startswith(b"\r", blank.start()) else b"\n"
    return raw[: blank.start()] + eol + raw[blank.end() :]  # the blank line goes; the line above keeps its end


def lenient_base64(text: str) -> bytes:
    """Base64 as senders cut it: a lone character past the last whole group of four dropped,
    padding made up. ValueError for text with other characters than base64's, line breaks
    and padding, or with spaces inside a line: no base64 at all."""
    if SPACE_INSIDE.search(text):
        raise ValueError("words, not base64")
    letters = _SPACE_AND_PADDING.sub("", text)
    if _NOT_BASE64.search(letters):
        raise ValueError("not base64")
    if len(letters) % 4 == 1:
        letters = letters[:-1]
    return binascii.a2b_base64(letters + "=" * (-len(letters) % 4))


SPACE_INSIDE = re.compile(r"\S[ \t]+\S")  # a line with words in it, which base64 never has
_SPACE_AND_PADDING = re.compile(r"[\s=]+")
_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/]")


# A line in the header that is neither a field, nor a field's continuation, nor the blank line,
# with a field everyone writes right below it ("odd X-Header: value", "Sub ject: …")
_KNOWN_FIELD_BELOW = (
    rb"(?=(?:from|to|cc|subject|date|message-id|received|return-path|reply-to|in-reply-to|references|"
    rb"mime-version|content-[a-z-]{1,30}|x-[\x21-\x39\x3b-\x7e]{1,70}|dkim-signature|sender|delivered-to):)"
)
_ODD_LINE = re.compile(rb"\n(?![\x21-\x39\x3b-\x7e]{1,76}:|[ \t]|\r?\n)[^\r\n]*\r?\n" + _KNOWN_FIELD_BELOW, re.I)
# a field's name alone on its line, its value cut off below it, once that value's line is gone
_CUT_FIELD_NAME = re.compile(rb"\n[A-Za-z][A-Za-z0-9-]{0,75}\r?\n" + _KNOWN_FIELD_BELOW, re.IGNORECASE)


_BOUNDARY = re.compile(rb"""\bboundary\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))""", re.IGNORECASE)


def _ended_at_its_boundary(raw: bytes) -> bytes | None:
    """The message with a blank line before its multipart's first delimiter, when that delimiter
    comes right below the header fields with none; else None.

    The header then ran on into the first part's fields, the delimiter was dropped as a line
    that is no field, and the part (the whole body of a mailer's HTML message) was lost.
    """
    end = header_end(raw)
    head = raw[: end if end >= 0 else len(raw)]
    declared = _BOUNDARY.search(head)
    if declared is None:
        return None
    at = head.find(b"\n--" + (declared.group(1) or declared.group(2)))
    if at < 0:
        return None
    return raw[: at + 1] + (b"\r\n" if head[at - 1 : at] == b"\r" else b"\n") + raw[at + 1 :]


def _without_odd_lines(raw: bytes) -> bytes | None:
    """The message without lines in its header that are no field, when fields follow them; else None.

    The email package ends the header at such a line: what follows, author and subject
    included, was read as the body, and a message whose second line it was had no header.
    """
    end = header_end(raw)
    head = raw[: end if end >= 0 else len(raw)]
    if _ODD_LINE.search(head) is None:
        return None
    # "From\n: <addr>\nFrom: …", a field's name cut from its value: the second line hid the first
    return _CUT_FIELD_NAME.sub(b"\n", _ODD_LINE.sub(b"\n", head)) + raw[len(head) :]


_FROM_OR_SUBJECT = re.compile(rb"^(?:from|subject):", re.IGNORECASE | re.MULTILINE)
# blank or blank-looking lines, then a block of fields with From: or Subject: among them, up to a blank line
_REST_OF_HEADER = re.compile(
    rb"(?:[ \t]*\r?\n){1,5}((?:[\x21-\x39\x3b-\x7e]{1,76}:[^\n]*\n(?:[ \t][^\n]*\n)*){2,60})\r?\n"
)


def _header_rejoined(raw: bytes) -> bytes | None:
    """The header whole again when blank lines cut it in two and its first block has no From: and no
    Subject: (a mailer's saved copy had the rest of its header, author and subject, below them,
    and it was read as the body); else None."""
    end = header_end(raw)
    if end < 0 or _FROM_OR_SUBJECT.search(raw, 0, end):
        return None
    line_end = raw.index(b"\n", end) + 1  # the newline that ends the header's last line
    rest = _REST_OF_HEADER.match(raw, line_end)
    if rest is None or not _FROM_OR_SUBJECT.search(rest.group(1)):
        return None
    return raw[:line_end] + rest.group(1) + raw[rest.end(1) :]


def header_end(raw: bytes) -> int:
    end = raw.find(b"\r\n\r\n")
    return end if end >= 0 else raw.find(b"\n\n")


_TRACE = re.compile(
    rb"^(?:received|x-received|arc-seal|arc-message-signature|arc-authentication-results):"
    rb"[^\n]*\n(?:[ \t][^\n]*\n)*",
    re.IGNORECASE | re.MULTILINE,
)


def without_trace(raw: bytes) -> bytes:
    """The message without its trace headers, which mail-parser need not read.

    mail-parser parses every Received: header (about a third of its time on
    real mail, which carries a dozen hops); the stored raw keeps them all, and
    `_delivered` reads the newest ones itself when it needs them.
    """
    end = header_end(raw)
    if end < 0:
        return raw
    return _TRACE.sub(b"", raw[: end + 2]) + raw[end + 2 :]


# A line a tool wrote above the headers it saved ("---- Original email message ----", Kerio), then a
# header field: the message starts there.
_PREAMBLE = re.compile(
    rb"\A[^\r\n:]{1,200}\r?\n(?=[\x21-\x39\x3b-\x7e]{1,76}:[^\r\n]*\r?\n[\x21-\x39\x3b-\x7e]{1,76}:)"
)


def below_a_preamble(raw: bytes) -> bytes | None:
    """The message below one line of a tool's preamble, when two header fields follow it; else None."""
    m = _PREAMBLE.match(raw)
    return raw[m.end() :] if m else None


# RFC 5322's obsolete syntax (4.5.1): space between a field's name and its colon ("Subject :"), which
# the parser takes for no header at all
_SPACE_BEFORE_COLON = re.compile(rb"^([\x21-\x39\x3b-\x7e]{1,76})[ \t]+:", re.MULTILINE)


def _without_space_before_colons(raw: bytes) -> bytes | None:
    """The message with its field names closed up to their colons, when one was written apart; else None."""
    end = header_end(raw)
    end = end if end >= 0 else len(raw)
    if raw.find(b" :", 0, end) < 0 and raw.find(b"\t:", 0, end) < 0:
        return None  # the common case, told without the pattern
    head, n = _SPACE_BEFORE_COLON.subn(rb"\1:", raw[:end])
    return head + raw[end:] if n else None


MAX_ENCODED_MESSAGES = 20  # attached messages read out of base64 in one message, at most


def read_encoded_messages(msg: Message) -> bool:
    """Read attached messages sent in base64 or quoted-printable (RFC 2046 allows neither, mailers do):
    the parser took the encoded lines for a message with no header, shown as base64. True if any.

    A loop over the parts, nested encoded messages included, with a bound: no recursion.
    """
    stack, read = [msg], 0
    while stack and read < MAX_ENCODED_MESSAGES:
        part = stack.pop()
        payload = part.get_payload()
        if part.get_content_type() in ("message/rfc822", "message/global") and isinstance(payload, list):
            inner = payload[0] if payload else None
            encoding = str(part.get("content-transfer-encoding", "")).strip().lower()
            if encoding in ("base64", "quoted-printable") and isinstance(inner, Message) and not inner.keys():
                body = inner.get_payload()
                if isinstance(body, str):
                    data = body.encode("utf-8", "surrogateescape")
                    try:
                        data = binascii.a2b_base64(data) if encoding == "base64" else quopri.decodestring(data)
                    except ValueError:  # binascii.Error: the lines stay as they are
                        continue
                    part.set_payload([email.message_from_bytes(data)])
                    del part["content-transfer-encoding"]
                    read += 1
                    payload = part.get_payload()
        if isinstance(payload, list):
            stack.extend(p for p in payload if isinstance(p, Message))
    return read > 0
