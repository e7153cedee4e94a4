"""Which IMAP sources `mailfeed serve` follows: a follower (imap_follow.py) per source it holds the lease of.

`Followers` starts a follower for a source only once it has taken the lease
(imap_lease.py), and looks again every RESCAN_SECONDS (or half a lease, if
shorter) for sources added while it runs and for leases left free or expired
by other instances. A clean stop releases the leases, so another instance
takes over at its next rescan.

The same rescan lets go of a source that was removed (`mailfeed imap remove`):
its follower leaves IDLE, logs out and ends, within RESCAN_SECONDS. A source
that was changed (`mailfeed imap edit`: password, after action) is read again
and connected to anew, since a connection keeps what was read when it was
made: the change is used within RESCAN_SECONDS too (after a pass running
then), also by a follower waiting out the backoff of a wrong password.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from gateway.config import Settings
from gateway.ingest import imap_state as state
from gateway.ingest.imap_follow import Follower
from gateway.ingest.imap_lease import Lease, instance_id
from gateway.store.db import Store

log = logging.getLogger(__name__)

RESCAN_SECONDS = 10.0  # new sources, and leases left free or expired, are found this soon


class Followers:
    """A follower for each source whose lease this instance holds, and a thread that looks for more.

    `holder` names this instance in the leases (default: `instance_id()`).
    The rescan runs at least every half lease, so a lease left by a killed
    instance is taken over soon after it expires.
    """

    def __init__(
        self,
        store: Store,
        settings: Settings,
        on_commit: Callable[[], None] = lambda: None,
        rescan_seconds: float = RESCAN_SECONDS,
        holder: str | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.on_commit = on_commit
        self.rescan_seconds = min(rescan_seconds, settings.imap_lease_seconds / 2)
        self.holder = holder or instance_id()
        self.followers: dict[int, Follower] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="imap-sources", daemon=True)

    def start(self) -> None:
        self.scan()
        self._thread.start()

    def scan(self) -> None:
        """Start following each source not followed here whose lease we can take; let go of removed ones.

        A follower whose source changed since it connected is told to reconnect.
        """
        with self.store.read() as session:
            sources = state.list_sources(session=session)
        self._let_go({src.id for src in sources})
        for src in sources:
            running = self.followers.get(src.id)
            if running is not None and running.alive:
                if running.src is not None and running.src != src:
                    log.info("%s was changed; connecting again with it", src.label)
                    running.reconnect()
                continue
            lease = Lease(self.store, src.id, self.holder, self.settings.imap_lease_seconds)
            claim = lease.take()
            if not claim.ok:
                log.debug("%s: %s", src.label, claim)
                continue
            log.info("following %s (lease held by %s)", src.label, self.holder)
            follower = Follower(self.store, self.settings, src.id, self.on_commit, lease)
            self.followers[src.id] = follower
            follower.start()

    def _let_go(self, listed: set[int]) -> None:
        """Stop the followers of sources no longer listed; forget them once they have ended."""
        for source_id, follower in list(self.followers.items()):
            if source_id in listed:
                continue
            if not follower.alive:
                del self.followers[source_id]
            elif not follower.stopping:
                log.info("IMAP source %s was removed; no longer following it", source_id)
                follower.request_stop()

    @property
    def following(self) -> list[int]:
        """The sources followed here now."""
        return sorted(i for i, f in self.followers.items() if f.alive)

    def _watch(self) -> None:
        while not self._stop.wait(self.rescan_seconds):
            try:
                self.scan()
            except Exception:
                log.exception("looking for new IMAP sources failed; trying again later")

    def alive(self) -> bool:
        """Whether the thread that finds sources and restarts followers still runs (for /healthz)."""
        return self._thread.is_alive()

    def stop(self) -> None:
        """Stop every follower; each releases its lease (a scan running now finishes first)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        for f in self.followers.values():
            f.request_stop()  # all at once: each takes up to a second to notice
        for f in self.followers.values():
            f.stop()
