"""One instance follows each IMAP source (the lease), against a real Dovecot, on SQLite and PostgreSQL.

"Instances" here are `Followers` with their own holder names in one process,
and, once, a real `mailfeed serve` killed with SIGKILL. Dovecot's side is read
from the kernel: the TCP connections established to its port.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.config import Settings
from gateway.ingest import imap_lease
from gateway.ingest.imap import sync_once
from gateway.ingest.imap_followers import Followers
from gateway.ingest.imap_lease import Lease, instance_id
from gateway.store.db import Store, open_store
from gateway.store.models_imap import ImapSource
from gateway.worker import Processor
from tests.conftest import new_postgres_db
from tests.dovecot import Dovecot, dovecot_binary
from tests.helpers import add_feed, wait_for
from tests.ingest.conftest import in_process_cli
from tests.ingest.test_imap import conversations, cursor, message_ids, raw_statuses, source
from tests.servers import Postgres, free_port

pytestmark = pytest.mark.skipif(dovecot_binary() is None, reason="dovecot not installed: `make test` installs it")


def leased(settings: Settings, seconds: int) -> Settings:
    return settings.model_copy(update={"imap_lease_seconds": seconds, "imap_backoff_max_seconds": 1})


def established(port: int) -> int:
    """TCP connections open to a local server on `port` (IPv4), counted on the server's side."""
    with open("/proc/net/tcp") as fh:
        rows = [line.split() for line in fh.readlines()[1:]]
    return sum(1 for r in rows if int(r[1].rsplit(":", 1)[1], 16) == port and r[3] == "01")


def lease_row(store: Store, source_id: int) -> tuple[str, datetime | None]:
    with store.read() as session:
        row = session.get(ImapSource, source_id)
        assert row is not None
        return row.lease_holder, row.lease_expires_at


@contextmanager
def instances(store: Store, settings: Settings, *holders: str) -> Iterator[list[Followers]]:
    """A `Followers` per holder name (as many instances of `serve`), and a processor behind them."""
    processor = Processor(store, settings, map)
    processor.start()
    started = [Followers(store, settings, processor.wake, rescan_seconds=0.2, holder=h) for h in holders]
    try:
        for f in started:
            f.start()
        yield started
    finally:
        for f in started:
            f.stop()
        processor.stop()


def follower_of(group: list[Followers], source_id: int) -> list[str]:
    """The holders among `group` that follow the source now."""
    return [f.holder for f in group if source_id in f.following]


