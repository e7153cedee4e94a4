"""Step 3, parse: the message inside an opaque S/MIME signature, so a post shows what its author wrote.

A client that signs "opaquely" (Outlook with clear-text signing turned off,
some phones) sends the whole message inside the signature's own structure
(RFC 8551 3.5.2: application/pkcs7-mime; smime-type=signed-data, a CMS
SignedData). Unread, the post was empty. This takes the content out of the
BER structure, in one bounded walk; the signature is not checked (mailfeed
judges senders by DKIM, SPF and DMARC). Encrypted mail (enveloped-data) has
no content to take: it stays as it came.
"""

from __future__ import annotations

import re

from gateway.parse_headers import HEADER_FIELD

_SIGNED_DATA = bytes.fromhex("2a864886f70d010702")  # OID 1.2.840.113549.1.7.2
_SEQUENCE, _OCTET_STRING, _OID, _CONTEXT_0 = 0x30, 0x04, 0x06, 0xA0
MAX_DEPTH = 16
_CONTENT_FIELDS = re.compile(
    rb"^content-(?:type|transfer-encoding|disposition|description)[ \t]*:[^\n]*\n(?:[ \t][^\n]*\n)*",
    re.IGNORECASE | re.MULTILINE,
)


_PKCS7 = re.compile(rb"pkcs7-mime", re.IGNORECASE)


class _Bad(Exception):
    pass


def opaque_signed(raw: bytes, end: int) -> bool:
    """Whether a message's header block (up to `end`) says its body is an opaque S/MIME signature."""
    return _PKCS7.search(raw, 0, end) is not None and b"signed-data" in raw[:end].lower()


def unwrapped(head: bytes, der: bytes) -> bytes | None:
    """The message with the signed entity in place of its signature: its own header block, less its
    Content-* fields, above the entity's. None when `der` holds no signed content."""
    entity = signed_content(der)
    if entity is None:
        return None
    newline = b"\r\n" if b"\r\n" in head else b"\n"
    kept = _CONTENT_FIELDS.sub(b"", head.replace(b"\r\n", b"\n")).replace(b"\n", newline)
    entity = entity.lstrip(b"\r\n")
    if not HEADER_FIELD.match(entity):  # content without a header block of its own: it is the body
        entity = newline + entity
    return kept.rstrip(b"\r\n") + newline + entity


def signed_content(der: bytes) -> bytes | None:
    """The content of a CMS SignedData (RFC 5652 5.1): ContentInfo { signedData, [0] SignedData {
    version, digestAlgorithms, encapContentInfo { type, [0] OCTET STRING }, … } }."""
    try:
        tag, start, end, _ = _element(der, 0, 0)
        info = _children(der, start, end, 1)
        if tag != _SEQUENCE or len(info) < 2 or info[0][0] != _OID or der[info[0][1] : info[0][2]] != _SIGNED_DATA:
            return None
        signed = _only(der, info[1], _SEQUENCE, 2)
        parts = _children(der, signed[1], signed[2], 3)
        if len(parts) < 3 or parts[2][0] != _SEQUENCE:
            return None
        encap = _children(der, parts[2][1], parts[2][2], 4)
        if len(encap) < 2 or encap[1][0] != _CONTEXT_0:
            return None
        octets = _only(der, encap[1], None, 5)
        return _octets(der, octets, 6)
    except (_Bad, IndexError):
        return None


def _only(data: bytes, element: tuple[int, int, int], tag: int | None, depth: int) -> tuple[int, int, int]:
    """The one element inside an [0] EXPLICIT wrapper."""
    if element[0] != _CONTEXT_0:
        raise _Bad("no [0]")
    inner = _children(data, element[1], element[2], depth)
    if not inner or (tag is not None and inner[0][0] != tag):
        raise _Bad("unexpected element")
    return inner[0]


def _octets(data: bytes, element: tuple[int, int, int], depth: int) -> bytes:
    """An OCTET STRING's bytes, also when BER cut it into constructed chunks (as streaming signers do)."""
    tag, start, end = element
    if tag == _OCTET_STRING:
        return data[start:end]
    if tag != _OCTET_STRING | 0x20 or depth > MAX_DEPTH:
        raise _Bad("no OCTET STRING")
    return b"".join(_octets(data, chunk, depth + 1) for chunk in _children(data, start, end, depth + 1))


def _children(data: bytes, start: int, end: int, depth: int) -> list[tuple[int, int, int]]:
    """(tag, content start, content end) of each element from `start` to `end` (or to an end-of-contents)."""
    out = []
    at = start
    while at < end and data[at : at + 2] != b"\0\0":
        tag, s, e, at = _element(data, at, depth)
        out.append((tag, s, e))
    return out


def _element(data: bytes, at: int, depth: int) -> tuple[int, int, int, int]:
    """(tag, content start, content end, where the next element starts) of the BER element at `at`."""
    if depth > MAX_DEPTH:
        raise _Bad("nested too deep")
    tag = data[at]
    if tag & 0x1F == 0x1F:
        raise _Bad("a multi-byte tag")  # none in SignedData's path
    first = data[at + 1]
    at += 2
    if first == 0x80:  # indefinite length: constructed, up to an end-of-contents (00 00)
        if not tag & 0x20:
            raise _Bad("indefinite primitive")
        inner = at
        while data[inner : inner + 2] != b"\0\0":
            inner = _element(data, inner, depth + 1)[3]
            if inner >= len(data):
                raise _Bad("no end-of-contents")
        return tag, at, inner, inner + 2
    if first & 0x80:
        n = first & 0x7F
        if not 1 <= n <= 4:
            raise _Bad("length of length")
        length = int.from_bytes(data[at : at + n], "big")
        at += n
    else:
        length = first
    if at + length > len(data):
        raise _Bad("runs past the end")
    return tag, at, at + length, at + length
