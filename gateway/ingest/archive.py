"""Import, reading: what a path given to `mailfeed import` is, and its messages, one at a time.

An mbox file (mbox.py), a Maildir tree or a folder of message files
(maildir.py), Apple Mail's exported "Name.mbox/" folder, or one message file;
ingest/backfill.py stores and processes the messages as they are read. Files
that are no mail (Outlook's, zip and tar archives, zstd-compressed ones) are
refused, saying what to do with them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gateway.ingest.maildir import emlx_message, maildir_files, maildir_folders, maildir_messages
from gateway.ingest.mbox import mbox_messages, mbox_shape
from gateway.ingest.reading import DAMAGED, HEAD, MAX_UNCOMPRESSED, ImportError_, Opener, Read, looks_like_mail, peek


@dataclass
class Archive:
    """Messages to import, the progress units in all (`unit`: what they count), and what is
    left out on purpose, for the summary to say (`skipped`)."""

    total: int
    unit: str
    messages: Iterator[Read]
    skipped: list[str] = field(default_factory=list)


def open_archive(path: Path) -> Archive:
    """An mbox file (progress in bytes), a Maildir tree (progress in messages), or one message file.

    A directory that holds a file named "mbox" and no Maildir is Apple Mail's
    export ("Team.mbox/", with "Info.plist" or "table_of_contents" beside the mbox): its mbox is read,
    and those of the mailboxes inside it. A file that starts as a message does (an .eml saved from a
    mail client) is that one message. Outlook's own files are refused, saying how to convert them.
    """
    if path.is_dir():
        if (path / "mbox").is_file() and not any((path / d).is_dir() for d in ("cur", "new")):
            return _apple_export(path)
        files = sorted(maildir_files(path))
        left_out = maildir_folders(path)
        return Archive(len(files), "messages", maildir_messages(path, files, left_out), left_out)
    if not path.is_file():
        try:
            path.stat()
        except OSError as exc:  # a symlink loop, a directory it may not enter: said as the system says it
            raise ImportError_(f"{path}: {(exc.strerror or 'cannot be read').lower()}") from None
        raise ImportError_(f"{path}: no such file or directory")
    size = path.stat().st_size
    if size == 0:  # an empty mailbox (a folder with no mail yet): nothing to import, said so
        return Archive(0, "bytes", iter(()), [f"{path}: an empty file, no messages"])
    kind, opener, head = peek(path, HEAD)
    shape = mbox_shape(head)
    if shape is not None:
        expunged: list[str] = []
        return Archive(size, "bytes", mbox_messages(path, kind, opener, expunged, shape), expunged)
    if looks_like_mail(emlx_message(head, whole=False)):
        return Archive(size, "bytes", _one_message(path, kind, opener, size))
    if head.startswith(_PST):
        raise ImportError_(
            f"{path}: an Outlook data file (.pst), not an mbox: convert it first with readpst "
            "(Debian package pst-utils), which writes a folder's messages as an mbox file"
        )
    if head.startswith(_OLE2):
        raise ImportError_(
            f"{path}: an Outlook message file (.msg), not MIME mail: save it from Outlook as .eml, "
            "or convert it with msgconvert (Debian package libemail-outlook-message-perl)"
        )
    if head.startswith(b"PK\x03\x04") or head[257:262] == b"ustar":
        container = "zip" if head.startswith(b"PK") else f"{kind} tar" if kind else "tar"
        raise ImportError_(
            f"{path}: a {container} archive (as webmail exports folders), not an mbox: unpack it and import "
            "the files or the folder it holds"
        )
    what = f"once uncompressed ({kind}), it does not start" if kind else "it does not start"
    raise ImportError_(
        f"{path}: not an mbox file ({what} with a 'From ' line), not a message file and not a Maildir directory"
    )


_PST = b"!BDN"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _apple_export(path: Path) -> Archive:
    """Apple Mail's "Export Mailbox…" of a mailbox with mailboxes inside it writes each as a "Sub.mbox/"
    folder, nested as they were, inside "Team.mbox/" beside its own mbox: every one is read, the
    outer mailbox first (reading only the outer one left the others out without a word)."""
    boxes = sorted((f for f in maildir_files(path) if f.name == "mbox"), key=lambda f: (len(f.parts), f))
    return open_archives(boxes)


def _one_message(path: Path, kind: str, opener: Opener | None, size: int) -> Iterator[Read]:
    with path.open("rb") as fh, opener(fh) if opener else fh as stream:
        try:
            data = stream.read(MAX_UNCOMPRESSED + 1) if opener else stream.read()
        except DAMAGED as exc:
            problem = f"the {kind} data is damaged or cut short" if opener else "cannot be read"
            raise ImportError_(f"{path}: {problem} ({exc})") from None
    if len(data) > MAX_UNCOMPRESSED and opener:
        limit = MAX_UNCOMPRESSED >> 20
        raise ImportError_(f"{path}: more than {limit} MB once uncompressed ({kind}), which no mail is")
    yield Read(str(path), emlx_message(data), size)


def open_archives(paths: Sequence[Path]) -> Archive:
    """Several archives imported as one (Mailman keeps one file a month), each checked before any is read.

    One that turns out damaged ends only its own reading: the others are read,
    then the error names every damaged one.
    """
    archives = [open_archive(p) for p in paths]
    if len(archives) == 1:
        return archives[0]

    skipped: list[str] = []  # filled once all are read: an mbox counts what it left out as it reads

    def messages() -> Iterator[Read]:
        damaged = []
        try:
            for archive in archives:
                try:
                    yield from archive.messages
                except ImportError_ as exc:
                    damaged.append(str(exc))
        finally:
            skipped.extend(s for a in archives for s in a.skipped)
        if damaged:
            raise ImportError_("; ".join(damaged))

    return Archive(
        sum(a.total for a in archives), " and ".join(sorted({a.unit for a in archives})), messages(), skipped
    )