def steadily(check: Callable[[], object], seconds: float) -> None:
    """`check()` holds at every look for `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert check()
        time.sleep(0.1)


# the lease itself -----------------------------------------------------------------------------------


def test_of_eight_instances_trying_at_once_exactly_one_takes_the_lease(
    store: Store, dovecot: Dovecot, tmp_path: Path
) -> None:
    src = source(store, dovecot, add_feed(store), tmp_path)

    def contend(round: str) -> list[str]:
        """Eight new instances try to take a 30 s lease at the same moment; the winners."""
        barrier = threading.Barrier(8)
        won: list[str] = []

        def attempt(name: str) -> None:
            lease = Lease(store, src.id, name, 30)
            barrier.wait()
            if lease.take().ok:
                won.append(name)

        threads = [threading.Thread(target=attempt, args=(f"{round}-{i}",)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return won

    first = contend("first")
    assert len(first) == 1 and lease_row(store, src.id)[0] == first[0]
    assert contend("late") == []  # held and not expired: nobody else, not even all at once
    holder = Lease(store, src.id, first[0], 30)
    assert holder.take().ok  # the holder renews
    refused = Lease(store, src.id, "someone-else", 30).take()
    assert not refused.ok and refused.holder == first[0] and refused.until is not None
    assert refused.until > datetime.now(UTC)
    Lease(store, src.id, "someone-else", 30).release()  # not theirs to release
    assert lease_row(store, src.id)[0] == first[0]
    holder.release()
    assert lease_row(store, src.id) == ("", None)
    # Expired: again exactly one of all those trying at once wins it.
    assert Lease(store, src.id, "short-lived", 0.3).take().ok
    time.sleep(0.5)
    second = contend("after-expiry")
    assert len(second) == 1 and lease_row(store, src.id)[0] == second[0]


def test_instance_id_is_host_pid_and_a_random_suffix_made_once() -> None:
    me = instance_id()
    host, pid, suffix = me.rsplit(":", 2)
    assert (host, int(pid), len(suffix)) == (socket.gethostname(), os.getpid(), 6)
    assert instance_id() == me
    assert imap_lease._instance(os.getpid() + 1) != me


# following -------------------------------------------------------------------------------------------


def test_of_two_instances_only_one_follows_a_source_and_mail_arrives_once(
    settings: Settings, store: Store, dovecot: Dovecot, tmp_path: Path
) -> None:
    settings = leased(settings, 2)
    src = source(store, dovecot, add_feed(store), tmp_path)
    dovecot.append("team", conversations(3))
    with instances(store, settings, "instance-a", "instance-b") as group:
        wait_for(lambda: len(message_ids(store)) == 3, timeout=10)
        holder = wait_for(lambda: follower_of(group, src.id), timeout=5)
        assert len(holder) == 1 and lease_row(store, src.id)[0] == holder[0]
        wait_for(lambda: established(dovecot.port) == 1, timeout=5)
        # Over more than a lease: renewals keep it, the other's rescans (every 0.2 s) never get it.
        steadily(lambda: follower_of(group, src.id) == holder and established(dovecot.port) == 1, 2.5)
        dovecot.append("team", conversations(2, prefix="live"))
        wait_for(lambda: len(message_ids(store)) == 5, timeout=5)
        assert established(dovecot.port) == 1 and follower_of(group, src.id) == holder
    assert message_ids(store) == sorted(
        [f"m{i}@example.com" for i in range(3)] + ["live0@example.com", "live1@example.com"]
    )
    assert raw_statuses(store) == {"posted": 5}
    assert lease_row(store, src.id) == ("", None)  # both stopped cleanly: released


def test_a_clean_stop_hands_the_source_over_at_once(
    settings: Settings, store: Store, dovecot: Dovecot, tmp_path: Path
) -> None:
    settings = leased(settings, 6)  # renewed every 2 s: a hand-over by expiry would take 4 s or more
    src = source(store, dovecot, add_feed(store), tmp_path)
    with instances(store, settings, "instance-a") as (a,), instances(store, settings, "instance-b") as (b,):
        wait_for(lambda: src.id in a.following, timeout=5)
        assert b.following == []
        stopped = time.monotonic()
        a.stop()
        assert lease_row(store, src.id)[0] != "instance-a"
        wait_for(lambda: src.id in b.following, timeout=5)
        handover = time.monotonic() - stopped
        assert handover < 1.5 and lease_row(store, src.id)[0] == "instance-b"
        wait_for(lambda: cursor(store, src) is not None, timeout=5)
        dovecot.append("team", conversations(2, prefix="after"))
        wait_for(lambda: len(message_ids(store)) == 2, timeout=5)
        assert established(dovecot.port) == 1
    assert message_ids(store) == ["after0@example.com", "after1@example.com"]
    assert raw_statuses(store) == {"posted": 2}


def test_a_holder_that_vanishes_is_replaced_when_its_lease_expires(
    settings: Settings, store: Store, dovecot: Dovecot, tmp_path: Path
) -> None:
    settings = leased(settings, 2)
    assert Followers(store, settings).rescan_seconds == 1.0  # serve's default: every half lease at most
    src = source(store, dovecot, add_feed(store), tmp_path)
    with instances(store, settings, "instance-a") as (a,), instances(store, settings, "instance-b") as (b,):
        wait_for(lambda: src.id in a.following, timeout=5)
        wait_for(lambda: cursor(store, src) is not None, timeout=5)
        for f in a.followers.values():
            f.lease.release = lambda: None  # type: ignore[method-assign]  # as after kill -9: never released
        a.stop()
        holder, until = lease_row(store, src.id)
        assert holder == "instance-a" and until is not None
        assert b.following == []
        wait_for(lambda: src.id in b.following, timeout=5)
        taken = datetime.now(UTC)
        assert until <= taken, (until, taken)  # not before the lease ran out…
        assert (taken - until).total_seconds() < 1.0  # …and soon after (rescans every 0.2 s)
        dovecot.append("team", conversations(1, prefix="after"))
        wait_for(lambda: message_ids(store) == ["after0@example.com"], timeout=5)
    assert raw_statuses(store) == {"posted": 1}


def test_a_follower_that_loses_its_lease_stops_following_and_closes_its_connection(
    settings: Settings, store: Store, dovecot: Dovecot, tmp_path: Path
) -> None:
    settings = leased(settings, 2)
    src = source(store, dovecot, add_feed(store), tmp_path)
    with instances(store, settings, "instance-a") as (a,):
        wait_for(lambda: src.id in a.following and established(dovecot.port) == 1, timeout=5)
        follower = a.followers[src.id]
        wait_for(follower.waiting.is_set, timeout=5)  # in IDLE
        # Another holder has it now (as if ours had expired while this instance was stalled).
        with store.write() as session, session.begin():
            row = session.get(ImapSource, src.id)
            assert row is not None
            row.lease_holder, row.lease_expires_at = "instance-b", datetime.now(UTC) + timedelta(seconds=30)
        wait_for(lambda: not follower.alive, timeout=3)  # at its next renewal, within a third of a lease
        wait_for(lambda: established(dovecot.port) == 0, timeout=3)
        steadily(lambda: a.following == [], 1.0)  # instance-b's lease stands: no re-take
        assert lease_row(store, src.id)[0] == "instance-b"


def test_only_the_lease_holder_commits_a_pass_taken_over_midway_stops_with_its_batch_rolled_back(
    settings: Settings, store: Store, dovecot: Dovecot, tmp_path: Path
) -> None:
    src = source(store, dovecot, add_feed(store), tmp_path)
    dovecot.append("team", conversations(3))
    uids = dovecot.uids("team")

    def taken_over_after_the_first_batch(done: int, total: int) -> None:
        if done:  # as if our lease ran out during a stall and instance-b took the source
            with store.write() as session, session.begin():
                row = session.get(ImapSource, src.id)
                assert row is not None
                row.lease_holder, row.lease_expires_at = "instance-b", datetime.now(UTC) + timedelta(seconds=30)

    report = sync_once(store=store, settings=settings, src=src, batch=1, progress=taken_over_after_the_first_batch)
    assert report.held is not None and report.held.holder == "instance-b" and report.error == ""
    assert report.stored == 1 and cursor(store, src) == (dovecot.uidvalidity("team"), uids[0])
    assert sum(raw_statuses(store).values()) == 1  # the second batch's raw row was rolled back with its cursor
    assert lease_row(store, src.id)[0] == "instance-b"  # and ours was not "released" over theirs


# imap sync (cron) -------------------------------------------------------------------------------------


def test_imap_sync_skips_a_source_another_instance_holds_and_takes_the_lease_otherwise(
    settings: Settings, store: Store, dovecot: Dovecot, tmp_path: Path
) -> None:
    src = source(store, dovecot, add_feed(store), tmp_path)
    dovecot.append("team", conversations(2))
    elsewhere = Lease(store, src.id, "serve-elsewhere", 60)
    assert elsewhere.take().ok
    logins = dovecot.log().count("Login: user=<team>")
    skipped = sync_once(store=store, settings=settings, src=src)
    assert skipped.held is not None and skipped.held.holder == "serve-elsewhere"
    assert str(skipped.held).startswith("held by serve-elsewhere until 20")
    assert (skipped.found, skipped.error, cursor(store, src)) == (0, "", None)
    assert dovecot.log().count("Login: user=<team>") == logins  # not even connected
    assert lease_row(store, src.id)[0] == "serve-elsewhere"
    elsewhere.release()
    holders: list[str] = []
    report = sync_once(
        store=store, settings=settings, src=src, progress=lambda n, total: holders.append(lease_row(store, src.id)[0])
    )
    assert (report.held, report.error, report.found) == (None, "", 2)
    assert set(holders) == {instance_id()}  # held for the pass…
    assert lease_row(store, src.id) == ("", None)  # …and released after


def test_cli_imap_sync_says_who_holds_a_source_and_status_shows_the_lease(dovecot: Dovecot, tmp_path: Path) -> None:
    """In-process on SQLite, like test_imap.py's CLI test (the CLI leaves closing the database to exit)."""
    run = in_process_cli(tmp_path)

    def mailfeed(*args: str) -> str:
        return run(*args).stdout

    mailfeed(
        "feed",
        "add",
        "team",
        "team@example.com",
        "--imap",
        dovecot.url("team"),
        "--imap-password-env",
        "TEAM_IMAP_PASSWORD",
    )
    dovecot.append("team", conversations(2))
    store = open_store(f"sqlite:///{tmp_path / 'data' / 'mailfeed.sqlite3'}", upgrade=False)
    try:
        assert Lease(store, 1, "serve-elsewhere", 60).take().ok
        until = lease_row(store, 1)[1]
        assert until is not None
        when = until.isoformat(timespec="seconds")
        synced = mailfeed("imap", "sync")
        assert f"of feed team: skipped, held by serve-elsewhere until {when}" in synced
        assert "processed: nothing new" in synced
        assert f"\tcursor -\tlease serve-elsewhere until {when}\tlast ok never\t" in mailfeed("imap", "status")
        Lease(store, 1, "serve-elsewhere", 60).release()
        assert "of feed team: 2 new, 0 refused" in mailfeed("imap", "sync")
        assert "\tlease free\tlast ok 20" in mailfeed("imap", "status")
    finally:
        store.dispose()


