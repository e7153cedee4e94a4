"""Import: an mbox file or a Maildir tree, back-filled through the same pipeline.

Messages are read one at a time (memory stays flat on big archives), stored raw
in batches, and processed like mail that came by SMTP while the next batches are
read (ingest/drain.py). Re-running an import stores nothing twice: the same
bytes for a feed are one raw row, and the same Message-ID is one entry.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from gateway.config import Settings
from gateway.limits import limits_of
from gateway.ingest.drain import Drain
from gateway.pipeline import Mapper, Rejected, precheck
from gateway.store import writes
from gateway.store.db import Store

BATCH = 256
AHEAD = 2 * BATCH  # messages stored but not yet processed, at most, before reading on
# Files a mail server keeps beside the messages in a Maildir (Dovecot, Courier, notmuch).
_NOT_MAIL = ("dovecot", "courier", "maildirfolder", "subscriptions", "maildirsize", "xapian")


class ImportError_(Exception):
    """The path is not something mailfeed can import; the message names it and why."""


@dataclass
class ImportSummary:
    read: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    refused: list[str] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return self.counts["posted"]


@dataclass
class Archive:
    """Messages to import as (where, bytes, progress units), and the units in all."""

    total: int
    unit: str
    messages: Iterator[tuple[str, bytes, int]]


def open_archive(path: Path) -> Archive:
    """An mbox file (progress in bytes) or a Maildir tree (progress in messages)."""
    if path.is_dir():
        files = sorted(_maildir_files(path))
        return Archive(len(files), "messages", ((str(f), f.read_bytes(), 1) for f in files))
    if not path.is_file():
        raise ImportError_(f"{path}: no such file or directory")
    with path.open("rb") as fh:
        head = fh.read(5)
    if head != b"From ":
        raise ImportError_(f"{path}: not an mbox file (it does not start with a 'From ' line) and not a Maildir directory")
    return Archive(path.stat().st_size, "bytes", _mbox_messages(path))


def _mbox_messages(path: Path) -> Iterator[tuple[str, bytes, int]]:
    """Split an mbox in one streaming pass: a message starts at each line beginning "From ".

    The From_ line itself and the blank line that separates messages are not
    part of the message. Lines are kept as they are (no >From unquoting).
    """
    n = 0
    lines: list[bytes] = []
    consumed = 0
    with path.open("rb") as fh:
        for line in fh:
            if line.startswith(b"From ") and (not lines or lines[-1] in (b"\n", b"\r\n")):
                if n:
                    yield f"{path}#{n}", _message(lines), consumed
                    consumed = 0
                n += 1
                lines = []
                consumed += len(line)
                continue
            lines.append(line)
            consumed += len(line)
    if n:
        yield f"{path}#{n}", _message(lines), consumed


def _message(lines: list[bytes]) -> bytes:
    if lines and lines[-1] in (b"\n", b"\r\n"):
        lines = lines[:-1]
    return b"".join(lines)


def _maildir_files(root: Path) -> Iterator[Path]:
    """Every message file below `root`, skipping tmp/ (mid-delivery), dotfiles and server metadata."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != "tmp" and not d.startswith(".")]
        for name in filenames:
            if name.startswith(".") or name.lower().startswith(_NOT_MAIL):
                continue
            yield Path(dirpath) / name


def import_archive(
    *,
    store: Store,
    settings: Settings,
    feed_id: int,
    messages: Iterator[tuple[str, bytes, int]],
    run: Mapper = map,
    progress: Callable[[int], None] = lambda n: None,
) -> ImportSummary:
    """Store and process every message; refusals (too big, empty) are listed, not fatal.

    Reading and storing go on in this thread while a Drain processes what is
    stored, at most AHEAD messages behind.
    """
    summary = ImportSummary()
    batch: list[writes.NewRaw] = []
    advance = stored = 0
    limits = limits_of(settings)
    drain = Drain(store, settings, run)
    try:
        for where, data, units in messages:
            summary.read += 1
            advance += units
            try:
                precheck(data, max_bytes=settings.max_message_bytes, limits=limits)
            except Rejected as exc:
                summary.refused.append(f"{where}: {exc.reply}")
                summary.counts["refused"] += 1
                continue
            batch.append(writes.NewRaw(feed_id, data, "import"))
            if len(batch) >= BATCH:
                stored += _store_batch(store, batch, drain)
                progress(advance)
                advance = 0
        stored += _store_batch(store, batch, drain)
        progress(advance)
    finally:
        counts = drain.finish()
    # Bytes stored before (an import run again) never became pending: duplicates.
    counts["duplicate"] += max(0, stored - sum(counts.values()))
    summary.counts.update(counts)
    return summary


def _store_batch(store: Store, batch: list[writes.NewRaw], drain: Drain) -> int:
    """Commit the batch's raw rows, once processing is no more than AHEAD behind; hand them to the drain."""
    if not batch:
        return 0
    drain.wait_below(AHEAD)
    with store.write() as session, session.begin():
        writes.save_raw(session=session, items=batch)
    drain.wake()
    n = len(batch)
    batch.clear()
    return n
