"""Following IMAP sources live in `mailfeed serve`: one thread per source.

Each thread owns its connection (imapclient is blocking): connect, run a pass
(imap.sync_source), then wait in IDLE until the server reports new mail,
re-issuing IDLE every IMAP_IDLE_SECONDS (servers drop an IDLE after about 30
minutes, RFC 2177); where CAPABILITY lacks IDLE, poll every IMAP_POLL_SECONDS.
A dropped connection is retried with exponential backoff and jitter, up to
IMAP_BACKOFF_MAX_SECONDS; a wrong password or a missing folder waits that
longest delay each time. Every failure is a log line naming the source and a
`last_error` on its row (`mailfeed imap status`); other sources go on.

`Followers` also looks for sources added while it runs (`mailfeed feed add
--imap`) and starts a thread for each.
"""

from __future__ import annotations

import logging
import random
import select
import socket
import threading
import time
from collections.abc import Callable

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError

from gateway.config import Settings
from gateway.ingest import imap_state as state
from gateway.ingest.imap import sync_source
from gateway.ingest.imap_connect import TRANSIENT, ImapError, connected, describe
from gateway.store.db import Store

log = logging.getLogger(__name__)

RESCAN_SECONDS = 30.0
FIRST_BACKOFF_SECONDS = 1.0


def backoff(failures: int, *, cap: float, permanent: bool = False) -> float:
    """Seconds to wait after `failures` failures in a row: doubling up to `cap`, jittered to 50-100%."""
    ceiling = cap if permanent else min(cap, FIRST_BACKOFF_SECONDS * 2 ** max(0, failures - 1))
    return ceiling * random.uniform(0.5, 1.0)


class Follower:
    """A thread that keeps one source's folder committed as mail arrives."""

    def __init__(
        self, store: Store, settings: Settings, source_id: int, on_commit: Callable[[], None] = lambda: None
    ) -> None:
        self.store = store
        self.settings = settings
        self.source_id = source_id
        self.on_commit = on_commit
        self.waiting = threading.Event()  # set while in IDLE or between polls: caught up
        self._synced = False  # this connection has completed a pass
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"imap-{source_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def request_stop(self) -> None:
        self._stop.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout=timeout)

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            with self.store.read() as session:
                src = state.get_source(session=session, source_id=self.source_id)
            if src is None:
                log.info("IMAP source %s was removed; no longer following it", self.source_id)
                return
            try:
                self._follow(src)
                return  # stopped
            except (ImapError, *TRANSIENT) as exc:
                # A connection that worked before it dropped starts the backoff over.
                failures = 1 if self._synced else failures + 1
                delay = backoff(
                    failures,
                    cap=self.settings.imap_backoff_max_seconds,
                    permanent=isinstance(exc, ImapError) and exc.permanent,
                )
                error = describe(exc)
                log.error("%s: %s; retrying in %.0f s", src.label, error, delay)
            except Exception as exc:  # a bug must not end the thread for good
                failures = 1 if self._synced else failures + 1
                delay = backoff(failures, cap=self.settings.imap_backoff_max_seconds)
                error = describe(exc)
                log.exception("%s: unexpected failure; retrying in %.0f s", src.label, delay)
            self.waiting.clear()
            self._record_error(error)
            if self._stop.wait(delay):
                return

    def _record_error(self, error: str) -> None:
        try:
            state.mark_error(store=self.store, source_id=self.source_id, error=error)
        except Exception:  # the database may be away too; the log line is there
            log.exception("IMAP source %s: cannot record its error", self.source_id)

    def _follow(self, src: state.Source) -> None:
        self._synced = False
        with connected(src) as client:
            idle = client.has_capability("IDLE")
            while not self._stop.is_set():
                report = sync_source(
                    client, store=self.store, settings=self.settings, src=src, on_commit=self.on_commit
                )
                self._synced = True
                state.mark_ok(store=self.store, source_id=src.id)
                if report.found:
                    log.info(
                        "%s: %s new message(s), cursor %s/%s",
                        src.label,
                        report.found,
                        report.uidvalidity,
                        report.last_uid,
                    )
                if idle:
                    self._idle(client)
                else:
                    self._poll(client)

    def _idle(self, client: IMAPClient) -> None:
        """IDLE until the server reports new mail, the renewal time comes, or we are stopped."""
        client.idle()
        self.waiting.set()
        renew_at = time.monotonic() + self.settings.imap_idle_seconds
        new_mail = False
        while not self._stop.is_set() and not new_mail and time.monotonic() < renew_at:
            # A short timeout so a stop is noticed within a second.
            responses = client.idle_check(timeout=1.0)
            # imapclient swallows EOF in IDLE: a server going away says BYE, or just closes.
            if any(r[0] == b"BYE" for r in responses) or (not responses and _closed(client.socket())):
                raise IMAPClientAbortError("the server closed the connection during IDLE")
            new_mail = any(len(r) > 1 and r[1] == b"EXISTS" for r in responses)
        self.waiting.clear()
        client.idle_done()

    def _poll(self, client: IMAPClient) -> None:
        self.waiting.set()
        self._stop.wait(self.settings.imap_poll_seconds)
        self.waiting.clear()
        if not self._stop.is_set():
            client.noop()  # lets the server tell us about new messages before the next SEARCH


def _closed(sock: socket.socket) -> bool:
    """True when the peer closed a plain socket (readable, and nothing to read)."""
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return False
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except (BlockingIOError, ValueError):  # ValueError: TLS sockets take no flags; BYE and renewal cover them
        return False
    except OSError:
        return True


class Followers:
    """Every source's follower, plus a thread that starts followers for sources added later."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        on_commit: Callable[[], None] = lambda: None,
        rescan_seconds: float = RESCAN_SECONDS,
    ) -> None:
        self.store = store
        self.settings = settings
        self.on_commit = on_commit
        self.rescan_seconds = rescan_seconds
        self.followers: dict[int, Follower] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="imap-sources", daemon=True)

    def start(self) -> None:
        self.scan()
        self._thread.start()

    def scan(self) -> None:
        with self.store.read() as session:
            sources = state.list_sources(session=session)
        for src in sources:
            if src.id not in self.followers:
                log.info("following %s", src.label)
                follower = Follower(self.store, self.settings, src.id, self.on_commit)
                self.followers[src.id] = follower
                follower.start()

    def _watch(self) -> None:
        while not self._stop.wait(self.rescan_seconds):
            try:
                self.scan()
            except Exception:
                log.exception("looking for new IMAP sources failed; trying again later")

    def stop(self) -> None:
        self._stop.set()
        for f in self.followers.values():
            f.request_stop()  # all at once: each takes up to a second to notice
        for f in self.followers.values():
            f.stop()
        self._thread.join(timeout=5)
