"""Charset labels as mail writes them, mapped to the codecs Python has (`codec`).

Mail declares charsets by labels Python does not know: Outlook writes Thai as
"windows-874" and Japanese as "windows-31j", Hebrew mail says "iso-8859-8-i"
(logical order; the bytes are ISO-8859-8's), old Macs "x-mac-roman", and
"x-" prefixes ("x-sjis", "x-gbk", Outlook's "x-x-big5") or "cp-850" are common. Without this,
such a body was handed to charset detection, which on a short text guesses badly
(a Hebrew line read as UTF-16 came out as Chinese), and such a subject stayed
as its raw "=?windows-874?B?…?=" words. Labels that say nothing ("unknown-8bit",
"x-user-defined") count as no charset at all. Windows' ISO-2022-JP (code page 50221) is
registered here as a codec.
"""

from __future__ import annotations

import codecs
import re
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # collections.abc.Buffer from Python 3.12
    from typing_extensions import Buffer

_ALIASES = {
    "windows-874": "cp874",
    "windows-31j": "cp932",
    "x-windows-949": "cp949",
    "macintosh": "mac_roman",
    "x-mac-roman": "mac_roman",
    "x-mac-ce": "mac_latin2",
    "x-mac-centraleurroman": "mac_latin2",
    "x-mac-cyrillic": "mac_cyrillic",
    "x-mac-ukrainian": "mac_cyrillic",
    "x-mac-greek": "mac_greek",
    "x-mac-turkish": "mac_turkish",
    "x-mac-icelandic": "mac_iceland",
    "x-sjis": "shift_jis",
    "x-euc-jp": "euc_jp",
    "x-gbk": "gbk",
    "unicode-1-1-utf-7": "utf-7",
    "unicode-1-1-utf-8": "utf-8",
    "windows-936": "gbk",
    "unicode": "utf-16",  # what Windows calls UTF-16, little-endian
    "ucs-2": "utf-16",
    "ucs2": "utf-16",
}
# What browsers read these labels as (the WHATWG Encoding Standard): supersets that decode every
# text the label's own table does, and the characters senders used beyond it. Windows-1252 in mail
# labelled ISO-8859-1 is the commonest case: its curly quotes, dashes and € read as invisible C1
# controls; Japanese mail labelled Shift_JIS or ISO-2022-JP uses Windows' circled numbers (①) and
# Roman numerals, which made the whole text undecodable.
_SUPERSETS = {
    "iso8859-1": "cp1252",
    "ascii": "cp1252",
    "gb2312": "windows_936",  # Python's "cp936" is its GBK
    "gbk": "windows_936",
    "euc_kr": "cp949",
    "shift_jis": "cp932",
    "tis-620": "cp874",
    "iso8859-11": "cp874",
    "iso8859-9": "cp1254",
    "iso2022_jp": "cp50221",
    "euc_jp": "cp51932",
    # Windows' Big5 (code page 950: €, the ETEN extensions such as 碁) and KOI8-U, whose Ukrainian
    # letters KOI8-R has as box drawing no mail writes
    "big5": "cp950",
    "koi8-r": "koi8-u",
}
_SAYS_NOTHING = frozenset({"unknown-8bit", "unknown", "x-unknown", "x-user-defined", "8bit", "default", "none"})
_BIDI_SUFFIX = re.compile(r"^(iso-8859-[68])-[ie]$")  # "-i" logical, "-e" explicit order: the same bytes
_CP_DASH = re.compile(r"^(?:cp|ibm|win|windows)-?(\d{3,4})$")  # "cp-850", "ibm437", "win-1251", "windows-936"


@lru_cache(maxsize=256)
def codec(label: str | None, *, superset: bool = True) -> str | None:
    """The Python codec for a declared charset `label`; None when it names nothing Python can decode.

    With `superset`, the encoding browsers read the label as (Windows-1252 for
    ISO-8859-1); callers fall back to the exact table when that fails.
    """
    if not label:
        return None
    name = label.strip().strip("\"'").lower().partition("*")[0]  # RFC 2231's "iso-8859-6*ar": a language
    if name in _SAYS_NOTHING or len(name) > 40:
        return None
    name = _BIDI_SUFFIX.sub(r"\1", name)
    for candidate in dict.fromkeys((name, name.removeprefix("x-"), name.removeprefix("x-").removeprefix("x-"))):
        candidate = _ALIASES.get(candidate, candidate)  # "x-windows-874", Outlook's "x-x-big5"
        m = _CP_DASH.match(candidate)
        if m:
            candidate = f"cp{m[1]}"
        try:
            found = codecs.lookup(candidate).name
        except (LookupError, ValueError):  # ValueError: a name with a NUL in it
            continue
        return _SUPERSETS.get(found, found) if superset else found
    return None


