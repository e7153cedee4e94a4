"""Import: an mbox file or a Maildir tree, back-filled through the same pipeline.

Messages are read one at a time (memory stays flat on big archives), stored raw
in batches, then processed like mail that came by SMTP. Re-running an import
stores nothing twice: the same bytes for a feed are one raw row, and the same
Message-ID is one entry.
"""

from __future__ import annotations

import mailbox
import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from gateway.config import Settings
from gateway.pipeline import Mapper, Rejected, precheck, process_pending
from gateway.store import writes
from gateway.store.db import Store

BATCH = 256
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


def open_archive(path: Path) -> tuple[int, Iterator[tuple[str, bytes]]]:
    """(message count, iterator of (where, bytes)) for an mbox file or a Maildir tree."""
    if path.is_dir():
        files = sorted(_maildir_files(path))
        return len(files), ((str(f), f.read_bytes()) for f in files)
    if not path.is_file():
        raise ImportError_(f"{path}: no such file or directory")
    with path.open("rb") as fh:
        head = fh.read(5)
    if head != b"From ":
        raise ImportError_(f"{path}: not an mbox file (it does not start with a 'From ' line) and not a Maildir directory")
    box = mailbox.mbox(path, create=False)
    keys = box.keys()
    return len(keys), ((f"{path}#{i}", box.get_bytes(k)) for i, k in enumerate(keys, 1))


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
    messages: Iterator[tuple[str, bytes]],
    run: Mapper = map,
    progress: Callable[[int], None] = lambda n: None,
) -> ImportSummary:
    """Store and process every message; refusals (too big, empty) are listed, not fatal."""
    summary = ImportSummary()
    batch: list[writes.NewRaw] = []
    for where, data in messages:
        summary.read += 1
        try:
            precheck(data, max_bytes=settings.max_message_bytes)
        except Rejected as exc:
            summary.refused.append(f"{where}: {exc.reply}")
            summary.counts["refused"] += 1
            progress(1)
            continue
        batch.append(writes.NewRaw(feed_id, data, "import"))
        if len(batch) >= BATCH:
            _flush(store, settings, batch, run, summary, progress)
    _flush(store, settings, batch, run, summary, progress)
    return summary


def _flush(store: Store, settings: Settings, batch: list[writes.NewRaw], run: Mapper,
           summary: ImportSummary, progress: Callable[[int], None]) -> None:
    if not batch:
        return
    with store.write() as session, session.begin():
        writes.save_raw(session=session, items=batch)
    n = len(batch)
    batch.clear()
    counts = process_pending(store=store, settings=settings, run=run, batch=n)
    # Bytes stored before (an import run again) are not pending: duplicates.
    counts["duplicate"] += max(0, n - sum(counts.values()))
    summary.counts.update(counts)
    progress(n)
