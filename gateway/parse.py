"""Step 3, parse: raw bytes → ParsedMessage.

With parse_bodies.py (the bodies, mended where broken mail lost them),
parse_attachments.py (files and their names) and parse_headers.py (header
values as text), the only modules that read mail-parser's results; parse_raw.py
mends the bytes it reads (the stored raw keeps them as they came). It decodes
headers, bodies and attachments; it does not judge the message (classify), look
inside forwards (forward) or split quotes (reply).
"""

from __future__ import annotations

import email.errors
import email.header
import email.utils
import hashlib
import itertools
import logging
import re
from datetime import datetime
from email.message import Message

import mailparser

from gateway import smime
from gateway.message import PGP_ENCRYPTED_FILE, Address, Attachment, ParsedMessage
from gateway.parse_attachments import attachments, unnamed_files, uufile
from gateway.parse_author import author_of, list_author_of
from gateway.parse_bodies import bodies, shown_html, shown_text
from gateway.parse_calendar import read_calendar
from gateway.parse_headers import date_of, decoded, header_text, message_charset, no_nul, read_header
from gateway.parse_images import data_images
from gateway.parse_raw import (
    below_a_preamble,
    header_end,
    mended,
    names_a_message,
    read_encoded_messages,
    without_trace,
)
from gateway.parse_text_files import pgp_messages, uuencoded_files
from gateway.tnef import unpacked

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
    "list-id",
    "return-path",
    "content-type",
    "x-mailfeed-digest",
    "x-mailfeed-loop",
    "x-failed-recipients",
    "thread-index",
    "x-auto-response-suppress",
    "x-ms-exchange-inbox-rules-loop",
    "x-list-administrivia",
    "x-rt-loop-prevention",
    "x-delivery-agent",
    "delivered-by-the-graces-of",
    "x-delivered-by-the-graces-of",
)

_BRACKETED = re.compile(r"<([^<>\s]{1,900})>")
_BARE = re.compile(r"[^<>\s,;]+@[^<>\s,;]+")


class ParseError(Exception):
    """The bytes cannot be read as a message at all."""


def parse(raw: bytes, *, unwrap: bool = True) -> ParsedMessage:
    """Decode `raw` into a ParsedMessage; raise ParseError when nothing usable is there.

    An opaque S/MIME signature is read for the message inside it (`unwrap`: once).
    """
    raw = mended(raw)
    mail = _read(raw)
    if mail.message is None or not mail.message.keys():
        below = below_a_preamble(raw)
        if below is None:
            raise ParseError(_not_mail(raw))
        raw, mail = below, _read(below)
    msg: Message = mail.message
    if msg is None or not msg.keys():
        raise ParseError(_not_mail(raw))
    end = header_end(raw)
    if unwrap and end >= 0 and smime.opaque_signed(raw, end):
        payload = msg.get_payload(decode=True)
        inner = smime.unwrapped(raw[: end + 2], payload) if isinstance(payload, bytes) else None
        if inner is not None:
            return parse(inner, unwrap=False)
    mail, plain, html = bodies(raw, mail, _mailparser)
    msg = mail.message
    message_id = _first_id(read_header(msg, "message-id"))
    text, uufiles = uuencoded_files(no_nul("\n".join(shown_text(t) for t in plain if t.strip())))
    text, armoured = pgp_messages(text)
    # the codec raw 8-bit headers that are no UTF-8 are read in; most headers have no 8-bit byte
    charset = message_charset(msg) if _EIGHT_BIT.search(raw, 0, end if end >= 0 else len(raw)) else None
    author = author_of(mail.from_ or [], msg, charset)
    listed = attachments(mail.attachments, msg, charset) + _unnamed(mail) + [uufile(n, d) for n, d in uufiles]
    # Outlook's answer to a meeting request, sent in a winmail.dat: "IPM.Schedule.Meeting.Resp.Pos" (or .Neg, .Tent)
    tnef_answer = any(
        a.content_type == "application/ms-tnef" and any(k in a.data[:4096] for k in _TNEF_ANSWERS) for a in listed
    )
    files = unpacked(listed)
    files += [Attachment(PGP_ENCRYPTED_FILE, "application/octet-stream", data) for data in armoured]
    calendar = read_calendar(msg, files, worded=bool(text.strip() or any(t.strip() for t in html)))
    shown, pictures = data_images(no_nul("\n".join(shown_html(msg, html))))
    parsed = ParsedMessage(
        message_id=message_id or _synthetic_id(msg, raw),
        synthetic_id=not message_id,
        in_reply_to=_replied_to(read_header(msg, "in-reply-to")),
        references=_ids(read_header(msg, "references"))[-MAX_REFERENCES:],
        subject=decoded(read_header(msg, "subject", charset)),
        author=author,
        to=[Address(no_nul(n), no_nul(a).lower()) for n, a in (mail.to or []) if a],
        date=date_of(read_header(msg, "date")) or _delivered(raw),
        text=text,
        html=shown or None,
        attachments=[*files, *calendar.files, *pictures],
        embedded=_embedded(msg),
        headers={h: decoded(read_header(msg, h)) for h in KEPT_HEADERS if msg.get(h) is not None},
        auth_results=[
            decoded(header_text(str(v))) for k, v in msg.raw_items() if k.lower() == "authentication-results"
        ][:20],
        defects=sorted(mail.defects_categories),
        list_author=list_author_of(author, msg),
        event_uid=calendar.uid,
        meeting=calendar.meeting,
        calendar_answer=calendar.answer or tnef_answer,
    )
    return parsed


