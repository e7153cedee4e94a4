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

import contextlib
import logging
import multiprocessing
import os
import select
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from functools import partial
from multiprocessing.connection import Connection
from typing import Any

from gateway import forks
from gateway.analysis import Analysis, Failure, Job
from gateway.config import Settings
from gateway.logs import configure_logging
from gateway.pipeline import Mapper, process_pending, retry_deferred
from gateway.store.db import Store

log = logging.getLogger(__name__)

# Accepting mail comes first: a busy processor must not slow the 250s down. It
# catches up whenever SMTP leaves a core free (and a raw row waits safely).
PROCESSOR_NICENESS = 10


@contextmanager
def analyser(settings: Settings) -> Iterator[Mapper]:
    """A `map` for `analyse`: a process pool when WORKERS > 1, else the builtin."""
    n = forks.worker_count(settings)
    if n <= 1:
        yield map
        return
    pool: Executor = ProcessPoolExecutor(
        n, mp_context=forks.context(), initializer=configure_logging, initargs=(settings.log_level, settings.log_format)
    )
    threading.Thread(target=_start_workers, args=(pool, n), name="pool-start", daemon=True).start()
    try:

        def run(fn, jobs: Iterable[Job]) -> Iterator[Analysis | Failure]:
            jobs = list(jobs)
            return pool.map(fn, jobs, chunksize=max(1, len(jobs) // (4 * n)))

        yield run
    finally:
        pool.shutdown(cancel_futures=True)


def _start_workers(pool: Executor, n: int) -> None:
    """Start the pool's n workers now, not when the first batch is handed out: until they
    are up (~0.5 s, the fork server's start included) stored batches wait unanalysed.

    Off the caller's thread, as each start waits for the fork server; the caller meanwhile
    reads and stores its first batch.
    """
    # Shut down first, or broken: the first batch meets the same and reports it.
    with contextlib.suppress(Exception):
        for _ in range(n):
            pool.submit(os.getpid)


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
        retry_due = 0.0
        while not self._stop.is_set():
            self._wake.wait(timeout=1.0)
            self._wake.clear()
            try:
                retry_due = retry_deferred(self.store, retry_due)
                self.totals.update(process_pending(store=self.store, settings=self.settings, run=self.run))
            except Exception:  # the database may be away; the raw rows wait for us
                log.exception("processing pending messages failed; retrying")
                self._stop.wait(2.0)


class ProcessorProcess:
    """The processor in a child process, woken by a byte down a pipe, restarted if it dies.

    Not a multiprocessing Event: its lock can be left held by a child killed
    at the wrong moment (SIGKILL, the OOM killer), and then every wake-up from
    the SMTP writer would hang. A pipe cannot hang a writer that never blocks.
    A processor that dies is started again within seconds (what it was doing
    rolls back; the raw rows wait for it). One that keeps dying (more than once
    within RESTART_WINDOW_SECONDS) processes nothing between its restarts:
    `alive` says False and `trouble` says why, for /healthz.
    """

    WATCH_SECONDS = 2.0
    RESTART_WINDOW_SECONDS = 60.0
    # below half the window: a processor that keeps dying always has two deaths in it (`trouble`)
    MAX_BACKOFF_SECONDS = 30.0

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        # when mail was last stored (CLOCK_MONOTONIC is one clock for every process); no lock to leave held
        self._stored_at = multiprocessing.get_context("forkserver").RawValue("d", 0.0)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        # (time.monotonic(), exit code) of each death within the window; replaced whole, read without the lock
        self._deaths: tuple[tuple[float, int | None], ...] = ()
        self._proc, self._writer = self._new()
        self._watcher = threading.Thread(target=self._watch, name="processor-watch", daemon=True)

    def _new(self) -> tuple[multiprocessing.process.BaseProcess, Connection]:
        ctx = multiprocessing.get_context("forkserver")
        reader, writer = ctx.Pipe(duplex=False)
        os.set_blocking(writer.fileno(), False)
        proc = ctx.Process(
            target=_process_forever,
            args=(self._settings, reader, os.getpid(), self._stored_at),
            name="mailfeed-processor",
        )
        proc._mailfeed_reader = reader  # type: ignore[attr-defined]  # closed here once the child has it
        return proc, writer

    def start(self) -> None:
        self._launch(self._proc)
        self._watcher.start()

    @staticmethod
    def _launch(proc: multiprocessing.process.BaseProcess) -> None:
        proc.start()
        proc._mailfeed_reader.close()  # type: ignore[attr-defined]

    def alive(self) -> bool:
        """Running, and not dying over and over (see `trouble`)."""
        return self._proc.is_alive() and self.trouble() is None

    def trouble(self) -> str | None:
        """Why the processor cannot be counted on, or None: it died more than once in the last window.

        Between two deaths it is up for a moment and processes nothing (a start
        that fails each time), so being up right now says little.
        """
        now = time.monotonic()
        recent = [(at, code) for at, code in self._deaths if now - at < self.RESTART_WINDOW_SECONDS]
        if len(recent) < 2:
            return None
        return (
            f"the processor died {len(recent)} times in the last {self.RESTART_WINDOW_SECONDS:.0f} s "
            f"({_exit(recent[-1][1])} the last time) and is being started again; its log says why"
        )

    def wake(self) -> None:
        """Mail was stored (SMTP or IMAP): process it, once mail stops arriving for a moment."""
        self._stored_at.value = time.monotonic()
        self._send(WAKE)

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            if self._proc.is_alive():
                self._send(STOP)
                self._proc.join(timeout=60)
            if self._proc.is_alive():
                self._proc.terminate()
                self._proc.join(timeout=10)
            self._writer.close()

    def _send(self, byte: bytes) -> None:
        # full: wake-ups are pending anyway; closed or broken: stopping, or restarted soon
        with contextlib.suppress(BlockingIOError, OSError, ValueError):
            os.write(self._writer.fileno(), byte)

    def _watch(self) -> None:
        """Start a dead processor again: at once, or after a wait that doubles (up to MAX_BACKOFF_SECONDS)
        while each start dies before it has run for RESTART_WINDOW_SECONDS, so a crash loop does not
        fork and log every two seconds for ever."""
        launched, streak, restart_at = time.monotonic(), 0, None
        while not self._stopping.wait(self.WATCH_SECONDS):
            with self._lock:
                if self._stopping.is_set() or self._proc.is_alive():
                    continue
                now = time.monotonic()
                if restart_at is None:
                    code = self._proc.exitcode
                    streak = 1 if now - launched >= self.RESTART_WINDOW_SECONDS else streak + 1
                    wait = 0.0 if streak == 1 else min(2.0 ** (streak - 1), self.MAX_BACKOFF_SECONDS)
                    log.error("the processor died (%s); starting it again%s", _exit(code), _in(wait))
                    kept = tuple(d for d in self._deaths if now - d[0] < self.RESTART_WINDOW_SECONDS)
                    self._deaths = (*kept, (now, code))
                    restart_at = now + wait
                if now < restart_at:
                    continue
                restart_at, launched = None, now
                self._writer.close()
                self._proc, self._writer = self._new()
                self._launch(self._proc)


def _in(seconds: float) -> str:
    return f" in {seconds:.0f} s" if seconds else ""


WAKE, STOP = b"w", b"s"


def _exit(code: int | None) -> str:
    """A process's exit status as words: "exit code 1", "killed by SIGSYS"."""
    if code is not None and code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


def _process_forever(settings: Settings, wakes: Connection, parent: int, stored_at: Any) -> None:
    from gateway.logs import setup_logging
    from gateway.store.db import open_store

    setup_logging(settings)  # LOG_FORMAT and LOG_LEVEL, as in the parent
    _lower_priority()  # the pool's workers inherit it
    store = open_store(settings.db_url, synchronous=settings.sqlite_synchronous, upgrade=False)
    if not store.is_sqlite:
        _idle_priority()
    fd = wakes.fileno()
    stop, retry_due = False, 0.0
    with analyser(settings) as run:
        while not stop and _alive(parent):
            try:
                retry_due = retry_deferred(store, retry_due)
                process_pending(
                    store=store,
                    settings=settings,
                    run=run,
                    before_write=partial(_let_mail_in, stored_at) if store.is_sqlite else _write_now,
                )
            except Exception:  # the database may be away; the raw rows wait for us
                log.exception("processing pending messages failed; retrying")
                time.sleep(2.0)
            readable, _, _ = select.select([fd], [], [], 1.0)
            if readable:
                got = os.read(fd, 65536)
                stop = STOP in got or got == b""  # b"": serve is gone
    store.dispose()


def _lower_priority() -> None:
    """Niceness 10 where the system lets us (see PROCESSOR_NICENESS); else process at normal priority.

    A sandbox may refuse setpriority (systemd's SystemCallFilter=~@resources with
    SystemCallErrorNumber=EPERM, a container's seccomp profile): mail must be
    processed all the same, only without giving way to SMTP under load.
    """
    try:
        os.nice(PROCESSOR_NICENESS)
    except OSError as exc:
        log.warning(
            "cannot lower the processor's priority (niceness %d: %s); it processes at normal priority, "
            "so a burst of mail is acknowledged less quickly (a sandbox that refuses setpriority: "
            "deploy/mailfeed.service allows it)",
            PROCESSOR_NICENESS,
            exc.strerror or exc,
        )


def _idle_priority() -> None:
    """On PostgreSQL, process only on CPU time nothing else wants (SCHED_IDLE; the workers inherit it).

    Niceness 10 still took about a tenth of a contended core per process from
    the SMTP event loops. Nothing SMTP commits waits for a lock the processor
    holds there (it locks only the raw rows it places), so starving it under
    load costs only processing latency. On SQLite every SMTP group commit needs
    the one write lock the processor holds while it commits, and a starved
    holder would stall them: there it stays at niceness 10.
    """
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except AttributeError:  # SCHED_IDLE is Linux's
        pass
    except OSError as exc:  # a sandbox that refuses sched_setscheduler: niceness alone
        log.info("cannot give the processor idle priority (SCHED_IDLE: %s); it keeps its niceness", exc.strerror or exc)


INGEST_QUIET_SECONDS = 0.05
MAX_YIELD_SECONDS = 1.0


def _write_now(meanwhile: Callable[[], None]) -> None:
    """On PostgreSQL the processor's commits hold up no SMTP commit (see `_idle_priority`)."""


def _let_mail_in(stored_at: Any, meanwhile: Callable[[], None]) -> None:
    """Before a batch takes SQLite's one write lock: wait while mail is arriving (at most a second).

    Each SMTP group commit needs that lock too, and every 250 waits for its
    commit: acceptance comes first, and the processor catches up in the gaps
    (under a steady stream it still commits a batch a second). `meanwhile`
    runs at every look: it hands the workers more to analyse.
    """
    give_up = time.monotonic() + MAX_YIELD_SECONDS
    while time.monotonic() - stored_at.value < INGEST_QUIET_SECONDS and time.monotonic() < give_up:
        meanwhile()
        time.sleep(INGEST_QUIET_SECONDS / 2)


def _alive(pid: int) -> bool:
    """False once `mailfeed serve` is gone (killed with -9): the processor must not outlive it."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
