"""Step 3, parse: the text bodies mail-parser read, mended where broken mail lost them.

A multipart whose header names another boundary than its body uses is read again
with the body's (a list that rewrote one and not the other); one whose boundary
never occurs shows its body as text. Bodies whose declared charset was missing,
wrong or narrower than what the sender used (Windows-1252 labelled ISO-8859-1),
or in a 7-bit ISO-2022 charset mail-parser leaves undecoded, are decoded again.
Plain text sent format=flowed is joined back into its paragraphs (flowed.py).
(Files written into a text body are parse_text_files.py's.) As shown (`shown_text`,
`shown_html`): LF lines, no byte-order mark or image placeholder, and a text part
that no HTML part stands for shown in the HTML too. The stored raw keeps every
byte as it came.
"""

from __future__ import annotations

import base64
import contextlib
import re
from collections.abc import Callable
from email import errors
from email.message import Message
from html import escape as html_escape
from typing import TYPE_CHECKING

from gateway.charsets import LATIN_RUN, decode_bytes
from gateway.flowed import flowed_parts, unflowed
from gateway.html_text import html_to_text
from gateway.parse_raw import SPACE_INSIDE, lenient_base64

if TYPE_CHECKING:
    from mailparser import MailParser


def bodies(
    raw: bytes, mail: MailParser, read: Callable[[bytes], MailParser]
) -> tuple[MailParser, list[str], list[str]]:
    """(the reading to use, its text/plain bodies, its text/html bodies); `read` reads bytes again."""
    if _boundary_lost(mail.message):
        mail = _with_the_bodys_boundary(raw, mail, read)
    msg = mail.message
    plain, html = mail.text_plain, mail.text_html
    mended, narrow, flowed, passed_over = _look_at_parts(msg)
    misread = (
        "CharsetDecodeDefect" in mail.defects_categories
        or any("\x1b" in t for t in plain + html)
        or (
            narrow
            and any(_MISREAD_LATIN.search(t) or _BOX_DRAWING.search(t) or LATIN_RUN.search(t) for t in plain + html)
        )
    )
    if mended or misread or passed_over:
        plain, html = _redecoded_bodies(msg, passed_over)
    if html and any(t.strip() for t in plain):
        pages = _attached_pages(msg)
        if pages and all(" ".join(h.split()) in pages for h in html):
            html = []  # each HTML part a named page sent beside the text (Netscape's "send page"): files, listed
    if _boundary_lost(msg) and not any(t.strip() for t in plain + html):
        plain = [_body_as_text(msg)]
    elif not any(t.strip() for t in plain + html) and (named := _named_text_body(msg)) is not None:
        # a text part with a name and no "attachment" first (old mailers name the body): mail-parser lists
        # it as a file only, and the entry was blank; it is the body, and still the file
        text = _body_as_text(named)
        plain, html = ([text], []) if named.get_content_subtype() == "plain" else ([], [text])
    elif not any(t.strip() for t in plain + html) and _unread_text_body(msg, mail):
        # "text/plain>", "text/html Content-Transfer-Encoding: 8bit", "text/enriched": mail-parser reads
        # text/plain and text/html alone, and the body was dropped, no text, no file, no reason given
        text = _body_as_text(msg)
        plain, html = ([], [text]) if msg.get_content_subtype().startswith("html") else ([text], [])
    flow = flowed_parts(msg, passed_over) if flowed else None
    if flow is not None and flow[0]:
        plain = [unflowed(t, delsp=flow[1]) for t in plain]
    return mail, plain, html


_BOM = "\ufeff"  # a text file attached inline keeps the byte-order mark its editor wrote
# where Apple Mail's text part had an inline image: no character to show, nor its line when alone
_OBJECT = re.compile("^[ \t]*\ufffc[ \t]*(?:\n|$)|\ufffc", re.MULTILINE)


def shown_html(msg: Message, html: list[str]) -> list[str]:
    """The HTML parts as shown: LF lines, no byte-order mark, and the text parts that no HTML part
    stands for where they stand; a text part the HTML already says (an alternative whose boundary
    broke) is not added again."""
    html = [t.replace("\r\n", "\n").lstrip(_BOM) for t in html]
    if not html or not msg.is_multipart():
        return html
    above, below = _lone_texts(msg)
    if not above and not below:
        return html
    said = " ".join(html_to_text("".join(html)).split())
    above, below = ([_as_html(t) for t in texts if " ".join(t.split()) not in said] for texts in (above, below))
    return [*above, *html, *below]