def _cp50221_decode(data: Buffer, errors: str = "strict", /) -> tuple[str, int]:
    """ISO-2022-JP as Windows writes it (code page 50221): its two-byte codes are CP932's, so NEC's
    ① and Ⅱ and IBM's kanji come out too. A run of codes Python's ISO-2022-JP has no character
    for becomes its Shift_JIS bytes, read as CP932."""
    raw = bytes(data)
    for iso in ("iso2022_jp", "iso2022_jp_2") if b"\x1b$(D" in raw else ("iso2022_jp",):  # JIS X 0212: "鷗"
        try:
            return raw.decode(iso), len(raw)
        except UnicodeDecodeError:
            pass
    pieces = _ESCAPE.split(raw)
    text = [pieces[0].decode("cp932", errors)]
    for escape, run in zip(pieces[1::2], pieces[2::2], strict=True):
        if escape in (b"\x1b$@", b"\x1b$B"):
            try:
                text.append((b"\x1b$B" + run).decode("iso2022_jp"))
            except UnicodeDecodeError:
                text.append(_jis_as_shift_jis(run).decode("cp932", errors))
        elif escape == b"\x1b(I":  # half-width katakana
            text.append(bytes(b + 0x80 if 0x21 <= b <= 0x5F else b for b in run).decode("cp932", errors))
        else:
            text.append(run.decode("cp932", errors))
    return "".join(text), len(raw)


_ESCAPE = re.compile(rb"(\x1b(?:\(B|\(J|\$@|\$B|\(I))")


def _jis_as_shift_jis(run: bytes) -> bytes:
    """Two-byte JIS codes as Shift_JIS bytes; line ends between them kept."""
    out = bytearray()
    i = 0
    while i < len(run):
        first = run[i]
        if first in b"\r\n":
            out.append(first)
            i += 1
            continue
        if not (0x21 <= first <= 0x7E and i + 1 < len(run) and 0x21 <= run[i + 1] <= 0x7E):
            raise UnicodeDecodeError("cp50221", run, i, i + 1, "not a two-byte JIS code")
        lead = ((first - 0x21) >> 1) + 0x81
        trail = run[i + 1] + (0x1F if first % 2 else 0x7E)
        out += bytes((lead + 0x40 if lead > 0x9F else lead, trail + 1 if first % 2 and trail >= 0x7F else trail))
        i += 2
    return bytes(out)


def _cp51932_decode(data: Buffer, errors: str = "strict", /) -> tuple[str, int]:
    """EUC-JP as Windows writes it (code page 51932): its two-byte codes are CP932's, so the circled
    numbers a Japanese list is written with ("①") come out, which Python's EUC-JP has no character
    for. Read as EUC-JP first; only where that fails, each code becomes its Shift_JIS bytes, read as
    CP932 (a JIS X 0212 code, which CP932 lacks, as EUC-JP)."""
    raw = bytes(data)
    try:
        return raw.decode("euc_jp"), len(raw)
    except UnicodeDecodeError:
        pass
    text: list[str] = []
    sjis = bytearray()
    i = 0
    while i < len(raw):
        first = raw[i]
        if first == 0x8F:  # JIS X 0212, three bytes
            text.append(sjis.decode("cp932", errors) + raw[i : i + 3].decode("euc_jp", errors))
            sjis.clear()
            i += 3
        elif first == 0x8E and i + 1 < len(raw):  # half-width katakana
            sjis.append(raw[i + 1])
            i += 2
        elif 0xA1 <= first <= 0xFE and i + 1 < len(raw) and 0xA1 <= raw[i + 1] <= 0xFE:
            sjis += _jis_as_shift_jis(bytes((first - 0x80, raw[i + 1] - 0x80)))
            i += 2
        else:
            sjis.append(first)
            i += 1
    text.append(sjis.decode("cp932", errors))
    return "".join(text), len(raw)


def _cp936_decode(data: Buffer, errors: str = "strict", /) -> tuple[str, int]:
    """GBK as Windows writes it (code page 936): 0x80 is "€", which Python's GBK has no character for."""
    raw = bytes(data)
    text: list[str] = []
    start = 0
    while True:
        try:
            text.append(raw[start:].decode("gbk"))
            return "".join(text), len(raw)
        except UnicodeDecodeError as bad:
            text.append(raw[start : start + bad.start].decode("gbk"))
            at = start + bad.start
            if raw[at] != 0x80:
                text.append(raw[at:].decode("gbk", errors))  # strict raises; a replacing reader goes on
                return "".join(text), len(raw)
            text.append("€")
            start = at + 1


_WINDOWS_CODECS = {"cp50221": ("iso2022_jp", _cp50221_decode), "cp51932": ("euc_jp", _cp51932_decode)}
_WINDOWS_CODECS["windows_936"] = ("gbk", _cp936_decode)


def _search(name: str) -> codecs.CodecInfo | None:
    """Windows' code pages Python reads as their standards' narrower tables; their encoders are the standards'."""
    if name not in _WINDOWS_CODECS:
        return None
    standard, decode = _WINDOWS_CODECS[name]
    return codecs.CodecInfo(codecs.lookup(standard).encode, decode, name=name)


codecs.register(_search)
