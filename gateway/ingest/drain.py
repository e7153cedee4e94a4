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

import sqlalchemy as sa

from gateway.config import Settings
from gateway.pipeline import Mapper, process_pending
from gateway.store.db import Store
from gateway.store.models import RawMessage


class Drain:
    """Processes what a reader commits while it reads the next batch.

    `wake()` after each commit; `finish()` processes whatever is still
    pending, waits for it, and returns the counts by outcome. Unlike the
    serve-time Processor, it never gives up waiting, so no message is
    analysed twice by a second processor running beside it.
    """

    def __init__(self, store: Store, settings: Settings, run: Mapper = map) -> None:
        self.store, self.settings, self.run = store, settings, run
        self.counts: Counter[str] = Counter()
        self._wake = threading.Event()
        self._done = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name="drain", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def finish(self) -> Counter[str]:
        self._done.set()
        self._wake.set()
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self.counts

    def _loop(self) -> None:
        try:
            while True:
                last_round = self._done.is_set()
                self.counts.update(process_pending(store=self.store, settings=self.settings, run=self.run))
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


def _pending_count(store: Store) -> int:
    with store.read() as session:
        return int(session.scalar(sa.select(sa.func.count()).where(RawMessage.status == "pending")) or 0)
