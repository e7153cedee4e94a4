"""Step 3, parse: raw bytes → ParsedMessage.

With parse_bodies.py (the bodies, mended where broken mail lost them),
parse_attachments.py (files and their names) and parse_headers.py (header
values as text), the only modules that read mail-parser's results. It decodes
headers, bodies and attachments; it does not judge the message (classify), look
inside forwards (forward) or split quotes (reply).
"""

from __future__ import annotations

import binascii
import email
import email.utils
import hashlib
import html as htmllib
import itertools
import logging
import quopri
import re
from datetime import datetime
from email.message import Message

import mailparser

from gateway import smime
from gateway.html_text import html_to_text
from gateway.list_author import named_author, rewritten
from gateway.message import PGP_ENCRYPTED_FILE, Address, Attachment, ParsedMessage
from gateway.parse_attachments import attachments, unnamed_files, uufile
from gateway.parse_bodies import bodies, lone_texts, pgp_messages, uuencoded_files
from gateway.parse_calendar import read_calendar
from gateway.parse_headers import date_of, decoded, header_text, message_charset, no_nul, read_header
from gateway.tnef import unpacked

# mail-parser logs ~64 debug lines per message and warns on every nested
# multipart it does not render ("Email content 'mixed' not handled").
logging.getLogger("mailparser").setLevel(logging.ERROR)

MAX_ID = 900  # stays under the store's 998-character column
MAX_REFERENCES = 100
MAX_ADDRESSES = 100  # read from one header, when a list's rewritten From: sends us looking
KEPT_HEADERS = (
    "auto-submitted",
    "precedence",
    "x-autoreply",
    "x-autorespond",
    "list-id",
    "return-path",
    "content-type",
    "x-mailfeed-digest",
    "x-mailfeed-loop",
    "x-failed-recipients",
    "thread-index",
)

_BRACKETED = re.compile(r"<([^<>\s]{1,900})>")
_BARE = re.compile(r"[^<>\s,;]+@[^<>\s,;]+")


class ParseError(Exception):
    """The bytes cannot be read as a message at all."""


def parse(raw: bytes, *, unwrap: bool = True) -> ParsedMessage:
    """Decode `raw` into a ParsedMessage; raise ParseError when nothing usable is there.

    An opaque S/MIME signature is read for the message inside it (`unwrap`: once).
    """
    raw = _with_mime_fields_joined(_LEADING_BLANK.sub(b"", raw, count=1))
    raw = _without_space_before_colons(raw) or raw
    mail = _read(raw)
    if mail.message is None or not mail.message.keys():
        below = _below_a_preamble(raw)
        if below is None:
            raise ParseError(_not_mail(raw))
        raw, mail = below, _read(below)
    msg: Message = mail.message
    if msg is None or not msg.keys():
        raise ParseError(_not_mail(raw))
    end = _header_end(raw)
    if unwrap and end >= 0 and smime.opaque_signed(raw, end):
        payload = msg.get_payload(decode=True)
        inner = smime.unwrapped(raw[: end + 2], payload) if isinstance(payload, bytes) else None
        if inner is not None:
            return parse(inner, unwrap=False)
    mail, plain, html = bodies(raw, mail, _mailparser)
    msg = mail.message
    message_id = _first_id(read_header(msg, "message-id"))
    text, uufiles = uuencoded_files(no_nul("\n".join(_shown(t) for t in plain if t.strip())))
    text, armoured = pgp_messages(text)
    # the codec raw 8-bit headers that are no UTF-8 are read in; most headers have no 8-bit byte
    charset = message_charset(msg) if _EIGHT_BIT.search(raw, 0, end if end >= 0 else len(raw)) else None
    author = _author(mail.from_ or [], msg, charset)
    files = unpacked(attachments(mail.attachments, msg, charset) + _unnamed(mail) + [uufile(n, d) for n, d in uufiles])
    files += [Attachment(PGP_ENCRYPTED_FILE, "application/octet-stream", data) for data in armoured]
    calendar = read_calendar(msg, files)
    parsed = ParsedMessage(
        message_id=message_id or _synthetic_id(msg, raw),
        synthetic_id=not message_id,
        in_reply_to=_ids(read_header(msg, "in-reply-to"))[:1],
        references=_ids(read_header(msg, "references"))[-MAX_REFERENCES:],
        subject=decoded(read_header(msg, "subject", charset)),
        author=author,
        to=[Address(no_nul(n), no_nul(a).lower()) for n, a in (mail.to or []) if a],
        date=date_of(read_header(msg, "date")) or _delivered(raw),
        text=text,
        html=no_nul("\n".join(_with_lone_texts(msg, [t.replace("\r\n", "\n").lstrip(_BOM) for t in html]))) or None,
        attachments=[*files, *calendar.files],
        embedded=_embedded(msg),
        headers={h: decoded(read_header(msg, h)) for h in KEPT_HEADERS if msg.get(h) is not None},
        auth_results=[
            decoded(header_text(str(v))) for k, v in msg.raw_items() if k.lower() == "authentication-results"
        ][:20],
        defects=sorted(mail.defects_categories),
        list_author=_list_author(author, msg),
        event_uid=calendar.uid,
        meeting=calendar.meeting,
    )
    return parsed


