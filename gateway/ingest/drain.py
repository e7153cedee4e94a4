"""Processing beside a bulk reader: `mailfeed import` and `mailfeed imap sync` store raw
mail batch by batch and this processes what they committed while they read on.

The reader's thread parses files or IMAP responses and commits raw rows; the
drain's thread places and commits entries; the worker pool analyses. So the
two cores are busy with different work instead of taking turns.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gateway.config import Settings
from gateway.pipeline import Mapper, process_pending
from gateway.store.db import Store
from gateway.store.models import RawMessage


class Drain:
    """Processes what a reader commits while it reads the next batch.

    `wake()` after each commit; `finish()` processes whatever is still
    pending and waits for it. What became of the reader's rows is read from
    them (`outcomes`): a running serve may have processed some. Unlike the
    serve-time Processor, it never gives up waiting, so no message is
    analysed twice by a second processor running beside it.
    """

    def __init__(self, store: Store, settings: Settings, run: Mapper = map) -> None:
        self.store, self.settings, self.run = store, settings, run
        self._wake = threading.Event()
        self._done = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name="drain", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def finish(self) -> None:
        self._done.set()
        self._wake.set()
        self._thread.join()
        if self._error is not None:
            raise self._error

    def _loop(self) -> None:
        try:
            while True:
                last_round = self._done.is_set()
                process_pending(store=self.store, settings=self.settings, run=self.run)
                if last_round:
                    return
                self._wake.wait(1.0)
                self._wake.clear()
        except BaseException as exc:  # handed to finish(), which raises it in the caller
            self._error = exc

    def wait_below(self, pending: int) -> None:
        """Block while more than `pending` raw messages wait: a reader faster than
        processing stays at most that far ahead, so its progress bar tells the truth."""
        while self._error is None and _pending_count(self.store) > pending:
            self._wake.set()
            time.sleep(0.05)


SETTLE_SECONDS = 60.0  # how long `outcomes` waits for rows another processor still holds
_CHUNK = 500  # ids per query


def outcomes(
    store: Store, ids: Iterable[int], *, wait: float = SETTLE_SECONDS, poll: float = 0.2
) -> tuple[Counter[str], int]:
    """What became of the raw rows `ids`, whoever processed them: their statuses counted, and how
    many are still pending after waiting up to `wait` seconds (not counted).

    A command's own processor is not the only one: a running `mailfeed serve` takes pending rows
    too, and where it commits first the command's processor skips them, so only the rows' final
    statuses tell what the command's messages became. One query per 500 rows, grouped by status;
    only parts that still hold pending rows are read again.
    """
    ordered = sorted(set(ids))
    chunks = [ordered[at : at + _CHUNK] for at in range(0, len(ordered), _CHUNK)]
    settled: Counter[str] = Counter()
    deadline = time.monotonic() + wait
    while True:
        waiting: list[tuple[list[int], Counter[str]]] = []
        for chunk in chunks:
            found = _statuses(store, chunk)
            if found["pending"]:
                waiting.append((chunk, found))  # read again as a whole, its other rows counted then
            else:
                settled.update(found)
        if not waiting or time.monotonic() >= deadline:
            for _, found in waiting:  # given up: what is done is counted, the pending rows are not
                settled.update(found)
            pending = settled.pop("pending", 0)
            return settled, pending
        chunks = [chunk for chunk, _ in waiting]
        time.sleep(poll)


def pending_of(session: Session, ids: list[int]) -> list[int]:
    """Those of the raw rows `ids` that are pending (one query: a batch's ids, not thousands)."""
    in_ = RawMessage.id.in_(ids)  # type: ignore[union-attr]
    return list(session.scalars(sa.select(RawMessage.id).where(in_, RawMessage.status == "pending")))


def _statuses(store: Store, ids: list[int]) -> Counter[str]:
    with store.read() as session:
        rows = session.execute(
            sa.select(RawMessage.status, sa.func.count())
            .where(RawMessage.id.in_(ids))  # type: ignore[union-attr]
            .group_by(RawMessage.status)
        ).all()
    return Counter({status: int(n) for status, n in rows})


def _pending_count(store: Store) -> int:
    with store.read() as session:
        return int(session.scalar(sa.select(sa.func.count()).where(RawMessage.status == "pending")) or 0)
