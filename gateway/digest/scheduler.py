"""The digest scheduler inside `mailfeed serve`: every half minute, send what is due.

Safe with several instances on one PostgreSQL: the ledger (runs.py) lets only
one of them claim each (subscription, period). Its "now" is the real time, or,
with DIGEST_CLOCK_START (tests and drills), a clock that starts at that moment
when the process starts and runs on from there.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import UTC, datetime, timedelta

from gateway.config import Settings
from gateway.digest.dispatch import send_due
from gateway.store.db import Store

log = logging.getLogger(__name__)
INTERVAL_SECONDS = 30.0


def instance_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Clock:
    """The digests' now: the real time, or `start` plus the time that has passed since this clock was made."""

    def __init__(self, start: datetime | None = None) -> None:
        self.start = start
        self._made = time.monotonic()

    def now(self) -> datetime:
        if self.start is None:
            return datetime.now(UTC)
        return self.start + timedelta(seconds=time.monotonic() - self._made)


class DigestScheduler:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.clock = Clock(settings.digest_clock_start)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="digest-scheduler", daemon=True)

    def start(self) -> None:
        if self.clock.start is not None:
            log.warning(
                "MAILFEED_DIGEST_CLOCK_START=%s: digests run on a clock that starts there, not on the "
                "real time (for tests and drills; periods it sends are not sent again)",
                self.clock.start.isoformat(),
            )
        self._thread.start()

    def alive(self) -> bool:
        """Whether the sending loop still runs (for /healthz)."""
        return self._thread.is_alive()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                report = send_due(
                    store=self.store, settings=self.settings, now=self.clock.now(), instance=instance_name()
                )
                if report.counts["claimed"]:
                    log.info("digests: %s", dict(report.counts))
            except Exception:  # database or relay away: the ledger keeps every claim for the next pass
                log.exception("sending digests failed; will retry")
            self._stop.wait(INTERVAL_SECONDS)
