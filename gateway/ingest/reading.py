"""Import, reading: what every archive reader shares (mbox.py, maildir.py, archive.py).

A message read, the error that names a path and why it cannot be read, the
compressions an archive may come in (known by their first bytes, not the
name), the bound on one message's size, and what tells a message file.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import re
import zlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from gateway.parse_headers import HEADER_FIELD


class ImportError_(Exception):
    """A path mailfeed cannot import, or could read only in part; the message names it and why."""


Opener = Callable[[io.BufferedReader], io.BufferedIOBase]
# (first bytes, name, reader over the file's bytes)
COMPRESSED: tuple[tuple[bytes, str, Opener], ...] = (
    (b"\x1f\x8b", "gzip", lambda fh: gzip.GzipFile(fileobj=fh)),
    (b"BZh", "bzip2", bz2.BZ2File),
    (b"\xfd7zXZ\x00", "xz", lzma.LZMAFile),
)
DAMAGED = (OSError, EOFError, lzma.LZMAError, zlib.error)  # what the three readers raise on bad data
ZSTD = b"\x28\xb5\x2f\xfd"  # zstd's frame magic: no stdlib reader before Python 3.14, and mailfeed adds none
HEAD = 4096  # enough of a file's first bytes to tell what it is


class Read(NamedTuple):
    """One message read from an archive: where it is, its bytes, the progress it makes, and
    when the mailbox got it (its From_ line's date, its Maildir name's time) if that is known."""

    where: str
    data: bytes
    units: int
    delivered: datetime | None = None


# One message longer than this is no mail: a damaged file, or a decompression bomb. Reading it
# whole would take the machine's memory; an mbox, a Maildir file or a message file stops there.
MAX_UNCOMPRESSED = 256 << 20


def peek(path: Path, size: int) -> tuple[str, Opener | None, bytes]:
    """(compression, its reader, the first `size` bytes once uncompressed) of a file; ImportError_
    when it looks compressed and cannot be uncompressed."""
    with path.open("rb") as fh:
        magic = fh.read(max(6, size))
    if magic.startswith(ZSTD):
        raise ImportError_(
            f"{path}: zstd-compressed, which mailfeed does not read: decompress it first with `zstd -d`, "
            "then import the file that writes"
        )
    kind, opener = next(((name, o) for m, name, o in COMPRESSED if magic.startswith(m)), ("", None))
    if opener is None:
        return kind, None, magic[:size]
    try:
        with path.open("rb") as fh, opener(fh) as stream:
            return kind, opener, stream.read(size)
    except DAMAGED as exc:
        raise ImportError_(f"{path}: looks {kind}-compressed, but cannot be uncompressed ({exc})") from None


def counted(n: int) -> str:
    """How many messages, in words: "1 message", "2 messages"."""
    return f"{n} message" if n == 1 else f"{n} messages"


# fields every mail client and server writes; a text file's "Note: …" first line is none of them
_MAIL_FIELD = re.compile(
    rb"^(?:from|date|message-id|subject|received|return-path|mime-version|delivered-to|to):",
    re.IGNORECASE | re.MULTILINE,
)
_HEADER_LOOK = 64 << 10  # how far into a file its header block is looked for


def looks_like_mail(data: bytes) -> bool:
    """Whether `data` starts with a header block that holds a field mail has. Cheap enough for every
    message: the searches stop at the header block's end, and at _HEADER_LOOK without one."""
    if not HEADER_FIELD.match(data):
        return False
    lf = data.find(b"\n\n", 0, _HEADER_LOOK)  # "\n\r\n" then only above it: a body is not searched twice
    crlf = data.find(b"\n\r\n", 0, lf if lf >= 0 else _HEADER_LOOK)
    end = crlf if crlf >= 0 else lf if lf >= 0 else _HEADER_LOOK
    return _MAIL_FIELD.search(data, 0, end) is not None
