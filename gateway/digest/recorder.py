"""Recording sends: each relay answer is committed to the ledger before its connection sends again.

A connection hands over its outcome and waits; one thread commits whatever the
connections have handed over since its last commit, in one transaction (a group
commit), and then lets each of them go on. So the ledger never trails a
connection by more than the one digest it is waiting for: a kill -9 re-sends
at most the digest whose `250` came in just before it (with the same
Message-ID), never one the connection sent after that — and commits stay few
when many connections answer at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable

from gateway.digest.send import Outcome

Group = list[tuple[int, list[Outcome]]]


class GroupRecorder:
    """`checkpoint(start, outcomes)` returns once `mark` has committed those outcomes.

    `mark(group)` gets every (start, outcomes) handed over since its last call
    and must commit them in one transaction. If it raises, every checkpoint
    waiting on that commit raises the same error (the connections stop), and
    so does every later checkpoint.
    """

    def __init__(self, mark: Callable[[Group], None]) -> None:
        self._mark = mark
        self._pending: list[tuple[int, list[Outcome], asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="digest-recorder", daemon=True)

    def __enter__(self) -> GroupRecorder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closed = True
        self._wake.set()
        self._thread.join()

    async def checkpoint(self, start: int, outcomes: list[Outcome]) -> None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if self._error is not None:
                raise self._error
            self._pending.append((start, outcomes, loop, done))
        self._wake.set()
        await done

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            with self._lock:
                taken, self._pending = self._pending, []
            if taken:
                self._commit(taken)
            if self._closed and not self._pending:
                return

    def _commit(self, taken: list[tuple[int, list[Outcome], asyncio.AbstractEventLoop, asyncio.Future[None]]]) -> None:
        error: BaseException | None = None
        try:
            self._mark([(start, outcomes) for start, outcomes, _, _ in taken])
        except BaseException as exc:  # handed to the waiting connections, which stop
            error = exc
            with self._lock:
                self._error = exc
        for _, _, loop, done in taken:
            with contextlib.suppress(RuntimeError):  # that loop has ended (a connection failed): nobody waits
                loop.call_soon_threadsafe(_settle, done, error)


def _settle(done: asyncio.Future[None], error: BaseException | None) -> None:
    if done.done():  # the waiting connection was cancelled
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)
