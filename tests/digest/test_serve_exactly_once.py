"""Digests exactly once with real `mailfeed serve` processes and a real SMTP relay (tests/digest/sink.py).

The clock is pinned with MAILFEED_DIGEST_CLOCK_START; every reader's daily
08:00 UTC digest is due when serve starts. A digest's Message-ID is fixed per
subscription and period, so a duplicate shows as the same Message-ID twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from gateway.digest.runs import LEASE
from gateway.digest.send import CONNECTIONS
from gateway.store.models_digest import DigestRun
from tests.conftest import new_postgres_db
from tests.digest.readers import populate
from tests.digest.sink import Sink, SinkHandler, smtp_sink
from tests.helpers import wait_for
from tests.servers import Postgres, free_port, wait_for_port

pytestmark = pytest.mark.slow

DUE = datetime(2026, 3, 27, 9, 0, tzinfo=UTC)  # the 08:00 UTC digest of 2026-03-27 is due


@dataclass
class Ledger:
    """The digest ledger as the database holds it, read from outside the serve processes."""

    url: str
    engine: sa.Engine = field(init=False)
    checked: int = 0
    ahead: list[str] = field(default_factory=list)  # connections that sent on before their last digest was recorded

    def __post_init__(self) -> None:
        self.engine = sa.create_engine(self.url)

    def statuses(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(DigestRun.status, sa.func.count()).group_by(DigestRun.status))
            return {status: n for status, n in rows}

    def sent_ids(self) -> set[str]:
        with self.engine.connect() as conn:
            return set(conn.scalars(sa.select(DigestRun.message_id).where(DigestRun.status == "sent")))

    def recorded_before_next(self, message_id: str) -> None:
        """Sink hook: a connection that got a 250 for `message_id` starts its next digest."""
        self.checked += 1
        with self.engine.connect() as conn:
            status = conn.scalar(sa.select(DigestRun.status).where(DigestRun.message_id == message_id))
        if status != "sent":
            self.ahead.append(f"{message_id}: {status}")

    def dispose(self) -> None:
        self.engine.dispose()


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    target = tmp_path / "mailfeed.sqlite3"
    target.write_bytes(sqlite_template.read_bytes())
    return f"sqlite:///{target}"


class Served:
    """`mailfeed serve` in its own process group, with a pinned digest clock and `relay` as RELAY_URL."""

    def __init__(self, url: str, relay: str, clock: datetime, tmp_path: Path, name: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAILFEED_")}
        self.http = free_port()
        env.update(
            MAILFEED_DATA_DIR=str(tmp_path / name),
            MAILFEED_DATABASE_URL=url,
            MAILFEED_WORKERS="1",
            MAILFEED_SMTP_PORT=str(free_port()),
            MAILFEED_HTTP_PORT=str(self.http),
            MAILFEED_SQLITE_SYNCHRONOUS="NORMAL",
            MAILFEED_RELAY_URL=relay,
            MAILFEED_BASE_URL="https://feeds.example.com",
            MAILFEED_DIGEST_CLOCK_START=clock.isoformat(),
        )
        self.log = tmp_path / f"{name}.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gateway", "serve"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def ready(self) -> Served:
        wait_for_port(self.http, timeout=60)
        return self

    def kill(self) -> None:
        """SIGKILL to the whole process group (serve and its workers), as a crash or the OOM killer would."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@contextmanager
def serving(url: str, relay: str, clock: datetime, tmp_path: Path, name: str) -> Iterator[Served]:
    served = Served(url, relay, clock, tmp_path, name)
    try:
        yield served.ready()
    finally:
        served.stop()


def assert_each_reader_got_one(sinks: list[Sink], expected: dict[str, str]) -> None:
    got = [r for sink in sinks for r in sink.received]
    assert sorted(r.message_id for r in got) == sorted(expected.values())  # each digest once, none twice
    assert sorted(rcpt for r in got for rcpt in r.rcpt_tos) == sorted(expected)
    for r in got:
        assert expected[r.rcpt_tos[0]] == r.message_id


