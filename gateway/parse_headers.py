"""Step 3, parse: header values as text, for parse.py and parse_attachments.py.

Raw 8-bit bytes (RFC 6532) are read as UTF-8, else in the message's own
charset, else as undeclared text is; RFC 2047
words through `charsets` as bodies are; NUL characters go (PostgreSQL text
cannot hold one); dates in RFC 5322's form and the others senders write.
"""

from __future__ import annotations

import binascii
import email.utils
import re
from datetime import UTC, datetime, timedelta, timezone
from email.message import Message

from gateway.charsets import codec, decode_bytes
from gateway.forward_dates import parse_date

# A header field's name and its colon (RFC 5322 2.2): what tells a header block from other text.
HEADER_FIELD = re.compile(rb"[\x21-\x39\x3b-\x7e]{1,200}:")


def read_header(msg: Message, name: str, fallback: str | None = None) -> str:
    """The first `name` header as text; raw 8-bit bytes read as UTF-8 (RFC 6532), else as
    `fallback` (the message's own charset, `message_charset`), else as undeclared text is."""
    name = name.lower()
    for key, value in msg.raw_items():
        if key.lower() == name:
            return header_text(value, fallback) if isinstance(value, str) else str(value)
    return ""


def header_text(value: str, fallback: str | None = None) -> str:
    """A header value from a bytes parse as text: its raw 8-bit bytes as UTF-8, else as the codec
    `fallback`, else as undeclared text is (`decode_bytes`: Windows-1252 or -1250 for Latin
    letters, Windows-1251 or KOI8 for Cyrillic, detection for the rest)."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:  # surrogate-escaped 8-bit bytes from a bytes parse
        raw = value.encode("utf-8", "surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if fallback:
        try:
            return raw.decode(fallback)
        except (UnicodeDecodeError, LookupError):
            pass
    return decode_bytes(raw, None)


def message_charset(msg: Message) -> str | None:
    """The codec of the charset the message says its text is in, for raw 8-bit headers.

    A client that writes raw 8-bit headers (Outlook Express, Foxmail, old
    Japanese mailers) writes them in the charset of its text: Shift_JIS or
    GB2312 subjects and names read as Windows-1252 came out as mojibake.
    """
    for i, part in enumerate(msg.walk()):
        if i >= 20:
            break
        found = codec(part.get_content_charset())  # Foxmail puts it on the multipart too
        if found:
            return _RAW_HEADER_CODEC.get(found, found)
    return None


# 7-bit charsets: a mailer that sends its text in one writes its raw 8-bit headers in its Windows code page
_RAW_HEADER_CODEC = {"iso2022_jp": "cp932", "iso2022_jp_2": "cp932", "iso2022_kr": "cp949", "hz": "gbk"}


def decoded(value: str) -> str:
    """RFC 2047 words decoded; undecodable input kept as it came, never an exception.

    Each run of adjacent words in one charset is read as one string of bytes (a character split
    over two words stays whole) and as bodies are (`decode_bytes`): Windows-1252 for ISO-8859-1,
    labels Python does not know by that name ("=?windows-874?B?…?="), UTF-8 under a single-byte
    label, detection where the bytes do not fit. Whitespace between two words goes, whitespace
    beside other text stays (RFC 2047 6.2), a fold included; base64 missing its padding is read.
    """
    if "=?" not in value:
        return " ".join(no_nul(value).split())
    value = _FOLD.sub("", value)
    out: list[str] = []
    run: list[bytes] = []  # the bytes of adjacent words in one charset
    charset = ""
    at = 0
    for start, end, label, data in _words(value):
        between = value[at:start]
        adjacent = bool(run) and not between.strip()
        if run and (not adjacent or label != charset):
            out.append(decode_bytes(b"".join(run), charset))
            run = []
        if not adjacent:
            out.append(between)
        run.append(data)
        charset, at = label, end
    if run:
        out.append(decode_bytes(b"".join(run), charset))
    out.append(value[at:])
    return " ".join(no_nul("".join(out)).split())


_FOLD = re.compile(r"\r?\n(?=[ \t])|\r?\n")
# charset (and an RFC 2231 language), B or Q, the encoded text: no "?" in it (RFC 2047 5), which also
# bounds every failed match at the next "?"
_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,80})\?([QqBb])\?([^?]{0,4000})\?=")


def _words(value: str) -> list[tuple[int, int, str, bytes]]:
    """(start, end, charset, bytes) of each decodable encoded word in `value`.

    A base64 word that ends inside a group of four, or a Q word inside an "=XX" escape, goes on in
    the next word when only space stands between them and both say one charset and encoding: a
    mailer cut the encoding there, not the text ("=?iso-8859-1?b?ey?= =?iso-8859-1?b?NE6O…?=");
    decoded apart, every byte after the cut was wrong.
    """
    out: list[tuple[int, int, str, bytes]] = []
    cut: tuple[int, str, str] | None = None  # (start, charset + encoding, text) of a word cut mid-byte
    for m in _ENCODED_WORD.finditer(value):
        kind, b64 = m[1].lower() + m[2].lower(), m[2] in "Bb"
        text = "".join(m[3].split()) if b64 else m[3]
        start, data = m.start(), None
        if cut is not None and kind == cut[1] and not value[out[-1][1] : start].strip():
            data = _word_bytes(m[2], cut[2] + text)
            if data is not None:  # read across the cut; else each word alone
                start, text = cut[0], cut[2] + text
                out.pop()
        data = data if data is not None else _word_bytes(m[2], text)
        if data is None:  # not decodable: kept as written
            cut = None
            continue
        out.append((start, m.end(), kind[:-1], data))
        cut_off = len(text) % 4 and "=" not in text if b64 else _CUT_ESCAPE.search(text)
        cut = (start, kind, text) if cut_off else None
    return out


_CUT_ESCAPE = re.compile(r"=[0-9A-Fa-f]?$")  # quoted-printable's "=C3" cut after "=" or "=C"


def _word_bytes(encoding: str, text: str) -> bytes | None:
    try:
        if encoding in "Qq":
            return binascii.a2b_qp(text.encode("ascii"), header=True)
        letters = "".join(text.split()).rstrip("=")
        if len(letters) % 4 == 1:  # a sender cut the word: its last letter makes no byte
            letters = letters[:-1]
        return binascii.a2b_base64(letters + "=" * (-len(letters) % 4))
    except (ValueError, UnicodeEncodeError):  # binascii.Error is a ValueError
        return None


def no_nul(text: str) -> str:
    """`text` without NUL characters.

    RFC 5322 allows no NUL anywhere in a message, and PostgreSQL text cannot hold
    one, so a NUL that a broken or hostile sender put in a header or body is
    dropped here: the message is then posted alike on SQLite and PostgreSQL
    (tests/data/eml/nul-bytes-in-headers-and-body.eml).
    """
    return text.replace("\x00", "")


def date_of(value: str) -> datetime | None:
    """The Date header as an aware datetime; None when absent or unreadable.

    Besides RFC 5322's form: "GMT+1" / "UTC-05:00" zones, which the parser
    took for UTC itself, ISO 8601 ("2026-03-02T09:00:00+01:00"), which
    scripts and some services write and which otherwise dated the message
    when it arrived (an imported archive's, on the day of the import), and a
    twelve-hour clock ("January 6, 2009 4:44:14 PM CST"), read as forward headers are, as
    is what the RFC's parser cannot read ("16 May 2016 at 09:30:32 GMT+1", "17-6-2008").
    """
    if not value:
        return None
    value = _OFFSET_ZONE.sub(_rfc_offset, value.strip())
    twelve = _TWELVE_HOUR.search(value)
    loose = parse_date(value) if twelve else None  # the RFC's parser drops "PM"
    when: datetime | None
    try:
        when = loose or email.utils.parsedate_to_datetime(value)
        if twelve and loose is None:  # a two-digit year the loose reading does not take: "18 Feb 01 12:29 AM"
            when = when.replace(hour=when.hour % 12 + (12 if "p" in twelve[0].lower() else 0))
    except (TypeError, ValueError, IndexError, OverflowError):
        try:
            when = datetime.fromisoformat(value) if _ISO_DATE.match(value) else parse_date(value)
        except ValueError:
            return None
        if when is None:  # "16 May 2016 at 09:30:32 GMT+1", "17-6-2008 17:10:08": read as forward headers are
            return None
    if when.tzinfo is None:  # RFC 5322 "-0000": time zone unknown, taken as UTC
        when = when.replace(tzinfo=UTC)
    offset = when.utcoffset() or timedelta(0)
    if abs(offset) > timedelta(hours=14):
        when = when.replace(tzinfo=timezone(timedelta(0)))
    return when


_OFFSET_ZONE = re.compile(r"\b(?:GMT|UTC)\s?([+-])(\d{1,2})(?::?(\d{2}))?(?=\s*(?:\(|$))")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
# "January 6, 2009 4:44:14 PM CST": a mailer's twelve-hour clock, which is no RFC 5322 date
_TWELVE_HOUR = re.compile(r"\d:\d{2}(?::\d{2})?\s?[AaPp]\.?[Mm]\b")


def _rfc_offset(m: re.Match[str]) -> str:
    """GMT+1 written as RFC 5322's +0100."""
    return f"{m[1]}{int(m[2]):02d}{m[3] or '00'}"


# One address in angle brackets after a name with an unquoted comma or semicolon and no address in it
_NAME_WITH_SEPARATOR = re.compile(r'\s*([^<>"@,;]{1,100}[,;][^<>"@]{1,100}?)\s*<([^<>\s@]{1,64}@[^<>\s@]{1,255})>\s*$')


def comma_named(value: str) -> tuple[str, str] | None:
    """(name, address) of "Doe, John <john.doe@example.com>", as Exchange writes a sender; else None.

    The address parser splits the name at its comma and keeps no name ("Doe" read as an address).
    """
    found = _NAME_WITH_SEPARATOR.match(value)
    return (found[1], found[2]) if found else None
