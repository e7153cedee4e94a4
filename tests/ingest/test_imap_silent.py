"""An IMAP connection that dies without a word in IDLE is noticed soon (real Dovecot behind a relay).

The relay is plain TCP, no IMAP: it forwards bytes to and from Dovecot until
told to stop, and then holds the connections open with nothing passing either
way, as a NAT entry dropped on the path does (or a frozen server: its kernel
still ACKs). New connections through it are forwarded again.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from pathlib import Path

import pytest

from gateway.config import Settings
from gateway.ingest import imap_state as state
from gateway.ingest.imap import new_source
from gateway.ingest.imap_follow import Follower
from gateway.store.db import Store
from gateway.store.models_imap import ImapSource
from gateway.worker import Processor
from tests.dovecot import Dovecot, dovecot_binary
from tests.helpers import add_feed, wait_for
from tests.ingest.conftest import PASSWORD
from tests.ingest.test_imap import conversations, message_ids

pytestmark = pytest.mark.skipif(dovecot_binary() is None, reason="dovecot not installed: `make test` installs it")


class Relay:
    """127.0.0.1:`port` forwarded to `target`; `freeze()` stops the connections open now, silently."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.frozen: list[threading.Event] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            server = socket.create_connection(("127.0.0.1", self.target))
            frozen = threading.Event()
            self.sockets += [client, server]
            self.frozen.append(frozen)
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=_pump, args=(a, b, frozen), daemon=True).start()

    def freeze(self) -> None:
        for f in self.frozen:
            f.set()

    def close(self) -> None:
        self.listener.close()
        for s in self.sockets:
            s.close()


def _pump(a: socket.socket, b: socket.socket, frozen: threading.Event) -> None:
    """Copy a to b until either closes, or until frozen: then read nothing more, and close nothing."""
    try:
        while not frozen.is_set():
            if select.select([a], [], [], 0.05)[0] and not frozen.is_set():
                data = a.recv(65536)
                if not data:
                    b.shutdown(socket.SHUT_WR)
                    return
                b.sendall(data)
    except OSError:
        return


def last_error(store: Store, source_id: int) -> str:
    with store.read() as session:
        row = session.get(ImapSource, source_id)
        return row.last_error if row else ""


def test_a_connection_that_dies_silently_in_idle_is_noticed_within_two_checks_and_followed_again(
    settings: Settings, store: Store, dovecot: Dovecot, tmp_path: Path
) -> None:
    """It was noticed only when IDLE was renewed, 25 minutes on, and a minute later: /healthz said ok meanwhile."""
    settings = settings.model_copy(update={"imap_idle_check_seconds": 1, "imap_backoff_max_seconds": 1})
    relay = Relay(dovecot.port)
    url = f"imap://team@127.0.0.1:{relay.port}/INBOX"
    (tmp_path / "pw").write_text(PASSWORD)
    with store.write() as session, session.begin():
        cols = new_source(url=url, password_file=str(tmp_path / "pw"), password_env=None, after="none")
        source_id = state.add_source(session=session, feed_id=add_feed(store), **cols)
    dovecot.append("team", conversations(1))
    processor = Processor(store, settings, map)
    processor.start()
    follower = Follower(store, settings, source_id, processor.wake)
    follower.start()
    try:
        wait_for(lambda: len(message_ids(store)) == 1, timeout=10)
        wait_for(follower.waiting.is_set, timeout=5)
        time.sleep(1.5)  # a check or two passes while the connection is alive: no false alarm
        assert last_error(store, source_id) == ""
        relay.freeze()
        frozen_at = time.monotonic()
        error = wait_for(lambda: last_error(store, source_id), timeout=10)
        noticed = time.monotonic() - frozen_at
        assert error == "connection failed: timed out" and noticed < 2 * 1 + 1.5, (error, noticed)
        dovecot.append("team", conversations(1, prefix="after"))
        wait_for(lambda: "after0@example.com" in message_ids(store), timeout=8)
        wait_for(lambda: last_error(store, source_id) == "", timeout=5)
    finally:
        follower.stop()
        processor.stop()
        relay.close()
