"""Import, storing: the messages an archive reader gives, stored raw and processed as they come.

Messages are read one at a time (memory stays flat on big archives), stored raw
in batches, and processed like mail that came by SMTP while the next batches are
read (ingest/drain.py). Re-running an import stores nothing twice: the same
bytes for a feed are one raw row, and the same Message-ID is one entry.

The counts are the final statuses of the rows the import stored, read once at
the end: a running `mailfeed serve` processes pending rows too, and a row it
commits first is one the import's own processor skips.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from gateway.config import Settings
from gateway.ingest.drain import SETTLE_SECONDS, Drain, outcomes, pending_of
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
    pending: int = 0  # stored, but still pending when counted: another processor (a running serve) holds them

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
    wait: float = SETTLE_SECONDS,
) -> ImportSummary:
    """Store and process every message; refusals (too big, empty) are listed, not fatal.

    A damaged compressed archive ends the reading there (`summary.stopped`
    says where); everything read before it is stored and processed.

    Reading and storing go on in this thread while a Drain processes what is
    stored, at most AHEAD messages behind. The counts are what became of the
    rows the import made pending (`drain.outcomes`, waiting up to `wait` seconds
    for rows another processor still holds; `summary.pending` counts those left).
    """
    summary = ImportSummary()
    batch: list[writes.NewRaw] = []
    advance = stored = 0
    mine: set[int] = set()  # raw rows this import made pending, each counted once by its final status
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
                    stored += _store_batch(store, batch, drain, mine)
                    progress(advance)
                    advance = 0
        except ImportError_ as exc:  # the archive is damaged here: what came before it still goes in
            summary.stopped = str(exc)
        stored += _store_batch(store, batch, drain, mine)
        progress(advance)
    finally:
        drain.finish()
    counts, summary.pending = outcomes(store, mine, wait=wait)
    # Bytes stored before (an import run again, or twice in this one) never became pending: duplicates.
    counts["duplicate"] += stored - len(mine)
    summary.counts.update(counts)
    return summary


def _store_batch(store: Store, batch: list[writes.NewRaw], drain: Drain, mine: set[int]) -> int:
    """Commit the batch's raw rows, once processing is no more than AHEAD behind; hand them to the drain.

    The rows pending once saved, read in the same transaction (before any processor can take
    them), join `mine`: new rows, and rows of the same bytes stored before but not yet processed.
    """
    if not batch:
        return 0
    drain.wait_below(AHEAD)
    with store.write() as session, session.begin():
        ids = writes.save_raw(session=session, items=batch)
        fresh = [i for i in dict.fromkeys(ids) if i not in mine]
        if fresh:
            mine.update(pending_of(session, fresh))
    drain.wake()
    n = len(batch)
    batch.clear()
    return n