def test_kill_9_mid_run_then_restart_sends_every_digest_once(sqlite_url: str, tmp_path: Path) -> None:
    expected = populate(sqlite_url, 60, tmp_path)
    ledger = Ledger(sqlite_url)
    accepted = 20
    handler = SinkHandler(hold_after=accepted, before_next=ledger.recorded_before_next)
    try:
        with smtp_sink(handler=handler) as sink:
            with serving(sqlite_url, sink.url, DUE, tmp_path, "serve-1") as first:
                wait_for(lambda: handler.held >= 1, timeout=30)
                time.sleep(1.0)  # every connection is now waiting for a 250 that will not come
                held = handler.held
                first.kill()
                wait_for(lambda: handler.dropped == held, timeout=10)  # the relay saw them go: never accepted
            assert len(sink.received) == accepted
            # every digest the relay took is in the ledger: no connection sent on before its record
            assert ledger.sent_ids() == {r.message_id for r in sink.received}
            assert ledger.statuses() == {"sent": accepted, "claimed": 60 - accepted}
            handler.hold_after = None
            handler.release()
            with serving(sqlite_url, sink.url, DUE + LEASE + timedelta(minutes=1), tmp_path, "serve-2"):
                wait_for(lambda: ledger.statuses() == {"sent": 60}, timeout=30)
            assert_each_reader_got_one([sink], expected)
        assert ledger.checked >= accepted - CONNECTIONS and ledger.ahead == []
    finally:
        ledger.dispose()


def test_relay_down_mid_run_then_back_sends_every_digest_once(sqlite_url: str, tmp_path: Path) -> None:
    expected = populate(sqlite_url, 60, tmp_path)
    ledger = Ledger(sqlite_url)
    port = free_port()
    accepted = 20
    try:
        with ExitStack() as relay_up:
            before = relay_up.enter_context(smtp_sink(port, SinkHandler(hold_after=accepted)))
            with serving(sqlite_url, before.url, DUE, tmp_path, "serve-1") as first:
                wait_for(lambda: before.handler.held >= 1, timeout=30)
                relay_up.close()  # the relay goes away mid-run, its held transactions unanswered
                # what it took is recorded sent; the rest waits for a retry; nothing is lost or left claimed
                wait_for(lambda: ledger.statuses() == {"sent": accepted, "retry": 60 - accepted}, timeout=30)
                assert ledger.sent_ids() == {r.message_id for r in before.received}
                first.kill()
        with smtp_sink(port) as after, serving(sqlite_url, after.url, DUE + timedelta(minutes=2), tmp_path, "serve-2"):
            wait_for(lambda: ledger.statuses() == {"sent": 60}, timeout=30)  # the relay is back, on the same port
        assert len(before.received) == accepted and len(after.received) == 60 - accepted
        assert_each_reader_got_one([before, after], expected)
    finally:
        ledger.dispose()


def test_two_instances_on_one_postgresql_send_200_digests_once(postgres: Postgres, tmp_path: Path) -> None:
    url = new_postgres_db(postgres)
    expected = populate(url, 200, tmp_path)
    ledger = Ledger(url)
    try:
        with smtp_sink(handler=SinkHandler(before_next=ledger.recorded_before_next)) as sink:
            instances = [Served(url, sink.url, DUE, tmp_path, name) for name in ("serve-a", "serve-b")]
            try:
                for served in instances:  # both start at once and race for the same 200 claims
                    served.ready()
                wait_for(lambda: ledger.statuses() == {"sent": 200}, timeout=60)
                time.sleep(1.0)  # a duplicate would arrive now, if either instance had one
            finally:
                for served in instances:
                    served.stop()
            assert_each_reader_got_one([sink], expected)
        assert ledger.checked >= 200 - 2 * CONNECTIONS and ledger.ahead == []
    finally:
        ledger.dispose()