_EIGHT_BIT = re.compile(rb"[\x80-\xff]")
# its message class, as Outlook writes it ("IPM.Schedule.Meeting.Resp.Pos") and as older versions and
# MS-OXTNEF's attMessageClass do ("IPM.Microsoft Schedule.MtgRespP")
_TNEF_ANSWERS = (b"IPM.Schedule.Meeting.Resp.", b"IPM.Microsoft Schedule.MtgResp")
_RECEIVED = re.compile(rb"^received:([^\n]*(?:\n[ \t][^\n]*)*)", re.IGNORECASE | re.MULTILINE)
RECEIVED_READ = 3  # the newest hops; a date further down is no delivery time


def _delivered(raw: bytes) -> datetime | None:
    """When the newest Received: header says the message arrived: the date of one without a readable Date.

    An archive's undated messages were otherwise dated on the day of their
    import and topped the feed; the hop that delivered them into the mailbox
    wrote when that was, after the ";" (RFC 5321, 4.4).
    """
    end = header_end(raw)
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

    def _build_header_index(self) -> dict[str, list[str]]:
        # An address header whose base64 word the email package cannot decode ("=?b?ey?=" cut
        # between two words) raised in mail-parser's reading of every address, and the message
        # was quarantined for a display name; such a value is read by mailfeed's own reader.
        index: dict[str, list[str]] = super()._build_header_index()
        for header in _ADDRESS_HEADERS & index.keys():
            index[header] = [_readable_address_header(value) for value in index[header]]
        return index

    def parse(self) -> _MailParser:
        # A multipart whose parts never close has no epilogue, and mail-parser's search for one in it
        # raised AttributeError: the message was quarantined. An empty one is searched for nothing.
        if self.message is not None and self.message.is_multipart() and self.message.epilogue is None:
            self.message.epilogue = ""
        if self.message is not None and self.attaches_messages:
            read_encoded_messages(self.message)
        super().parse()
        return self

    attaches_messages = False


class _MailParserWithMessages(_MailParser):
    """For raw bytes that name a message/* part: only those can hold one sent in base64."""

    attaches_messages = True


_ADDRESS_HEADERS = frozenset({"bcc", "cc", "delivered-to", "from", "reply-to", "to"})  # the ones mail-parser reads


def _readable_address_header(value: str) -> str:
    if not isinstance(value, str) or "?b?" not in value.lower():
        return value  # only base64 words make the email package raise
    try:
        email.header.decode_header(value)
    except email.errors.HeaderParseError:
        return decoded(value)
    return value


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
    reader = _MailParserWithMessages if names_a_message(raw) else _MailParser
    try:
        return reader.from_bytes(without_trace(raw))
    except ValueError:
        if b"\x00" not in raw:
            raise
        return reader.from_bytes(without_trace(raw.replace(b"\x00", b"")))


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


def _replied_to(value: str) -> list[str]:
    """The Message-ID In-Reply-To names: its last, comments aside. exmh and MH write "Message from
    Doug <doug@…> of "date" <id>", where the first is the sender's address (which then joined
    unrelated replies to Doug as one thread); "<grandparent> <parent>" ends with the parent."""
    return _ids(_COMMENT.sub(" ", value))[-1:]


_COMMENT = re.compile(r"\([^()]{0,500}\)")  # "<id> (Bo's message of "Mon, 2 Mar")"


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


def _unnamed(mail: mailparser.MailParser) -> list[Attachment]:
    """Files mail-parser read as text it does not manage: it lists every other part it does not show."""
    return unnamed_files(mail.message) if mail.text_not_managed else []


def _embedded(msg: Message) -> list[bytes]:
    """Raw bytes of the message/rfc822 parts this message attaches, for forward unwrapping; not those
    attached inside them, which are theirs (a forward of a forward: the reading of the first finds them)."""
    out = []
    stack = [msg]
    while stack:
        part = stack.pop()
        if not part.is_multipart():
            continue  # a leaf's payload is not read: a charset label like "bogus\0" makes reading it raise
        payload = part.get_payload()
        if part.get_content_type() in ("message/rfc822", "message/global"):  # global: RFC 6532's, UTF-8 headers
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message):
                try:
                    out.append(inner.as_bytes())
                except Exception:  # a broken inner message is still shown as the outer body
                    continue
        elif isinstance(payload, list):
            stack.extend(reversed([p for p in payload if isinstance(p, Message)]))
    return out
