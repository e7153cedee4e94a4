"""Runs the derived steps (parse → commit) after raw bytes are stored.

A processor drains pending raw messages whenever the SMTP writer commits (and
once a second anyway, which also picks up what a crash left pending). Parsing
and extraction run in worker processes so both cores work; placing and
committing stay in the processor, in raw-id order. `mailfeed serve` runs the
processor in a process of its own (`ProcessorProcess`), so its Python work
never holds the interpreter lock the SMTP event loop needs; tests run the
same loop in a thread (`Processor`) to read its counts.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from multiprocessing.synchronize import Event
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


class ProcessorProcess:
    """The processor in a child process, woken through a shared event."""

    def __init__(self, settings: Settings) -> None:
        ctx = multiprocessing.get_context("forkserver")
        self._wake = ctx.Event()
        self._stop = ctx.Event()
        self._proc = ctx.Process(target=_process_forever, args=(settings, self._wake, self._stop, os.getpid()),
                                 name="mailfeed-processor")

    def start(self) -> None:
        self._proc.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._proc.join(timeout=60)
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(timeout=10)


def _process_forever(settings: Settings, wake: Event, stop: Event, parent: int) -> None:
    from gateway.store.db import open_store

    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    store = open_store(settings.db_url, synchronous=settings.sqlite_synchronous, upgrade=False)
    with analyser(settings) as run:
        while not stop.is_set() and _alive(parent):
            try:
                process_pending(store=store, settings=settings, run=run)
            except Exception:  # the database may be away; the raw rows wait for us
                log.exception("processing pending messages failed; retrying")
                stop.wait(2.0)
            wake.wait(timeout=1.0)
            wake.clear()
    store.dispose()


def _alive(pid: int) -> bool:
    """False once `mailfeed serve` is gone (killed with -9): the processor must not outlive it."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
