"""Runs the derived steps (parse → commit) after raw bytes are stored.

A `Processor` thread drains pending raw messages whenever the SMTP writer
commits (and once a second anyway, which also picks up what a crash left
pending). Parsing and extraction run in worker processes so both cores work;
placing and committing stay in this thread, in raw-id order.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager

from gateway.config import Settings
from gateway.pipeline import Analysis, Failure, Job, Mapper, process_pending
from gateway.store.db import Store

log = logging.getLogger(__name__)


def worker_count(settings: Settings) -> int:
    """WORKERS, or one per CPU; 1 means analyse in-process, no pool."""
    return settings.workers or max(1, len(os.sched_getaffinity(0)))


@contextmanager
def analyser(settings: Settings) -> Iterator[Mapper]:
    """A `map` for `analyse`: a process pool when WORKERS > 1, else the builtin."""
    n = worker_count(settings)
    if n <= 1:
        yield map
        return
    pool: Executor = ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("forkserver"))
    try:
        def run(fn, jobs: Iterable[Job]) -> Iterator[Analysis | Failure]:  # type: ignore[no-untyped-def]
            jobs = list(jobs)
            return pool.map(fn, jobs, chunksize=max(1, len(jobs) // (4 * n)))
        yield run
    finally:
        pool.shutdown(cancel_futures=True)


class Processor:
    """Background thread: process pending raw messages as they arrive."""

    def __init__(self, store: Store, settings: Settings, run: Mapper) -> None:
        self.store = store
        self.settings = settings
        self.run = run
        self.totals: Counter[str] = Counter()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="processor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(timeout=1.0)
            self._wake.clear()
            try:
                self.totals.update(process_pending(store=self.store, settings=self.settings, run=self.run))
            except Exception:  # the database may be away; the raw rows wait for us
                log.exception("processing pending messages failed; retrying")
                self._stop.wait(2.0)