def _as_html(text: str) -> str:
    return "<p>" + html_escape(text).replace("\n", "<br>\n") + "</p>"


def shown_text(text: str) -> str:
    """A text part as shown: lines end in "\n" whatever the wire's were (SMTP's are CRLF), so an
    attached message's text, read apart, is found in it; no byte-order mark, no image placeholder."""
    text = text.replace("\r\n", "\n").lstrip(_BOM)
    return _OBJECT.sub("", text) if "\ufffc" in text else text


def _lone_texts(msg: Message) -> tuple[list[str], list[str]]:
    """Text parts that no HTML part stands for, above and below the HTML parts.

    A multipart/mixed body can hold a text/plain part beside its HTML rather than as the HTML's
    alternative: a message under a gateway's HTML banner, a part a list or a mailer added. The
    entry shows the HTML, and such a part's words were in the text alone. Parts of attached
    messages and attachments are not looked at; a walk of the parts' headers, no recursion.
    """
    above: list[str] = []
    below: list[str] = []
    if not msg.is_multipart():
        return above, below
    seen_html = False
    stack: list[tuple[Message, bool]] = [(msg, False)]  # (part, inside an alternative that has HTML)
    while stack:
        part, covered = stack.pop()
        ctype = part.get_content_type()
        if part.is_multipart():
            if ctype == "message/rfc822" or ctype == "message/global":
                continue
            children = part.get_payload()
            if not isinstance(children, list):
                continue
            covered = covered or (ctype == "multipart/alternative" and _holds_html(part))
            stack.extend((child, covered) for child in reversed(children) if isinstance(child, Message))
            continue
        if ctype not in ("text/html", "text/plain") or (ctype == "text/plain" and covered):
            continue  # a file, or a text the HTML stands for: no need to read its disposition
        if part.get_content_disposition() == "attachment" or part.get_filename():
            continue
        if ctype == "text/html":
            seen_html = True
        else:
            payload = part.get_payload(decode=True)
            text = decode_bytes(payload, part.get_content_charset()) if isinstance(payload, bytes) else ""
            text = text.replace("\r\n", "\n").strip()
            if text:
                (below if seen_html else above).append(text)
    return (above, below) if seen_html else ([], [])


def _holds_html(part: Message) -> bool:
    return any(p.get_content_type() == "text/html" for p in part.walk())


def _named_text_body(msg: Message) -> Message | None:
    """The message's first leaf part, when it is a named text part not marked "attachment".

    Only the first: a named text part further down, beside a body, is a file.
    """
    part = msg
    while part.is_multipart() and part.get_content_maintype() == "multipart":
        children = part.get_payload()
        if not isinstance(children, list) or not children or not isinstance(children[0], Message):
            return None
        part = children[0]
    named = (
        not part.is_multipart()
        and part.get_content_type() in ("text/plain", "text/html")
        and part.get_content_disposition() != "attachment"
        and part.get_filename() is not None
    )
    return part if named else None


def _unread_text_body(msg: Message, mail: MailParser) -> bool:
    """A one-part message of a text type other than plain, HTML or a calendar (or a type written
    wrong) that mail-parser kept neither as a body nor as a file."""
    return (
        not msg.is_multipart()
        and msg.get_content_maintype() == "text"
        and msg.get_content_subtype() not in ("plain", "html", "calendar")
        and msg.get_content_disposition() != "attachment"
        and not mail.attachments
    )


