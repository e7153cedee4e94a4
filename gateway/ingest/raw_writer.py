"""Step 2 for SMTP, save raw: one writer thread commits every session's messages, in groups.

Concurrent sessions hand their messages to the thread and await the ids; it
commits whatever has queued up meanwhile in one transaction (group commit), so
the event loop never waits on the database and each commit's fsync serves many
messages. One message that fails is retried alone, so it cannot fail the others.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import errno
import logging
import queue
import threading
from collections.abc import Callable

import sqlalchemy as sa

from gateway.store import writes
from gateway.store.db import Store

log = logging.getLogger("gateway.ingest.smtp")  # its faults are the SMTP side's

GROUP_COMMIT_MAX = 256


def storage_full(exc: BaseException) -> bool:
    """True when the database could not write because the disk (or its quota) is full."""
    orig = getattr(exc, "orig", exc)
    if isinstance(orig, OSError) and orig.errno == errno.ENOSPC:
        return True
    if getattr(orig, "sqlstate", None) in ("53100", "53400"):  # PostgreSQL disk_full, configuration_limit_exceeded
        return True
    return "database or disk is full" in str(orig)


class RawWriter:
    """One thread that commits raw messages for every SMTP session, in groups."""

    def __init__(self, store: Store, on_commit: Callable[[], None] = lambda: None) -> None:
        self.store = store
        self.on_commit = on_commit
        self._queue: queue.Queue[tuple[list[writes.NewRaw], concurrent.futures.Future[list[int]]] | None] = (
            queue.Queue()
        )
        self._conn: sa.Connection | None = None  # kept between commits: no pool checkout (and ping) for each
        self._thread = threading.Thread(target=self._run, name="raw-writer", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        """The writer thread runs: without it no message is saved (and /healthz says SMTP is down)."""
        return self._thread.is_alive()

    async def save(self, items: list[writes.NewRaw]) -> list[int]:
        future: concurrent.futures.Future[list[int]] = concurrent.futures.Future()
        self._queue.put((items, future))
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                self._drop()
                return
            group = [first]
            while len(group) < GROUP_COMMIT_MAX:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._queue.put(None)
                    break
                group.append(nxt)
            try:
                self._commit(group)
            except Exception as exc:  # the thread must outlive any fault: every later message waits on it
                log.exception("raw writer fault")
                for _, future in group:
                    _settle(future, exc=exc)

    def _commit(self, group: list[tuple[list[writes.NewRaw], concurrent.futures.Future[list[int]]]]) -> None:
        try:
            ids = self._save([item for items, _ in group for item in items])
            results, at = [], 0
            for items, _ in group:
                results.append(ids[at : at + len(items)])
                at += len(items)
        except Exception as exc:
            if len(group) > 1:  # one bad message must not fail the others: retry alone
                for one in group:
                    self._commit([one])
                return
            log.exception("raw commit failed")
            _settle(group[0][1], exc=exc)
            return
        for (_, future), ids in zip(group, results, strict=True):
            _settle(future, ids)
        self.on_commit()

    def _save(self, items: list[writes.NewRaw]) -> list[int]:
        """Save on the kept connection; when that fails, once more on a fresh one (the pool pings it
        first), since the database may have restarted since the last commit."""
        reused = self._conn is not None
        try:
            return self._save_on(items)
        except Exception:
            self._drop(invalidate=True)
            if not reused:
                raise
        return self._save_on(items)

    def _save_on(self, items: list[writes.NewRaw]) -> list[int]:
        if self._conn is None:
            self._conn = self.store.writer.connect()
        with self._conn.begin():
            return writes.save_raw(session=self._conn, items=items)

    def _drop(self, *, invalidate: bool = False) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                if invalidate:
                    self._conn.invalidate()
                self._conn.close()
            self._conn = None


def _settle(
    future: concurrent.futures.Future[list[int]], ids: list[int] | None = None, *, exc: BaseException | None = None
) -> None:
    """Give a session its ids (or the fault). A session whose client hung up after the final dot was
    cancelled meanwhile: its message is saved all the same (a retry is a duplicate), and setting a
    result on its cancelled future raised, killing the writer thread and with it every later commit."""
    with contextlib.suppress(concurrent.futures.InvalidStateError):
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(ids or [])
