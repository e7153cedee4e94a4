"""Import, reading: a Maildir tree, or any folder of message files or mbox files, a file at a time.

Thunderbird's Local Folders (an mbox a folder), Apple Mail's .emlx files,
Maildir files Dovecot keeps compressed and MH folders are read too. Files flagged
trashed or draft, MH's deleted ones, files that are no mail (a README, Apple's
Info.plist) and Maildir++ folders (".Sent", ".Trash") are left out and named.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from gateway.ingest.delivered import maildir_time
from gateway.ingest.mbox import mbox_messages, mbox_shape
from gateway.ingest.reading import (
    COMPRESSED,
    DAMAGED,
    HEAD,
    MAX_UNCOMPRESSED,
    ImportError_,
    Read,
    counted,
    looks_like_mail,
    peek,
)

# Files a mail server keeps beside the messages in a Maildir (Dovecot, Courier, notmuch).
_NOT_MAIL = ("dovecot", "courier", "maildirfolder", "subscriptions", "maildirsize", "xapian")
_MAILDIR_SKIP = re.compile(r":2,[A-Za-z]*[TD]")  # Maildir's info flags: T trashed, D draft
_MH_DELETED = re.compile(r",[0-9]+")  # MH's rmm renames message 5 to ",5" until it is purged
# Files plainly no mail by their name, met in folders exported or copied from a desktop: Windows'
# thumbnail cache and folder settings, Apple Mail's mailbox properties and index, an exporter's notes
# and folder list, a web archive's pages
_NO_MAIL_NAMES = frozenset({"thumbs.db", "desktop.ini", "info.plist", "table_of_contents"})
_NO_MAIL_SUFFIXES = (".json", ".plist", ".db", ".ini", ".csv", ".html", ".htm", ".pdf", ".md")
_OUTLOOK = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"!BDN")  # .msg, .pst: quarantined, parse names them


@dataclass
class _LeftOut:
    """The files of a folder left out on purpose, for the import's summary to name."""

    flagged: int = 0
    mh_deleted: int = 0
    by_name: list[str] = field(default_factory=list)
    by_bytes: list[str] = field(default_factory=list)

    def on_sight(self, f: Path, root: Path) -> bool:
        """Whether `f` is left out by its name alone (no need to read it)."""
        name = f.name.lower()
        if _MAILDIR_SKIP.search(f.name):
            self.flagged += 1
        elif _MH_DELETED.fullmatch(name):
            self.mh_deleted += 1
        elif name in _NO_MAIL_NAMES or name.endswith(_NO_MAIL_SUFFIXES) or name.startswith("readme"):
            self.by_name.append(str(f.relative_to(root)))
        else:
            return False
        return True

    def lines(self, root: Path) -> list[str]:
        found = []
        if self.flagged:
            found.append(f"{root}: {counted(self.flagged)} flagged trashed (T) or draft (D)")
        if self.mh_deleted:
            found.append(f"{root}: {counted(self.mh_deleted)} MH marked deleted (files named ,N until purged)")
        if self.by_name:
            found.append(f"{root}: {_files(self.by_name)} that are no mail, by their name ({_shown(self.by_name)})")
        if self.by_bytes:
            shown = _shown(self.by_bytes)
            found.append(f"{root}: {_files(self.by_bytes)} that do not start as mail does, with its header ({shown})")
        return found


def _files(names: list[str]) -> str:
    return "1 file" if len(names) == 1 else f"{len(names)} files"


def _shown(names: list[str]) -> str:
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def maildir_messages(root: Path, files: list[Path], skipped: list[str]) -> Iterator[Read]:
    """Each file's bytes and when it was delivered. One gone since the listing (a running server
    moved it from new/ to cur/) or unreadable does not stop the others: the error names it once
    they are read. A file that is an mbox (a folder of Thunderbird's Local Folders, a month of
    Mailman's archive, compressed or not) gives its messages.

    Left out, and counted or named in `skipped`: a file flagged trashed (T, deleted but not yet
    expunged) or draft (D); one MH's rmm deleted (",5": MH keeps it only until it is purged, as
    Thunderbird keeps its deleted messages until compaction, so it is counted as those are); one
    that is no mail by its name (Thumbs.db, Info.plist) or by its first bytes (a README, a JSON
    folder list): quarantined, they filled the quarantine, and a text file that happened to parse
    was posted. Outlook's .msg and .pst files are kept as they were: quarantined, parse names them.
    """
    missed: list[str] = []
    units = 0
    left = _LeftOut()
    for f in files:
        units += 1
        if left.on_sight(f, root):
            continue
        try:
            kind, opener, head = peek(f, HEAD)
            shape = mbox_shape(head)
            if shape is not None:
                for r in mbox_messages(f, kind, opener, skipped, shape):
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
        if not looks_like_mail(data) and not data.startswith(_OUTLOOK):
            left.by_bytes.append(str(f.relative_to(root)))
            continue
        yield Read(str(f), data, units, delivered)
        units = 0
    skipped.extend(left.lines(root))
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
