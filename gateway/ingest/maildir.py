"""Import, reading: a Maildir tree, or any folder of message files or mbox files, a file at a time.

Thunderbird's Local Folders (an mbox a folder), Apple Mail's .emlx files and
Maildir files Dovecot keeps compressed are read too. Files flagged trashed or
draft, and Maildir++ folders (".Sent", ".Trash"), are left out and named.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from pathlib import Path

from gateway.ingest.delivered import maildir_time
from gateway.ingest.mbox import mbox_messages
from gateway.ingest.reading import COMPRESSED, DAMAGED, MAX_UNCOMPRESSED, ImportError_, Read, counted, peek

# Files a mail server keeps beside the messages in a Maildir (Dovecot, Courier, notmuch).
_NOT_MAIL = ("dovecot", "courier", "maildirfolder", "subscriptions", "maildirsize", "xapian")
_MAILDIR_SKIP = re.compile(r":2,[A-Za-z]*[TD]")  # Maildir's info flags: T trashed, D draft


def maildir_messages(root: Path, files: list[Path], skipped: list[str]) -> Iterator[Read]:
    """Each file's bytes and when it was delivered. One gone since the listing (a running server
    moved it from new/ to cur/) or unreadable does not stop the others: the error names it once
    they are read. A file that is an mbox (a folder of Thunderbird's Local Folders, a month of
    Mailman's archive, compressed or not) gives its messages.
    A file flagged trashed (T, deleted but not yet expunged) or draft (D) is no message to post."""
    missed: list[str] = []
    units = 0
    flagged = 0
    for f in files:
        units += 1
        if _MAILDIR_SKIP.search(f.name):
            flagged += 1
            continue
        try:
            kind, opener, head = peek(f, 5)
            if head == b"From ":
                for r in mbox_messages(f, kind, opener, skipped):
                    yield r._replace(units=units)
                    units = 0
                continue
            data = _uncompressed(f.read_bytes())
            if f.suffix == ".emlx":
                data = emlx_message(data)
            delivered = maildir_time(f)
        except DAMAGED as exc:  # OSError: gone or unreadable; the others: a compressed file damaged
            missed.append(f"{f.relative_to(root)} ({getattr(exc, 'strerror', None) or exc})")
            continue
        except ImportError_ as exc:  # an mbox among the files, damaged: what came before its damage is in
            missed.append(str(exc).removeprefix(f"{root}/"))
            continue
        yield Read(str(f), data, units, delivered)
        units = 0
    if flagged:
        skipped.append(f"{root}: {counted(flagged)} flagged trashed (T) or draft (D)")
    if missed:
        shown = ", ".join(missed[:3]) + (f" and {len(missed) - 3} more" if len(missed) > 3 else "")
        raise ImportError_(
            f"{root}: {len(missed)} of its files could not be read: {shown}; importing the "
            "Maildir again takes those still there"
        )


def _uncompressed(data: bytes) -> bytes:
    """A Maildir file as its message: Dovecot's mail_compress plugin keeps them gzip-, bzip2- or xz-compressed."""
    for magic, _, opener in COMPRESSED:
        if data.startswith(magic):
            with opener(io.BytesIO(data)) as inner:  # type: ignore[arg-type]
                message = inner.read(MAX_UNCOMPRESSED + 1)
            if len(message) > MAX_UNCOMPRESSED:
                raise EOFError(f"more than {MAX_UNCOMPRESSED >> 20} MB once uncompressed")
            return message
    return data


def emlx_message(data: bytes, whole: bool = True) -> bytes:
    """The message in an Apple Mail .emlx file: its first line counts the message's bytes, and
    Apple's own properties (a plist) follow them. A file that does not start so is taken whole.
    `whole`: `data` is the file's, not only its first bytes."""
    count, newline, rest = data.partition(b"\n")
    if not newline or not count.strip().isdigit() or len(count) > 12:
        return data
    return rest[: int(count)] if whole else rest


def maildir_folders(root: Path) -> list[str]:
    """The Maildir++ folders beside a Maildir's own messages (".Sent", ".Trash"): not imported unless named."""
    found = sorted(d.name for d in root.iterdir() if d.name.startswith(".") and (d / "cur").is_dir())
    if not found:
        return []
    shown = ", ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")
    return [f"{root}: its Maildir++ folders {shown} (import a folder by its own path, e.g. {root / found[0]})"]


def maildir_files(root: Path) -> Iterator[Path]:
    """Every message file below `root`, skipping tmp/ (mid-delivery), dotfiles and server metadata.

    A folder that cannot be listed (a Maildir owned by the mail server's user) is an ImportError_
    naming it: walked past in silence, its messages were left out of an import that said it was whole.
    """

    def unreadable(exc: OSError) -> None:
        raise ImportError_(f"{exc.filename}: cannot be read ({exc.strerror}); nothing was imported") from None

    for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable):
        dirnames[:] = [d for d in dirnames if d != "tmp" and not d.startswith(".")]
        for name in filenames:
            if name.startswith(".") or name.lower().startswith(_NOT_MAIL) or name.lower().endswith(".msf"):
                continue  # .msf: Thunderbird's index of the mbox beside it
            yield Path(dirpath) / name