# a real serve, killed ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_serve_killed_with_sigkill_is_replaced_by_another_instance_after_the_lease(
    postgres: Postgres, dovecot: Dovecot, tmp_path: Path
) -> None:
    url = new_postgres_db(postgres)
    settings = Settings(
        data_dir=tmp_path / "data", database_url=url, workers=1, imap_lease_seconds=2, imap_backoff_max_seconds=1
    )
    store = open_store(url, upgrade=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILFEED_")}
    env.update(
        MAILFEED_DATA_DIR=str(tmp_path / "data"),
        MAILFEED_DATABASE_URL=url,
        MAILFEED_WORKERS="1",
        MAILFEED_SMTP_PORT=str(free_port()),
        MAILFEED_HTTP_PORT=str(free_port()),
        MAILFEED_IMAP_LEASE_SECONDS="2",
    )
    try:
        src = source(store, dovecot, add_feed(store), tmp_path)
        source_id = src.id
        dovecot.append("team", conversations(3))
        with (tmp_path / "serve.log").open("wb") as log:
            serve = subprocess.Popen(
                [sys.executable, "-m", "gateway", "serve"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_for(
                lambda: lease_row(store, source_id)[0].startswith(f"{socket.gethostname()}:{serve.pid}:"), timeout=30
            )
            wait_for(lambda: cursor(store, src) == (dovecot.uidvalidity("team"), 3), timeout=15)  # committed
            with instances(store, settings, "instance-b") as (b,):
                steadily(lambda: b.following == [] and established(dovecot.port) == 1, 1.5)
                os.killpg(serve.pid, signal.SIGKILL)
                serve.wait(timeout=10)
                until = lease_row(store, source_id)[1]
                assert until is not None
                wait_for(lambda: source_id in b.following, timeout=6)
                taken = datetime.now(UTC)
                assert until <= taken and (taken - until).total_seconds() < 2.0, (until, taken)
                dovecot.append("team", conversations(1, prefix="after-kill"))
                wait_for(lambda: len(message_ids(store)) == 4, timeout=10)
                assert established(dovecot.port) == 1
        finally:
            if serve.poll() is None:
                os.killpg(serve.pid, signal.SIGKILL)
                serve.wait(timeout=10)
        assert "after-kill0@example.com" in message_ids(store) and raw_statuses(store) == {"posted": 4}
    finally:
        store.dispose()
