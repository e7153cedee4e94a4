"""Step 3, parse: files written into a text body, taken out of it.

A file uuencoded into the text (old mailers, mailx, Usenet gateways) and an
OpenPGP message encrypted into it inline (mutt, Enigmail's inline mode) are
files, not words: shown, each was a screenful of characters in the entry, its
snippet and the digest.
"""

from __future__ import annotations

import binascii
import re

__all__ = ["MAX_PGP_MESSAGES", "pgp_messages", "uuencoded_files"]

# "begin 644 name" … "end": a file uuencoded into a text body (old mailers, mailx, Usenet gateways)
_UUENCODED = re.compile(
    r"^begin [0-7]{3,4} ([^\n]{1,200})\n((?:[!-`][^\n]{0,100}\n){1,200000})`?\nend[ \t]*$", re.MULTILINE
)


def uuencoded_files(text: str) -> tuple[str, list[tuple[str, bytes]]]:
    """The text without its uuencoded files, and the files as (name as written, bytes).

    A block that does not decode stays in the text.
    """
    files: list[tuple[str, bytes]] = []
    if "begin " not in text:
        return text, files

    def take(m: re.Match[str]) -> str:
        try:
            data = b"".join(_uu_line(line) for line in m.group(2).splitlines())
        except (binascii.Error, ValueError):
            return m.group(0)
        files.append((m.group(1).strip(), data))
        return ""

    out = _UUENCODED.sub(take, text)
    return (out.strip("\n") if files else text), files


def _uu_line(line: str) -> bytes:
    """One uuencoded line; past the length its first character gives, what an encoder left
    (Lotus Notes pads with characters binascii calls trailing garbage) is dropped, as uudecode does."""
    try:
        return binascii.a2b_uu(line)
    except binascii.Error:
        count = (ord(line[0]) - 32) & 63 if line else 0  # bytes on the line
        return binascii.a2b_uu(line[: (count * 4 + 5) // 3])


MAX_PGP_MESSAGES = 20  # files taken out of one text; later armour stays text
_PGP_BEGIN = re.compile(r"^-----BEGIN PGP MESSAGE-----[ \t]*$", re.MULTILINE)
_PGP_END = re.compile(r"^-----END PGP MESSAGE-----[ \t]*(?:\n|\Z)(?:[ \t]*\n)*", re.MULTILINE)


def pgp_messages(text: str) -> tuple[str, list[bytes]]:
    """The text without the OpenPGP messages encrypted into it inline (mutt, Enigmail's
    inline mode), and each as its armour.

    Shown, the armour was a screenful of base64 in the entry, its snippet and the
    digest; as a file (encrypted.asc, as PGP/MIME sends it) the page says the
    message is encrypted, and a reader with the key can still open it. A quoted
    armour ("> -----BEGIN …") is history and stays. One pass: each END line
    closes the nearest BEGIN line above it, and a BEGIN with no END below stops the search.
    """
    found: list[bytes] = []
    if "-----BEGIN PGP MESSAGE-----" not in text:
        return text, found
    kept: list[str] = []
    pos = 0
    while len(found) < MAX_PGP_MESSAGES and (begin := _PGP_BEGIN.search(text, pos)) is not None:
        end = _PGP_END.search(text, begin.end())
        if end is None:
            break
        while (nearer := _PGP_BEGIN.search(text, begin.end(), end.start())) is not None:
            begin = nearer
        kept.append(text[pos : begin.start()])
        found.append(text[begin.start() : end.end()].rstrip().encode("ascii", "replace") + b"\n")
        pos = end.end()
    if not found:
        return text, found
    return ("".join(kept) + text[pos:]).strip("\n"), found
