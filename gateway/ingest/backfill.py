"""Import, storing: the messages an archive reader gives, stored raw and processed as they come.

Messages are read one at a time (memory stays flat on big archives), stored raw
in batches, and processed like mail that came by SMTP while the next batches are
read (ingest/drain.py). Re-running an import stores nothing twice: the same
bytes for a feed are one raw row, and the same Message-ID is one entry.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from gateway.config import Settings
from gateway.ingest.drain import Drain
from gateway.ingest.reading import ImportError_, Read
from gateway.limits import limits_of
from gateway.pipeline import Mapper, Rejected, precheck
from gateway.store import writes
from gateway.store.db import Store

BATCH = 256
AHEAD = 2 * BATCH  # messages stored but not yet processed, at most, before reading on


@dataclass
class ImportSummary:
    read: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    refused: list[str] = field(default_factory=list)
    stopped: str = ""  # why reading ended early (a damaged or unreadable file); what was read is imported

    @property
    def imported(self) -> int:
        return self.counts["posted"]


def import_archive(
    *,
    store: Store,
    settings: Settings,
    feed_id: int,
    messages: Iterator[Read],
    run: Mapper = map,
    progress: Callable[[int], None] = lambda n: None,
) -> ImportSummary:
    """Store and process every message; refusals (too big, empty) are listed, not fatal.

    A damaged compressed archive ends the reading there (`summary.stopped`
    says where); everything read before it is stored and processed.

    Reading and storing go on in this thread while a Drain processes what is
    stored, at most AHEAD messages behind.
    """
    summary = ImportSummary()
    batch: list[writes.NewRaw] = []
    advance = stored = 0
    limits = limits_of(settings)
    drain = Drain(store, settings, run)
    try:
        try:
            for where, data, units, delivered in messages:
                summary.read += 1
                advance += units
                try:
                    precheck(data, max_bytes=settings.max_message_bytes, limits=limits)
                except Rejected as exc:
                    summary.refused.append(f"{where}: {exc.reply}")
                    summary.counts["refused"] += 1
                    continue
                batch.append(writes.NewRaw(feed_id, data, "import", delivered_at=delivered))
                if len(batch) >= BATCH:
                    stored += _store_batch(store, batch, drain)
                    progress(advance)
                    advance = 0
        except ImportError_ as exc:  # the archive is damaged here: what came before it still goes in
            summary.stopped = str(exc)
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