def _look_at_parts(msg: Message) -> tuple[bool, bool, bool, set[int]]:
    """One pass over the parts' headers: (a transfer encoding mended, a narrow label, format=flowed,
    the ids of alternatives passed over).

    A Content-Transfer-Encoding with spaces around it ("base64 ") is compared as
    written by the email package, so its part was shown still encoded: the value
    is stripped; base64 with a character past its last group of four, which the
    email package hands back undecoded, is decoded without it. A label narrower
    than what senders write under it (Latin-1, TIS-620, KOI8-R: `_NARROW_LABELS`; an ISO-8859
    label Windows writes its sibling code page under: `_SIBLING_LABELS`) is
    where Windows-1252, UTF-8 or KOI8-U is misread (`_MISREAD_LATIN` and `_BOX_DRAWING`
    are looked for only then: a search of every body costs more). An alternative
    of the same text type as a later one in its multipart/alternative is passed
    over: mail-parser showed both, the same words twice.
    """
    mended = narrow = flowed = False
    passed_over: set[int] = set()
    for part in msg.walk():
        children = part.get_payload() if part.get_content_type() == "multipart/alternative" else None
        if isinstance(children, list):
            last: dict[str, Message] = {}
            for child in (c for c in children if isinstance(c, Message)):
                kind = child.get_content_type()
                if kind not in ("text/plain", "text/html") or not _has_words(child):
                    continue  # an empty alternative stands for nothing: the one before it stays
                if kind in last:
                    passed_over.add(id(last[kind]))
                last[kind] = child
        value = part.get("content-transfer-encoding")
        if isinstance(value, str) and value != value.strip():
            part.replace_header("content-transfer-encoding", value.strip())
            mended = True
        if _words_as_base64(part):
            # "Content-Transfer-Encoding: base64" over plain words ("All good here"): the email package
            # decodes what letters there are, and the entry showed bytes; the words are the text
            part.replace_header("content-transfer-encoding", "8bit")
            mended = True
        elif any(isinstance(d, errors.InvalidBase64LengthDefect) for d in part.defects):
            # one character past whole groups of four: the email package gave the base64 back as text
            with contextlib.suppress(ValueError):
                data = lenient_base64(str(part.get_payload()))
                if _reads_as_text(data):  # else a text written as it is, under a wrong "base64"
                    part.set_payload(base64.encodebytes(data).decode("ascii"))
                    mended = True
        ctype = str(part.get("content-type", "")).lower()
        narrow = narrow or any(label in ctype for label in _NARROW_LABELS + _SIBLING_LABELS)
        # UTF-16 with no byte-order mark: mail-parser reads it little-endian, RFC 2781 says big
        mended = mended or any(label in ctype for label in _REDECODED_LABELS)
        flowed = flowed or "flowed" in ctype
    return mended, narrow, flowed, passed_over


def _attached_pages(msg: Message) -> set[str]:
    """The words (spaces as one) of named text/html parts in a multipart that is no
    multipart/alternative: web pages sent as files beside the message's text, which were shown
    in its place."""
    pages: set[str] = set()
    for part in msg.walk():
        if not part.is_multipart() or part.get_content_subtype() == "alternative":
            continue
        children = part.get_payload()
        for child in children if isinstance(children, list) else []:
            if isinstance(child, Message) and child.get_content_type() == "text/html" and child.get_filename():
                pages.add(" ".join(_body_as_text(child).split()))
    return pages


def _words_as_base64(part: Message) -> bool:
    """A text part declared base64 whose lines hold words (spaces inside a line, which base64 never
    has) and whose decoding the email package found faulty."""
    if part.get_content_maintype() != "text" or not any(isinstance(d, _BASE64_FAULTS) for d in part.defects):
        return False
    payload = part.get_payload()
    return isinstance(payload, str) and bool(SPACE_INSIDE.search(payload))


_BASE64_FAULTS = (errors.InvalidBase64CharactersDefect, errors.InvalidBase64PaddingDefect)


def _has_words(part: Message) -> bool:
    """The part's body is not empty; its bytes, since a text's charset label may be no charset ("bogus\\0")."""
    payload = part.get_payload(decode=True)
    return isinstance(payload, bytes) and bool(payload.strip())


def _reads_as_text(data: bytes) -> bool:
    """UTF-8, or nine in ten bytes printable ASCII or line ends: what a text part decodes to."""
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return sum(32 <= b < 127 or b in (9, 10, 13) for b in data) >= 0.9 * len(data)


# labels whose superset has letters where the label's own table has C1 controls (Thai's TIS-620,
# whose "€" and quotes came out as controls, and Turkish ISO-8859-9) or box drawing (KOI8-R's, where
# KOI8-U has "і", "ї", "є", "ґ": Ukrainian read as "Прив╕т")
_NARROW_LABELS = ("8859-1", "latin", "cp819", "1252", "tis-620", "8859-11", "8859-9", "koi8-r")
# ISO-8859 labels Windows writes its sibling code page under (Windows-1250 as ISO-8859-2: "Cze\x9c\u0107")
_SIBLING_LABELS = ("8859-2", "8859-4", "8859-5", "8859-6", "8859-7", "8859-8", "8859-13")
# labels mail-parser reads wrong: UTF-16 with no byte-order mark, and UTF-7 in a 7bit part, whose
# bytes are ASCII ("Gr+APwA3w-e" shown for "Grüße")
_REDECODED_LABELS = ("utf-16", "unicode", "ucs-2", "ucs2", "utf-7", "utf7")
# KOI8-R's box drawing beside a Cyrillic letter: KOI8-U's Ukrainian letters misread
_BOX_DRAWING = re.compile("[\u2552-\u256c][а-яА-Я]|[а-яА-Я][\u2552-\u256c]")


