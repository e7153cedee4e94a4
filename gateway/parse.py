"""Step 3, parse: raw bytes → ParsedMessage.

With parse_bodies.py (the bodies, mended where broken mail lost them), the only
module that reads mail-parser's results. It decodes headers, bodies and
attachments; it does not judge the message (classify), look inside forwards
(forward) or split quotes (reply).
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import logging
import mimetypes
import re
from datetime import UTC, datetime, timedelta, timezone
from email.header import decode_header, make_header
from email.message import Message

import mailparser
from mailparser.utils import decode_header_part, mime_header_view

from gateway.charsets import codec
from gateway.list_author import named_author, rewritten
from gateway.message import Address, Attachment, ParsedMessage
from gateway.parse_bodies import bodies, decode_bytes, uuencoded_files

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
    "x-auto-response-suppress",
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


def parse(raw: bytes) -> ParsedMessage:
    """Decode `raw` into a ParsedMessage; raise ParseError when nothing usable is there."""
    try:
        mail = _mailparser(raw)
    except Exception as exc:  # mail-parser raises its own and stdlib errors alike
        raise ParseError(f"{type(exc).__name__}: {exc}") from exc
    msg: Message = mail.message
    if msg is None or not msg.keys():
        raise ParseError("no header block")
    mail, plain, html = bodies(raw, mail, _mailparser)
    msg = mail.message
    message_id = _first_id(_header(msg, "message-id"))
    text, uufiles = uuencoded_files(_no_nul("\n".join(t for t in plain if t.strip())))
    author = _author(mail.from_ or [], msg)
    parsed = ParsedMessage(
        message_id=message_id or _synthetic_id(msg, raw),
        synthetic_id=not message_id,
        in_reply_to=_ids(_header(msg, "in-reply-to"))[:1],
        references=_ids(_header(msg, "references"))[-MAX_REFERENCES:],
        subject=_decoded(_header(msg, "subject")),
        author=author,
        to=[Address(_no_nul(n), _no_nul(a).lower()) for n, a in (mail.to or []) if a],
        date=_date(_header(msg, "date")),
        text=text,
        html=_no_nul("\n".join(html)) or None,
        attachments=_attachments(mail.attachments, msg) + [_uufile(name, data) for name, data in uufiles],
        embedded=_embedded(msg),
        headers={h: _decoded(_header(msg, h)) for h in KEPT_HEADERS if msg.get(h) is not None},
        auth_results=[_decoded(_text(str(v))) for k, v in msg.raw_items() if k.lower() == "authentication-results"][
            :20
        ],
        defects=sorted(mail.defects_categories),
        list_author=_list_author(author, msg),
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
    """RFC 2047 words decoded; undecodable input kept as it came, never an exception.

    Charsets are read as bodies' are (`charsets.codec`: Windows-1252 for
    ISO-8859-1); words in a charset Python does not know by that label
    ("=?windows-874?B?…?=") or that their bytes do not fit are decoded as
    bodies are (`decode_bytes`).
    """
    try:
        parts = decode_header(value)
        try:
            text = str(make_header([(b, codec(cs) or cs) if cs else (b, cs) for b, cs in parts]))
        except (LookupError, UnicodeError):
            text = str(make_header([(_part_text(b, cs), "utf-8" if cs else None) for b, cs in parts]))
    except Exception:
        text = value
    return " ".join(_no_nul(text).split())


def _part_text(part: bytes | str, charset: str | None) -> str:
    if isinstance(part, str):
        return part
    return decode_bytes(part, charset) if charset else part.decode("ascii", "replace")


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
    found = email.utils.getaddresses([_header(msg, name)])[:MAX_ADDRESSES]
    return [Address(_decoded(n), _no_nul(a).strip().lower()) for n, a in found if "@" in a]


def _date(value: str) -> datetime | None:
    """The Date header as an aware datetime; None when absent or unreadable.

    Besides RFC 5322's form: "GMT+1" / "UTC-05:00" zones, which the parser
    took for UTC itself, and ISO 8601 ("2026-03-02T09:00:00+01:00"), which
    scripts and some services write and which otherwise dated the message
    when it arrived (an imported archive's, on the day of the import).
    """
    if not value:
        return None
    value = _OFFSET_ZONE.sub(_rfc_offset, value.strip())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        if not _ISO_DATE.match(value):
            return None
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            return None
    if when.tzinfo is None:  # RFC 5322 "-0000": time zone unknown, taken as UTC
        when = when.replace(tzinfo=UTC)
    offset = when.utcoffset() or timedelta(0)
    if abs(offset) > timedelta(hours=14):
        when = when.replace(tzinfo=timezone(timedelta(0)))
    return when


_OFFSET_ZONE = re.compile(r"\b(?:GMT|UTC)\s?([+-])(\d{1,2})(?::?(\d{2}))?(?=\s*(?:\(|$))")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def _rfc_offset(m: re.Match[str]) -> str:
    return f"{m[1]}{int(m[2]):02d}{m[3] or '00'}"


def _attachments(items: list[dict], msg: Message) -> list[Attachment]:
    names = _attachment_names(msg) if items else {}
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
                filename=safe_filename(_attachment_name(item, names)),
                content_type=_no_nul(item.get("mail_content_type") or "application/octet-stream").lower(),
                data=data,
                content_id=_no_nul(str(item.get("content-id") or "")).strip().strip("<>"),
                inline=disposition.startswith("inline"),
            )
        )
    return out


def _attachment_name(item: dict, names: dict[str, str]) -> str:
    """The name its sender gave the attachment; "attachment.pdf" for one they named nothing.

    mail-parser names a nameless attachment with ten random letters and ".txt",
    whatever its type; a part it named by its Content-ID keeps that name.
    """
    theirs = str(item.get("filename") or "")
    if theirs in names:
        return names[theirs]
    cid = str(item.get("content-id") or "")
    if theirs and theirs != cid and _GENERATED_NAME.match(theirs):
        ctype = str(item.get("mail_content_type") or "")
        return "attachment" + (mimetypes.guess_extension(ctype) or "")
    return _decoded(theirs)


_GENERATED_NAME = re.compile(r"^[a-z]{10}\.(?:txt|rtf)$")


def _attachment_names(msg: Message) -> dict[str, str]:
    """Each named part's name as mail-parser reads it → as mailfeed reads it.

    mail-parser reads an RFC 2231 name in a charset Python does not know by that
    label as Latin-1, and raw 8-bit bytes as replacement characters; here names
    go through `charsets` as bodies do, and raw bytes are UTF-8, else Windows-1252.
    """
    names: dict[str, str] = {}
    for part in msg.walk():
        value = _name_param(part)
        if value is not None:
            view, _ = mime_header_view(part)
            names.setdefault(decode_header_part(view.get_filename()), _param_text(value))
    return names


def _name_param(part: Message) -> str | tuple[str, str, str] | None:
    """The filename (or the older name) parameter, read from the header as it came.

    The part's own get_param reads raw 8-bit bytes as replacement characters;
    a header-only copy of the header, its bytes read as `_header` reads them, does not.
    """
    for header, param in (("content-disposition", "filename"), ("content-type", "name")):
        raw = _header(part, header)
        if raw and param in raw.lower():
            view = Message()
            view[header] = raw
            value = view.get_param(param, header=header)
            if value is not None:
                return value  # type: ignore[return-value]
    return None


def _param_text(value: str | tuple[str, str, str]) -> str:
    if isinstance(value, tuple):  # RFC 2231: (charset, language, the octets as Latin-1 characters)
        charset, _, text = value
        return decode_bytes(text.encode("latin-1", "surrogateescape"), charset or None)
    return _decoded(value)


def _uufile(name: str, data: bytes) -> Attachment:
    safe = safe_filename(name)
    return Attachment(
        filename=safe, content_type=mimetypes.guess_type(safe)[0] or "application/octet-stream", data=data
    )


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
