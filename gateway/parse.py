"""Step 3, parse: raw bytes → ParsedMessage.

The only module that imports mail-parser. It decodes headers, bodies and
attachments; it does not judge the message (classify), look inside forwards
(forward) or split quotes (reply).
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import hashlib
import logging
import mimetypes
import re
from datetime import UTC, datetime, timedelta, timezone
from email.header import decode_header, make_header
from email.message import Message

import charset_normalizer
import mailparser

from gateway.message import Address, Attachment, ParsedMessage

# mail-parser logs ~64 debug lines per message and warns on every nested
# multipart it does not render ("Email content 'mixed' not handled").
logging.getLogger("mailparser").setLevel(logging.ERROR)

MAX_ID = 900  # stays under the store's 998-character column
MAX_REFERENCES = 100
KEPT_HEADERS = (
    "auto-submitted",
    "precedence",
    "x-autoreply",
    "x-autorespond",
    "x-auto-response-suppress",
    "list-id",
    "return-path",
    "content-type",
    "x-mailfeed-digest",
    "x-mailfeed-loop",
    "x-failed-recipients",
)

_BRACKETED = re.compile(r"<([^<>\s]{1,900})>")
_BARE = re.compile(r"[^<>\s,;]+@[^<>\s,;]+")


class ParseError(Exception):
    """The bytes cannot be read as a message at all."""


def parse(raw: bytes) -> ParsedMessage:
    """Decode `raw` into a ParsedMessage; raise ParseError when nothing usable is there."""
    try:
        mail = _mailparser(raw)
    except Exception as exc:  # mail-parser raises its own and stdlib errors alike
        raise ParseError(f"{type(exc).__name__}: {exc}") from exc
    msg: Message = mail.message
    if msg is None or not msg.keys():
        raise ParseError("no header block")
    if _boundary_lost(msg):
        mail, msg = _with_the_bodys_boundary(raw, mail)
    message_id = _first_id(_header(msg, "message-id"))
    plain, html = mail.text_plain, mail.text_html
    if "CharsetDecodeDefect" in mail.defects_categories or any("\x1b" in t for t in plain + html):
        # ESC: a 7-bit ISO-2022 charset (Japanese mail's usual one), which mail-parser
        # leaves undecoded in a 7bit part as its bytes are ASCII
        plain, html = _redecoded_bodies(msg)
    if _boundary_lost(msg) and not any(t.strip() for t in plain + html):
        plain = [_body_as_text(msg)]
    text = _no_nul("\n".join(t for t in plain if t.strip()))
    text, uufiles = _uuencoded(text) if "begin " in text else (text, [])
    parsed = ParsedMessage(
        message_id=message_id or _synthetic_id(msg, raw),
        synthetic_id=not message_id,
        in_reply_to=_ids(_header(msg, "in-reply-to"))[:1],
        references=_ids(_header(msg, "references"))[-MAX_REFERENCES:],
        subject=_decoded(_header(msg, "subject")),
        author=_author(mail.from_ or [], msg),
        to=[Address(_no_nul(n), _no_nul(a).lower()) for n, a in (mail.to or []) if a],
        date=_date(_header(msg, "date")),
        text=text,
        html=_no_nul("\n".join(html)) or None,
        attachments=_attachments(mail.attachments) + uufiles,
        embedded=_embedded(msg),
        headers={h: _decoded(_header(msg, h)) for h in KEPT_HEADERS if msg.get(h) is not None},
        auth_results=[_decoded(_text(str(v))) for k, v in msg.raw_items() if k.lower() == "authentication-results"][
            :20
        ],
        defects=sorted(mail.defects_categories),
    )
    return parsed


_TRACE = re.compile(
    rb"^(?:received|x-received|arc-seal|arc-message-signature|arc-authentication-results):"
    rb"[^\n]*\n(?:[ \t][^\n]*\n)*",
    re.IGNORECASE | re.MULTILINE,
)


def _without_trace(raw: bytes) -> bytes:
    """The message without its trace headers, which nothing here reads.

    mail-parser parses every Received: header (about a third of its time on
    real mail, which carries a dozen hops); the stored raw keeps them all.
    """
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        end = raw.find(b"\n\n")
    if end < 0:
        return raw
    return _TRACE.sub(b"", raw[: end + 2]) + raw[end + 2 :]


class _MailParser(mailparser.MailParser):
    """mail-parser without the two dicts of every header its `mail` and `mail_partial` give.

    Nothing here reads them, and building them decoded every header again
    (about a tenth of mail-parser's time); every part it parses is its own.
    """

    def _make_mail(self, complete: bool = True) -> dict[str, object]:
        return {}


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


def _header(msg: Message, name: str) -> str:
    """The first `name` header as text; raw 8-bit bytes read as UTF-8 (RFC 6532), else cp1252."""
    name = name.lower()
    for key, value in msg.raw_items():
        if key.lower() == name:
            return _text(value) if isinstance(value, str) else str(value)
    return ""


def _text(value: str) -> str:
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:  # surrogate-escaped 8-bit bytes from a bytes parse
        raw = value.encode("utf-8", "surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", "replace")


def _decoded(value: str) -> str:
    """RFC 2047 words decoded; undecodable input kept as it came, never an exception."""
    try:
        text = str(make_header(decode_header(value)))
    except Exception:
        text = value
    return " ".join(_no_nul(text).split())


def _no_nul(text: str) -> str:
    """`text` without NUL characters.

    RFC 5322 allows no NUL anywhere in a message, and PostgreSQL text cannot hold
    one, so a NUL that a broken or hostile sender put in a header or body is
    dropped here: the message is then posted alike on SQLite and PostgreSQL
    (tests/data/eml/nul-bytes-in-headers-and-body.eml).
    """
    return text.replace("\x00", "")


def _first_id(value: str) -> str:
    ids = _ids(value)
    return ids[0] if ids else ""


def _ids(value: str) -> list[str]:
    """Message-IDs in a header, brackets removed, case kept.

    Web-form mailers send In-Reply-To without angle brackets; a bare token
    with an @ is taken as an id then.
    """
    value = _no_nul(value)
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
        h.update(name.encode() + b":" + _header(msg, name).encode("utf-8", "replace") + b"\n")
    _, _, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    h.update(body)
    return f"{h.hexdigest()[:32]}@synthetic.mailfeed.invalid"


def _author(from_: list[tuple[str, str]], msg: Message) -> Address:
    # Read From ourselves first: mail-parser renders raw 8-bit names as "\udcXX" text.
    name, addr = email.utils.parseaddr(_header(msg, "from"))
    if addr and "@" in addr:
        return Address(_decoded(name), _no_nul(addr).strip().lower())
    for name, addr in from_:
        if addr:
            return Address(_no_nul(name or ""), _no_nul(addr).strip().lower())
    for header in ("sender", "reply-to", "return-path"):
        name, addr = email.utils.parseaddr(_header(msg, header))
        if addr:
            return Address(_decoded(name), _no_nul(addr).lower())
    return Address("", "")


def _date(value: str) -> datetime | None:
    """The Date header as an aware datetime; None when absent or unreadable."""
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # RFC 5322 "-0000": time zone unknown, taken as UTC
        when = when.replace(tzinfo=UTC)
    offset = when.utcoffset() or timedelta(0)
    if abs(offset) > timedelta(hours=14):
        when = when.replace(tzinfo=timezone(timedelta(0)))
    return when


def _attachments(items: list[dict]) -> list[Attachment]:
    out = []
    for item in items:
        payload = item.get("payload") or ""
        if item.get("binary"):
            try:
                data = base64.b64decode(payload)
            except ValueError:
                data = payload.encode("utf-8", "replace")
        else:
            data = payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else payload
        disposition = (item.get("content-disposition") or "").lower()
        out.append(
            Attachment(
                filename=safe_filename(_decoded(str(item.get("filename") or ""))),
                content_type=_no_nul(item.get("mail_content_type") or "application/octet-stream").lower(),
                data=data,
                content_id=_no_nul(str(item.get("content-id") or "")).strip().strip("<>"),
                inline=disposition.startswith("inline"),
            )
        )
    return out


# "begin 644 name" … "end": a file uuencoded into a text body (old mailers, mailx, Usenet gateways)
_UUENCODED = re.compile(
    r"^begin [0-7]{3,4} ([^\n]{1,200})\n((?:[!-`][^\n]{0,100}\n){1,200000})`?\nend[ \t]*$", re.MULTILINE
)


def _uuencoded(text: str) -> tuple[str, list[Attachment]]:
    """The text without its uuencoded files, and the files as attachments; a block that does not decode stays."""
    files: list[Attachment] = []

    def take(m: re.Match[str]) -> str:
        try:
            data = b"".join(binascii.a2b_uu(line) for line in m.group(2).splitlines())
        except (binascii.Error, ValueError):
            return m.group(0)
        name = safe_filename(m.group(1).strip())
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        files.append(Attachment(filename=name, content_type=kind, data=data))
        return ""

    out = _UUENCODED.sub(take, text)
    return (out.strip("\n") if files else text), files


_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f<>:\"|?*]+")
MAX_FILENAME = 150


def safe_filename(name: str) -> str:
    """A file name safe to offer for download: no directories, controls or leading dots, bounded length."""
    name = name.strip().strip("<>").replace("\\", "/").rpartition("/")[2]
    name = _UNSAFE_NAME.sub("_", name).strip(" .")
    if len(name) > MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: MAX_FILENAME - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else name[:MAX_FILENAME]
    return name or "attachment"


def _embedded(msg: Message) -> list[bytes]:
    """Raw bytes of top-level-reachable message/rfc822 parts, for forward unwrapping."""
    out = []
    for part in msg.walk():
        if part.get_content_type() != "message/rfc822":
            continue
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        if isinstance(inner, Message):
            try:
                out.append(inner.as_bytes())
            except Exception:  # a broken inner message is still shown as the outer body
                continue
    return out


def _boundary_lost(msg: Message) -> bool:
    """Multipart by its Content-Type, one undivided body to the parser: the boundary never occurs."""
    return not msg.is_multipart() and msg.get_content_maintype() == "multipart"


# A "--name" line followed by a header line: where the body's own parts begin.
_BODY_BOUNDARY = re.compile(rb"^--([^\s]{1,200})[ \t]*\r?\n[!-9;-~]{1,76}:", re.MULTILINE)
_BOUNDARY_PARAM = re.compile(rb"""(boundary[ \t]*=[ \t]*)(?:"[^"\r\n]*"|[^\s";]+)""", re.IGNORECASE)


def _with_the_bodys_boundary(raw: bytes, mail: mailparser.MailParser) -> tuple[mailparser.MailParser, Message]:
    """Read the message again with the boundary its body uses, when the header names another.

    A mailer or list that rewrote the header's boundary and not the body (or
    the other way round) leaves parts the parser cannot find; the stored raw
    keeps the bytes as they came. Only the top level is mended.
    """
    end = raw.find(b"\r\n\r\n")
    end = end + 4 if end >= 0 else raw.find(b"\n\n") + 2
    found = _BODY_BOUNDARY.search(raw, end) if end >= 2 else None
    if found is None:
        return mail, mail.message
    name = found.group(1)
    head, n = _BOUNDARY_PARAM.subn(lambda m: m.group(1) + b'"' + name + b'"', raw[:end], count=1)
    try:
        again = _mailparser(head + raw[end:]) if n else None
    except Exception:  # the first reading stands
        again = None
    if again is None or again.message is None or not again.message.is_multipart():
        return mail, mail.message
    return again, again.message


def _body_as_text(msg: Message) -> str:
    """The undivided body of a multipart whose boundary never occurs, as plain text: shown, not lost."""
    payload = msg.get_payload(decode=True)
    return decode_bytes(payload, msg.get_content_charset()) if isinstance(payload, bytes) else str(payload or "")


def _redecoded_bodies(msg: Message) -> tuple[list[str], list[str]]:
    """Text bodies decoded again where the declared charset was missing or wrong.

    mail-parser falls back to UTF-8 with replacement characters; old clients
    send Latin-1 or Windows-1251 without saying so, so detect instead.
    """
    plain: list[str] = []
    html: list[str] = []
    for part in msg.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        kind = part.get_content_type()
        if kind not in ("text/plain", "text/html"):
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes) or not payload.strip():
            continue
        text = decode_bytes(payload, part.get_content_charset())
        (plain if kind == "text/plain" else html).append(text)
    return plain, html


def decode_bytes(data: bytes, declared: str | None) -> str:
    """Bytes to text: the declared charset if it fits, else UTF-8, else the best detected guess."""
    for charset in (declared, "utf-8"):
        if not charset:
            continue
        try:
            return data.decode(charset)
        except (LookupError, ValueError):  # unknown, undecodable, or a name with a NUL in it
            continue
    candidates = list(charset_normalizer.from_bytes(data))
    if candidates:
        least = min(c.chaos for c in candidates)
        best = [c for c in candidates if c.chaos == least]
        # Windows-1252 first among equals: the commonest undeclared charset in mail
        chosen = next((c for c in best if c.encoding == "cp1252"), best[0])
        return str(chosen)
    return data.decode("cp1252", "replace")
