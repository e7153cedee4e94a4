"""Step 3, parse: the files inside Outlook's winmail.dat (TNEF, MS-OXTNEF), as the attachments they were.

Outlook and Exchange wrap a "Rich Text" message's attachments in one
application/ms-tnef part; outside Outlook readers get only winmail.dat, which
nothing else opens. This reads the attachment attributes and nothing else, in
one bounded pass: a file's bytes (attAttachData), its title (attAttachTitle)
and, from its MAPI properties, its long name and MIME type. A part it cannot
read stays winmail.dat; the raw message keeps every byte either way.
"""

from __future__ import annotations

import mimetypes
import re
import struct

from gateway.charsets import decode_bytes
from gateway.message import Attachment
from gateway.parse_attachments import safe_filename

SIGNATURE = b"\x78\x9f\x3e\x22"
MAX_FILES = 100
MAX_ATTRIBUTES = 10_000  # a real winmail.dat has a dozen a file

_LEVEL_ATTACHMENT = 2
_ATT_RENDDATA = 0x9002  # attAttachRendData: a new attachment begins
_ATT_DATA = 0x800F  # attAttachData
_ATT_TITLE = 0x8010  # attAttachTitle
_ATT_MAPI = 0x9005  # attAttachment: the attachment's MAPI properties
_OEM_CODEPAGE = 0x9007  # attOemCodepage

_PR_ATTACH_LONG_FILENAME = 0x3707
_PR_ATTACH_MIME_TAG = 0x370E
_PT_STRING8, _PT_UNICODE = 0x001E, 0x001F
_FIXED = {
    0x0002: 4,
    0x0003: 4,
    0x0004: 4,
    0x0005: 8,
    0x0006: 8,
    0x0007: 8,
    0x000A: 4,
    0x000B: 4,
    0x0014: 8,
    0x0040: 8,
    0x0048: 16,
}
_VARIABLE = {0x000D, _PT_STRING8, _PT_UNICODE, 0x0102}


_MIME_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}")  # RFC 6838 names


class _Unreadable(Exception):
    pass


def unpacked(items: list[Attachment]) -> list[Attachment]:
    """`items`, each winmail.dat replaced by the files it holds."""
    out: list[Attachment] = []
    for a in items:
        files = _files(a.data) if a.data.startswith(SIGNATURE) and _is_tnef(a) else []
        out.extend(files or [a])
    return out


def _is_tnef(a: Attachment) -> bool:
    return a.content_type in ("application/ms-tnef", "application/vnd.ms-tnef") or a.filename.lower() == "winmail.dat"


def _files(data: bytes) -> list[Attachment]:
    try:
        return _read(data)
    except (_Unreadable, struct.error, ValueError):
        return []


def _read(data: bytes) -> list[Attachment]:
    found: list[dict[str, object]] = []
    codepage = "cp1252"
    at = 6  # signature, key
    for _ in range(MAX_ATTRIBUTES):
        if at + 9 > len(data):
            break
        level, attr, length = struct.unpack_from("<BII", data, at)
        start, at = at + 9, at + 9 + length + 2  # the value, then a checksum
        if at > len(data):
            raise _Unreadable("an attribute runs past the end")
        value = data[start : start + length]
        kind = attr & 0xFFFF
        if kind == _OEM_CODEPAGE and length >= 4:
            codepage = f"cp{struct.unpack_from('<I', value)[0]}"
        elif level == _LEVEL_ATTACHMENT and kind == _ATT_RENDDATA:
            if len(found) == MAX_FILES:
                break
            found.append({})
        elif level == _LEVEL_ATTACHMENT and found:
            if kind == _ATT_DATA:
                found[-1]["data"] = value
            elif kind == _ATT_TITLE:
                found[-1]["title"] = decode_bytes(value.split(b"\0", 1)[0], codepage)
            elif kind == _ATT_MAPI:
                found[-1].update(_mapi(value, codepage))
    files = []
    for f in found:
        content = f.get("data")
        if not isinstance(content, bytes) or not content:
            continue  # an embedded message or an OLE object: left to the raw message
        name = safe_filename(str(f.get("long") or f.get("title") or ""))
        tag = str(f.get("mime") or "").lower()
        kind_ = tag if _MIME_TYPE.fullmatch(tag) else mimetypes.guess_type(name)[0] or "application/octet-stream"
        files.append(Attachment(filename=name, content_type=kind_, data=content))
    return files


def _mapi(data: bytes, codepage: str) -> dict[str, str]:
    """The long file name and MIME type among an attachment's MAPI properties (MS-OXTNEF 2.1.3.4)."""
    out: dict[str, str] = {}
    (count,) = struct.unpack_from("<I", data, 0)
    at = 4
    for _ in range(min(count, MAX_ATTRIBUTES)):
        ptype, pid = struct.unpack_from("<HH", data, at)
        at += 4
        if pid >= 0x8000:  # a named property: its GUID, then a number or a name
            (named_kind,) = struct.unpack_from("<I", data, at + 16)
            at += 20
            if named_kind == 1:
                (n,) = struct.unpack_from("<I", data, at)
                at += 4 + _padded(n)
            else:
                at += 4
        multi, base = ptype & 0x1000, ptype & 0x0FFF
        if base in _FIXED:
            n = struct.unpack_from("<I", data, at)[0] if multi else 1
            at += (4 if multi else 0) + n * _FIXED[base]
            continue
        if base not in _VARIABLE:
            raise _Unreadable(f"MAPI type {ptype:#06x}")
        (n,) = struct.unpack_from("<I", data, at)
        at += 4
        for _ in range(min(n, MAX_ATTRIBUTES)):
            (size,) = struct.unpack_from("<I", data, at)
            value = data[at + 4 : at + 4 + size]
            at += 4 + _padded(size)
            if pid in (_PR_ATTACH_LONG_FILENAME, _PR_ATTACH_MIME_TAG) and base in (_PT_STRING8, _PT_UNICODE):
                text = value.decode("utf-16-le", "replace") if base == _PT_UNICODE else decode_bytes(value, codepage)
                out["long" if pid == _PR_ATTACH_LONG_FILENAME else "mime"] = text.split("\0", 1)[0].strip()
        if at > len(data):
            raise _Unreadable("a property runs past the end")
    return out


def _padded(n: int) -> int:
    return (n + 3) & ~3