# ESC (looked for apart): a 7-bit ISO-2022 charset (Japanese mail's usual one), which mail-parser leaves
# undecoded in a 7bit part as its bytes are ASCII; C1 controls: Windows-1252 read as the ISO-8859-1 it
# was labelled; a UTF-8 lead byte's letter before a continuation byte's ("Ã¤"): UTF-8 under that label
_MISREAD_LATIN = re.compile("[\x80-\x9f]|[\xc2-\xf4][\x80-\xbf]")


def _boundary_lost(msg: Message) -> bool:
    """Multipart by its Content-Type, one undivided body to the parser: the boundary never occurs."""
    return not msg.is_multipart() and msg.get_content_maintype() == "multipart"


# A "--name" line followed by a header line: where the body's own parts begin.
# (a space inside it too: a boundary folded inside its quotes, "==split\n here==", is "==split here==")
_BODY_BOUNDARY = re.compile(rb"^--([^\s](?:[^\r\n]{0,198}[^\s])?)[ \t]*\r?\n[!-9;-~]{1,76}:", re.MULTILINE)
_MULTIPART_TYPE = re.compile(rb"^content-type:[ \t]*multipart/[\w.+-]+", re.IGNORECASE | re.MULTILINE)
_BOUNDARY_PARAM = re.compile(rb"""(boundary[ \t]*=[ \t]*)(?:"[^"]{0,300}"|[^\s";]+)""", re.IGNORECASE)


def _with_the_bodys_boundary(raw: bytes, mail: MailParser, read: Callable[[bytes], MailParser]) -> MailParser:
    """Read the message again with the boundary its body uses, when the header names another.

    A mailer or list that rewrote the header's boundary and not the body (or
    the other way round) leaves parts the parser cannot find; the stored raw
    keeps the bytes as they came. A boundary with 8-bit bytes in it is renamed in
    ASCII, in the header and the body. Only the top level is mended.
    """
    end = raw.find(b"\r\n\r\n")
    end = end + 4 if end >= 0 else raw.find(b"\n\n") + 2
    found = _BODY_BOUNDARY.search(raw, end) if end >= 2 else None
    if found is None:
        return mail
    name = found.group(1)
    body = raw[end:]
    if not name.isascii():  # "zz-été": the email package reads the header's boundary with marks for such bytes
        ascii_name = b"=_8bit_" + name.hex().encode("ascii")
        body, name = body.replace(b"--" + name, b"--" + ascii_name), ascii_name
    # "; " before it too: a header that wrote no ";" before its boundary ("multipart/mixed boundary=…")
    # named none to the parser, and an empty parameter between two ";" is none
    head, n = _BOUNDARY_PARAM.subn(lambda m: b"; " + m.group(1) + b'"' + name + b'"', raw[:end], count=1)
    if not n:  # no boundary named at all ("Content-Type: multipart/mixed"): the body's first delimiter names it
        head, n = _MULTIPART_TYPE.subn(lambda m: m.group() + b'; boundary="' + name + b'"', head, count=1)
    try:
        again = read(head + body) if n else None
    except Exception:  # the first reading stands
        again = None
    if again is None or again.message is None or not again.message.is_multipart():
        return mail
    return again


def _body_as_text(msg: Message) -> str:
    """A body read whole as text (a multipart whose boundary never occurs, a named text part): shown, not lost."""
    payload = msg.get_payload(decode=True)
    return decode_bytes(payload, msg.get_content_charset()) if isinstance(payload, bytes) else str(payload or "")


def _redecoded_bodies(msg: Message, passed_over: set[int]) -> tuple[list[str], list[str]]:
    """Text bodies decoded again where the declared charset was missing or wrong.

    mail-parser falls back to UTF-8 with replacement characters; old clients
    send Latin-1 or Windows-1251 without saying so, so detect instead.
    """
    plain: list[str] = []
    html: list[str] = []
    for part in msg.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment" or id(part) in passed_over:
            continue
        if part.get_filename() is not None:
            continue  # a file, as mail-parser lists it ("notes.pdf" under "Content-Type: pdf" reads as text)
        kind = part.get_content_type()
        if kind not in ("text/plain", "text/html"):
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes) or not payload.strip():
            continue
        text = decode_bytes(payload, part.get_content_charset())
        (plain if kind == "text/plain" else html).append(text)
    return plain, html