_EIGHT_BIT = re.compile(rb"[\x80-\xff]")
_BOM = "\ufeff"  # a text file attached inline keeps the byte-order mark its editor wrote
# where Apple Mail's text part had an inline image: no character to show, nor its line when alone
_OBJECT = re.compile("^[ \t]*\ufffc[ \t]*(?:\n|$)|\ufffc", re.MULTILINE)


def _with_lone_texts(msg: Message, html: list[str]) -> list[str]:
    """The HTML parts, with the text parts that no HTML part stands for where they stand; a text
    part the HTML already says (an alternative whose boundary broke) is not added again."""
    if not html or not msg.is_multipart():
        return html
    above, below = lone_texts(msg)
    if not above and not below:
        return html
    said = " ".join(html_to_text("".join(html)).split())
    above, below = ([_as_html(t) for t in texts if " ".join(t.split()) not in said] for texts in (above, below))
    return [*above, *html, *below]


def _as_html(text: str) -> str:
    return "<p>" + htmllib.escape(text).replace("\n", "<br>\n") + "</p>"


def _shown(text: str) -> str:
    """A text part as shown: lines end in "\n" whatever the wire's were (SMTP's are CRLF), so an
    attached message's text, read apart, is found in it; no byte-order mark, no image placeholder."""
    text = text.replace("\r\n", "\n").lstrip(_BOM)
    return _OBJECT.sub("", text) if "\ufffc" in text else text


_TRACE = re.compile(
    rb"^(?:received|x-received|arc-seal|arc-message-signature|arc-authentication-results):"
    rb"[^\n]*\n(?:[ \t][^\n]*\n)*",
    re.IGNORECASE | re.MULTILINE,
)


_RECEIVED = re.compile(rb"^received:([^\n]*(?:\n[ \t][^\n]*)*)", re.IGNORECASE | re.MULTILINE)
# Blank lines above the first header: the header block would end before it began. Files saved by
# some tools, and mbox entries written with a blank line after their "From " line, start so.
_LEADING_BLANK = re.compile(rb"\A(?:[ \t]*\r?\n)+(?=[\x21-\x39\x3b-\x7e]{1,76}:)")

RECEIVED_READ = 3  # the newest hops; a date further down is no delivery time


