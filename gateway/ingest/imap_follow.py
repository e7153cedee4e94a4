"""Following one IMAP source live in `mailfeed serve`: a thread per source.

Each thread owns its connection (imapclient is blocking): connect, run a pass
(imap.sync_source), then wait in IDLE until the server reports new mail, and
pass again every IMAP_IDLE_SECONDS (servers drop an IDLE after about 30
minutes, RFC 2177); where CAPABILITY lacks IDLE, poll every IMAP_POLL_SECONDS.
A connection can die without a word in IDLE (a NAT entry dropped, a server
frozen): nothing arrives, no FIN, no BYE, and TCP keepalive would not tell a
frozen server from a quiet one, its kernel answering the probes. So every
IMAP_IDLE_CHECK_SECONDS the follower ends IDLE and begins it again (RFC 2177
allows it; clients do it every few minutes), and a server that does not
answer the DONE within as long is taken for gone: noticed within twice
IMAP_IDLE_CHECK_SECONDS, two minutes by default, not half an hour.
A dropped connection is retried with exponential backoff and jitter, up to
IMAP_BACKOFF_MAX_SECONDS; a wrong password or a missing folder waits that
longest delay each time. Every failure is a log line naming the source and a
`last_error` on its row (`mailfeed imap status`); other sources go on.

A follower runs while it holds the source's lease (imap_lease.py) and renews
it meanwhile, in IDLE too; when another instance has it, the follower closes
its connection and ends. A clean stop releases the lease. Which sources are
followed, and when a follower stops or reconnects, is imap_followers.py's.
"""

from __future__ import annotations

import logging
import random
import re
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from contextlib import suppress

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError

from gateway.config import Settings
from gateway.ingest import imap_state as state
from gateway.ingest.imap import sync_source
from gateway.ingest.imap_connect import TRANSIENT, ImapError, connected, describe
from gateway.ingest.imap_lease import Lease, LeaseLost, instance_id
from gateway.store.db import Store

log = logging.getLogger(__name__)

FIRST_BACKOFF_SECONDS = 1.0


def backoff(failures: int, *, cap: float, permanent: bool = False) -> float:
    """Seconds to wait after `failures` failures in a row: doubling up to `cap`, jittered to 50-100%."""
    ceiling = cap if permanent else min(cap, FIRST_BACKOFF_SECONDS * 2 ** max(0, failures - 1))
    return ceiling * random.uniform(0.5, 1.0)


