"""The digest scheduler inside `mailfeed serve`: every half minute, send what is due.

Safe with several instances on one PostgreSQL: the ledger (runs.py) lets only
one of them claim each (subscription, period).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import UTC, datetime

from gateway.config import Settings
from gateway.digest.dispatch import send_due
from gateway.store.db import Store

log = logging.getLogger(__name__)
INTERVAL_SECONDS = 30.0


def instance_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class DigestScheduler:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="digest-scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                report = send_due(store=self.store, settings=self.settings, now=datetime.now(UTC),
                                  instance=instance_name())
                if report.counts["claimed"]:
                    log.info("digests: %s", dict(report.counts))
            except Exception:  # database or relay away: the ledger keeps every claim for the next pass
                log.exception("sending digests failed; will retry")
            self._stop.wait(INTERVAL_SECONDS)