# MIME's fields alone at the top of the body, ended by a blank line: Outlook attaches messages so
# (a blank line between their headers and their Content-Type), and the whole MIME body read as text
_MIME_FIELDS_BELOW = re.compile(
    rb"(?:Content-Type|MIME-Version|Content-Transfer-Encoding):[^\n]{0,998}\n(?:[ \t][^\n]{0,998}\n){0,20}"
    rb"(?:(?:Content-Type|MIME-Version|Content-Transfer-Encoding):[^\n]{0,998}\n(?:[ \t][^\n]{0,998}\n){0,20}){0,4}"
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
    if b"essage/rfc822" in raw or b"ESSAGE/RFC822" in raw:
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


def _header_end(raw: bytes) -> int:
    end = raw.find(b"\r\n\r\n")
    return end if end >= 0 else raw.find(b"\n\n")


def _without_trace(raw: bytes) -> bytes:
    """The message without its trace headers, which mail-parser need not read.

    mail-parser parses every Received: header (about a third of its time on
    real mail, which carries a dozen hops); the stored raw keeps them all, and
    `_delivered` reads the newest ones itself when it needs them.
    """
    end = _header_end(raw)
    if end < 0:
        return raw
    return _TRACE.sub(b"", raw[: end + 2]) + raw[end + 2 :]


def _delivered(raw: bytes) -> datetime | None:
    """When the newest Received: header says the message arrived: the date of one without a readable Date.

    An archive's undated messages were otherwise dated on the day of their
    import and topped the feed; the hop that delivered them into the mailbox
    wrote when that was, after the ";" (RFC 5321, 4.4).
    """
    end = _header_end(raw)
    for m in itertools.islice(_RECEIVED.finditer(raw, 0, end if end >= 0 else len(raw)), RECEIVED_READ):
        _, semicolon, stamp = m[1].decode("latin-1").rpartition(";")
        when = date_of(" ".join(stamp.split())) if semicolon else None
        if when is not None:
            return when
    return None


class _MailParser(mailparser.MailParser):
    """mail-parser without the two dicts of every header its `mail` and `mail_partial` give.

    Nothing here reads them, and building them decoded every header again
    (about a tenth of mail-parser's time); every part it parses is its own.
    Also (`parse`): no crash on a multipart with no epilogue, and attached messages sent in
    base64 or quoted-printable are read as messages (`read_encoded_messages`).
    """

    def _make_mail(self, complete: bool = True) -> dict[str, object]:
        return {}

    def parse(self) -> _MailParser:
        # A multipart whose parts never close has no epilogue, and mail-parser's search for one in it
        # raised AttributeError: the message was quarantined. An empty one is searched for nothing.
        if self.message is not None and self.message.is_multipart() and self.message.epilogue is None:
            self.message.epilogue = ""
        if self.message is not None:
            read_encoded_messages(self.message)
        super().parse()
        return self


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


def _read(raw: bytes) -> mailparser.MailParser:
    try:
        return _mailparser(raw)
    except Exception as exc:  # mail-parser raises its own and stdlib errors alike
        raise ParseError(f"{type(exc).__name__}: {exc}") from exc


def _mailparser(raw: bytes) -> mailparser.MailParser:
    """mail-parser's reading of `raw`, once more without NUL bytes if it fails on them.

    A NUL in a charset name makes mail-parser's bytes.decode raise ValueError
    (tests/data/eml/charset-name-with-nul.eml); RFC 5322 allows no NUL anywhere.
    """
    try:
        return _MailParser.from_bytes(_without_trace(raw))
    except ValueError:
        if b"\x00" not in raw:
            raise
        return _MailParser.from_bytes(_without_trace(raw.replace(b"\x00", b"")))


# A line a tool wrote above the headers it saved ("---- Original email message ----", Kerio), then a
# header field: the message starts there.
_PREAMBLE = re.compile(
    rb"\A[^\r\n:]{1,200}\r?\n(?=[\x21-\x39\x3b-\x7e]{1,76}:[^\r\n]*\r?\n[\x21-\x39\x3b-\x7e]{1,76}:)"
)


def _below_a_preamble(raw: bytes) -> bytes | None:
    """The message below one line of a tool's preamble, when two header fields follow it; else None."""
    m = _PREAMBLE.match(raw)
    return raw[m.end() :] if m else None


# RFC 5322's obsolete syntax (4.5.1): space between a field's name and its colon ("Subject :"), which
# the parser takes for no header at all
_SPACE_BEFORE_COLON = re.compile(rb"^([\x21-\x39\x3b-\x7e]{1,76})[ \t]+:", re.MULTILINE)


def _without_space_before_colons(raw: bytes) -> bytes | None:
    """The message with its field names closed up to their colons, when one was written apart; else None."""
    end = _header_end(raw)
    end = end if end >= 0 else len(raw)
    head, n = _SPACE_BEFORE_COLON.subn(rb"\1:", raw[:end])
    return head + raw[end:] if n else None


def _not_mail(raw: bytes) -> str:
    """Why bytes without a header block are no message, naming the Outlook files a folder import meets."""
    if raw.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "no header block: an Outlook .msg file, not MIME mail (convert it with msgconvert)"
    if raw.startswith(b"!BDN"):
        return "no header block: an Outlook .pst file, not a message (convert it with readpst)"
    return "no header block"


def _first_id(value: str) -> str:
    ids = _ids(value)
    return ids[0] if ids else ""


def _ids(value: str) -> list[str]:
    """Message-IDs in a header, brackets removed, case kept.

    Web-form mailers send In-Reply-To without angle brackets; a bare token
    with an @ is taken as an id then.
    """
    value = no_nul(value)
    found = _BRACKETED.findall(value)
    if not found:
        found = _BARE.findall(value)
    seen: dict[str, None] = {}
    for token in found:
        token = token.strip()[:MAX_ID]
        if token:
            seen.setdefault(token, None)
    return list(seen)


def _synthetic_id(msg: Message, raw: bytes) -> str:
    """A stable id for a message that has none: the same message yields the same id.

    Trace headers (Received, Return-Path, Delivered-To) differ between SMTP, IMAP
    and import, so only the author's headers and the body go into the hash.
    """
    h = hashlib.sha256()
    for name in ("from", "to", "cc", "date", "subject"):
        h.update(name.encode() + b":" + read_header(msg, name).encode("utf-8", "replace") + b"\n")
    _, _, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    h.update(body)
    return f"{h.hexdigest()[:32]}@synthetic.mailfeed.invalid"


def _author(from_: list[tuple[str, str]], msg: Message, charset: str | None) -> Address:
    # Read From ourselves first: mail-parser renders raw 8-bit names as "\udcXX" text.
    value = read_header(msg, "from", charset)
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
    for name, addr in from_:
        if addr:
            return Address(no_nul(name or ""), no_nul(addr).strip().lower())
    for header in ("sender", "reply-to", "return-path"):
        name, addr = email.utils.parseaddr(read_header(msg, header, charset))
        if addr:
            return Address(decoded(name), no_nul(addr).lower())
    return Address(decoded(named), "")


# An RFC 2047 word with a comma or another special in it, unquoted (Outlook: "=?iso-8859-1?Q?B=FCrling,=20Andreas?="):
# quoted, so the address parser does not split the name there
_SPECIALS_WORD = re.compile(r'(?<!")=\?[\w.:-]{1,40}\?[QqBb]\?[^?\s",;<>@]{0,300}[,;<>@][^?\s"]{0,300}\?=(?!")')

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


def _list_author(author: Address, msg: Message) -> Address | None:
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


def _unnamed(mail: mailparser.MailParser) -> list[Attachment]:
    """Files mail-parser read as text it does not manage: it lists every other part it does not show."""
    return unnamed_files(mail.message) if mail.text_not_managed else []


def _embedded(msg: Message) -> list[bytes]:
    """Raw bytes of top-level-reachable message/rfc822 parts, for forward unwrapping."""
    out = []
    for part in msg.walk():
        if part.get_content_type() not in ("message/rfc822", "message/global"):  # global: RFC 6532's, UTF-8 headers
            continue
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        if isinstance(inner, Message):
            try:
                out.append(inner.as_bytes())
            except Exception:  # a broken inner message is still shown as the outer body
                continue
    return out