class Follower:
    """A thread that keeps one source's folder committed as mail arrives, while it holds the lease.

    Without a `lease`, it takes one as this process (`instance_id()`); the
    thread ends, without following, when another instance holds it.
    """

    def __init__(
        self,
        store: Store,
        settings: Settings,
        source_id: int,
        on_commit: Callable[[], None] = lambda: None,
        lease: Lease | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.source_id = source_id
        self.on_commit = on_commit
        self.lease = lease or Lease(store, source_id, instance_id(), settings.imap_lease_seconds)
        self.waiting = threading.Event()  # set while in IDLE or between polls: caught up
        self.src: state.Source | None = None  # the source as read for the connection now
        self._synced = False  # this connection has completed a pass
        self._stop = threading.Event()
        self._wake = threading.Event()  # set by a stop or a reconnect: leave IDLE, a poll or a backoff now
        self._thread = threading.Thread(target=self._run, name=f"imap-{source_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def request_stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def reconnect(self) -> None:
        """Read the source again and connect with it (it was edited): after the pass that runs now, if any."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self.request_stop()
        self._thread.join(timeout=timeout)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        try:
            self.lease.keep()
            self._keep_following()
        except LeaseLost as exc:  # not ours any more: nothing to release
            if self._removed():
                log.info("IMAP source %s was removed; no longer following it", self.source_id)
            else:
                log.warning("IMAP source %s: %s; no longer following it here", self.source_id, exc)
            return
        self.lease.release()  # a clean stop: another instance may take over at once

    def _keep_following(self) -> None:
        failures = 0
        while not self._stop.is_set():
            self._wake.clear()  # a stop from now on is seen by _interrupted(), which looks at both
            label = f"IMAP source {self.source_id}"
            try:  # reading the source too: a database away for a moment must not end the thread
                with self.store.read() as session:
                    src = state.get_source(session=session, source_id=self.source_id)
                if src is None:
                    log.info("IMAP source %s was removed; no longer following it", self.source_id)
                    return
                label, self.src = src.label, src
                self._follow(src)
                continue  # stopped, or told to reconnect: the loop tells which
            except LeaseLost:
                raise
            except (ImapError, *TRANSIENT) as exc:
                # A connection that worked before it dropped starts the backoff over.
                failures = 1 if self._synced else failures + 1
                delay = backoff(
                    failures,
                    cap=self.settings.imap_backoff_max_seconds,
                    permanent=isinstance(exc, ImapError) and exc.permanent,
                )
                error = describe(exc)
                log.error("%s: %s; retrying in %.0f s", label, error, delay)
            except Exception as exc:  # a bug must not end the thread for good
                failures = 1 if self._synced else failures + 1
                delay = backoff(failures, cap=self.settings.imap_backoff_max_seconds)
                error = describe(exc)
                log.exception("%s: unexpected failure; retrying in %.0f s", label, delay)
            self.waiting.clear()
            self._record_error(error)
            self._wait(delay)

    def _interrupted(self) -> bool:
        """Stopped, or told to reconnect."""
        return self._stop.is_set() or self._wake.is_set()

    def _wait(self, seconds: float) -> None:
        """Wait, renewing the lease when due, until the time is up or we are interrupted. Raises LeaseLost."""
        deadline = time.monotonic() + seconds
        # the timeout also catches a stop whose wake-up the loop above cleared
        while not self._interrupted() and (left := deadline - time.monotonic()) > 0:
            if self._wake.wait(min(left, self.lease.renew_every, 1.0)):
                return
            self.lease.keep()

    def _removed(self) -> bool:
        """Whether the source's row is gone (the lease went with it); False when that cannot be told."""
        try:
            with self.store.read() as session:
                return state.get_source(session=session, source_id=self.source_id) is None
        except Exception:
            return False

    def _record_error(self, error: str) -> None:
        try:
            state.mark_error(store=self.store, source_id=self.source_id, error=error)
        except Exception:  # the database may be away too; the log line is there
            log.exception("IMAP source %s: cannot record its error", self.source_id)

    def _follow(self, src: state.Source) -> None:
        self._synced = False
        with connected(src, ca_file=self.settings.imap_ca_file) as client:
            idle = client.has_capability("IDLE")
            while not self._interrupted():
                report = sync_source(
                    client,
                    store=self.store,
                    settings=self.settings,
                    src=src,
                    lease=self.lease,
                    on_commit=self.on_commit,
                )
                self._synced = True
                state.mark_ok(store=self.store, source_id=src.id, note=report.note)
                if report.found:
                    log.info(
                        "%s: %s new message(s), cursor %s/%s",
                        src.label,
                        report.found,
                        report.uidvalidity,
                        report.last_uid,
                    )
                if report.more:
                    continue
                if idle:
                    self._idle(client)
                else:
                    self._poll(client)

    def _idle(self, client: IMAPClient) -> None:
        """IDLE until the server reports new mail, the renewal time comes, or we are stopped.

        The lease is renewed meanwhile; LeaseLost is raised after leaving IDLE.
        """
        new_mail = _begin_idle(client)
        self.waiting.set()
        renew_at = time.monotonic() + self.settings.imap_idle_seconds
        check_at = time.monotonic() + self.settings.imap_idle_check_seconds
        lost: LeaseLost | None = None
        while not self._interrupted() and not new_mail and not lost and time.monotonic() < renew_at:
            # A short timeout so a stop is noticed within a second, and the lease renewed in time.
            responses = client.idle_check(timeout=min(1.0, self.lease.renew_every))
            # imapclient swallows EOF in IDLE: a server going away says BYE, or just closes.
            if any(r[0] == b"BYE" for r in responses) or (not responses and _closed(client.socket())):
                raise IMAPClientAbortError("the server closed the connection during IDLE")
            new_mail = _exists(responses)
            if not new_mail and time.monotonic() >= check_at:
                new_mail = _check(client, self.settings.imap_idle_check_seconds)
                check_at = time.monotonic() + self.settings.imap_idle_check_seconds
            try:
                self.lease.keep()
            except LeaseLost as exc:
                lost = exc
        self.waiting.clear()
        client.idle_done()
        if lost:
            raise lost

    def _poll(self, client: IMAPClient) -> None:
        self.waiting.set()
        try:
            self._wait(self.settings.imap_poll_seconds)
        finally:
            self.waiting.clear()
        if not self._interrupted():
            client.noop()  # lets the server tell us about new messages before the next SEARCH


_EXISTS = re.compile(rb"^\* \d+ EXISTS\b", re.IGNORECASE)


def _begin_idle(client: IMAPClient) -> bool:
    """Enter IDLE; True when the server announced new mail as it began."""
    client.idle()
    early = _read_with_continuation(client)
    if any(line.startswith(b"* BYE") for line in early):
        raise IMAPClientAbortError("the server closed the connection as IDLE began")
    return any(_EXISTS.match(line) for line in early)


def _exists(responses: list[tuple[object, ...]]) -> bool:
    return any(len(r) > 1 and r[1] == b"EXISTS" for r in responses)


def _check(client: IMAPClient, seconds: float) -> bool:
    """End IDLE, wait up to `seconds` for the server's answer, and begin IDLE again; True on new mail.

    A server that does not answer is gone, though the socket looks open: the
    connection is shut (a LOGOUT would wait for an answer too) and the timeout raised.
    """
    client.socket().settimeout(seconds)
    try:
        _, responses = client.idle_done()
    except OSError:
        with suppress(Exception):
            client.shutdown()
        raise
    client._set_read_timeout()
    return _begin_idle(client) or _exists(responses)


def _read_with_continuation(client: IMAPClient) -> list[bytes]:
    """The whole lines the server sent right behind IDLE's "+ idling", read from imaplib's buffer.

    Mail that lands after a pass's last command is announced as IDLE begins, and
    the server sends that EXISTS with the "+" (Dovecot: in the same write).
    imaplib reads both into its buffer; `idle_check` polls the socket, never sees
    it, and the message would wait for the next one or the IDLE renewal. So
    whatever is buffered already (or decrypted, for TLS) is read here, without
    waiting for the socket.
    """
    sock, reader, lines = client.socket(), client._imap.file, []
    sock.setblocking(False)
    try:
        while True:
            try:
                ahead = reader.peek(1)  # the buffer as it is; reads the socket only when it is empty
            except (BlockingIOError, ssl.SSLWantReadError):
                break
            if b"\n" not in ahead:  # nothing, or half a line: the rest comes through the socket
                break
            lines.append(reader.readline())
    finally:
        sock.setblocking(True)
        client._set_read_timeout()
    return lines


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
