"""IMAP sources against a real Dovecot (tests/dovecot.py), on SQLite and on PostgreSQL."""

from __future__ import annotations

import logging
import os
import re
import signal
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from imapclient import IMAPClient
from sqlalchemy.orm import Session

from gateway.config import Settings
from gateway.ingest import imap_state as state
from gateway.ingest.imap import grew, new_source, parse_url, sync_once
from gateway.ingest.imap_follow import Follower, backoff
from gateway.ingest.imap_followers import Followers
from gateway.ingest.imap_lease import Lease
from gateway.pipeline import process_pending
from gateway.store.db import Store, open_store
from gateway.store.models import Entry, RawMessage, Thread
from gateway.store.models_imap import ImapSource
from gateway.worker import Processor
from tests.dovecot import Dovecot, dovecot_binary
from tests.helpers import add_feed, make_mail, smtp_server, wait_for
from tests.ingest.conftest import PASSWORD, in_process_cli
from tests.servers import free_port, start_postgres

pytestmark = pytest.mark.skipif(dovecot_binary() is None, reason="dovecot not installed: `make test` installs it")


def source(
    store: Store,
    dovecot: Dovecot,
    feed_id: int,
    tmp_path: Path,
    *,
    user: str = "team",
    folder: str = "INBOX",
    password: str | None = None,
    after: str = "none",
) -> state.Source:
    """An IMAP source on `feed_id` whose password file holds `password` (the user's by default)."""
    pw_file = tmp_path / f"{user}-{feed_id}.pw"
    pw_file.write_text((password or dovecot.users[user]) + "\n")
    cols = new_source(url=dovecot.url(user, folder), password_file=str(pw_file), password_env=None, after=after)
    with store.write() as session, session.begin():
        source_id = state.add_source(session=session, feed_id=feed_id, **cols)
    with store.read() as session:
        found = state.get_source(session=session, source_id=source_id)
    assert found is not None
    return found


def conversations(n: int, prefix: str = "m") -> list[bytes]:
    """`n` messages in threads of five: a post and a chain of four replies (bytes built by hand: fast)."""
    out = []
    for i in range(n):
        first = i - i % 5
        headers = [
            "From: Ann Author <ann@example.com>",
            "To: team@example.com",
            f"Subject: {'Re: ' if i % 5 else ''}Topic {prefix}{first}",
            f"Date: Mon, 02 Mar 2026 {9 + i // 60 % 12:02d}:{i % 60:02d}:00 +0000",
            f"Message-ID: <{prefix}{i}@example.com>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
        ]
        if i % 5:
            headers.append(f"In-Reply-To: <{prefix}{i - 1}@example.com>")
            headers.append("References: " + " ".join(f"<{prefix}{j}@example.com>" for j in range(first, i)))
        out.append(("\r\n".join(headers) + f"\r\n\r\nMessage {i}.\r\n").encode())
    return out


def message_ids(store: Store, feed_id: int | None = None) -> list[str]:
    with store.read() as session:
        q = sa.select(Entry.message_id)
        if feed_id is not None:
            q = q.where(Entry.feed_id == feed_id)
        return sorted(session.scalars(q))


def cursor(store: Store, src: state.Source) -> tuple[int, int] | None:
    with store.read() as session:
        return state.load_cursor(session=session, source_id=src.id)


def raw_statuses(store: Store) -> dict[str, int]:
    with store.read() as session:
        return dict(session.execute(sa.select(RawMessage.status, sa.func.count()).group_by(RawMessage.status)).all())


# one pass -----------------------------------------------------------------------------------------


def test_500_messages_are_in_the_feed_once_threaded_with_the_cursor_at_the_last_uid(
    settings: Settings, store: Store, dovecot: Dovecot, tmp_path: Path
) -> None:
    feed_id = add_feed(store)
    src = source(store, dovecot, feed_id, tmp_path)
    dovecot.append("team", conversations(500))
    seen: list[tuple[int, int]] = []
    report = sync_once(store=store, settings=settings, src=src, progress=lambda n, total: seen.append((n, total)))
    process_pending(store=store, settings=settings)
    assert (report.error, report.found, report.stored) == ("", 500, 500)
    assert seen[0] == (0, 500) and sum(n for n, _ in seen) == 500 and len(seen) == 6  # batches of 100
    assert message_ids(store) == sorted(f"m{i}@example.com" for i in range(500))
    with store.read() as session:
        counts = list(session.scalars(sa.select(Thread.entry_count)))
        sources = set(session.scalars(sa.select(RawMessage.source)))
    assert len(counts) == 100 and set(counts) == {5}
    assert sources == {"imap"} and raw_statuses(store) == {"posted": 500}
    uids = dovecot.uids("team")
    assert cursor(store, src) == (dovecot.uidvalidity("team"), uids[-1])
    # The mailbox is left as it was (BODY.PEEK[], folder opened read-only).
    assert dovecot.uids("team", criteria="UNSEEN") == uids
    again = sync_once(store=store, settings=settings, src=src)
    assert (again.error, again.found) == ("", 0)


def test_same_message_by_smtp_and_in_the_mailbox_is_one_entry(
    settings: Settings, store: Store, dovecot: Dovecot, tmp_path: Path
) -> None:
    feed_id = add_feed(store)
    src = source(store, dovecot, feed_id, tmp_path)
    mail = make_mail(message_id="both@example.com", subject="Both ways").replace(b"\n", b"\r\n")
    with smtp_server(settings, store) as server:
        with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as client:
            client.sendmail("ann@example.com", ["team@example.com"], mail)
        wait_for(lambda: message_ids(store) == ["both@example.com"])
    # The mailbox copy passed through the MTA: same Message-ID, other bytes; and a byte-exact copy.
    dovecot.append("team", [b"Received: from mx.example.com by imap.example.com\r\n" + mail, mail])
    report = sync_once(store=store, settings=settings, src=src)
    process_pending(store=store, settings=settings)
    assert (report.error, report.found, report.stored) == ("", 2, 2)
    assert message_ids(store) == ["both@example.com"]
    with store.read() as session:
        rows = sorted(session.execute(sa.select(RawMessage.source, RawMessage.status)).all())
    assert rows == [("imap", "duplicate"), ("smtp", "posted")]  # the exact copy is stored once: the SMTP row


def test_dovecot_stopped_mid_sync_resumes_with_nothing_lost_or_doubled(
    settings: Settings, store: Store, dovecot: Dovecot, tmp_path: Path
) -> None:
    feed_id = add_feed(store)
    src = source(store, dovecot, feed_id, tmp_path)
    dovecot.append("team", conversations(70))
    uids = dovecot.uids("team")
    done = []

    def stop_after_two_batches(n: int, total: int) -> None:
        done.append(n)
        if len(done) == 3:  # (0, total) then two batches of 20
            dovecot.stop()

    cut = sync_once(store=store, settings=settings, src=src, progress=stop_after_two_batches, batch=20)
    assert cut.error.startswith(("connection failed", "IMAP error")), cut.error
    assert cursor(store, src) == (cut.uidvalidity, uids[39])
    with store.read() as session:
        row = session.get(ImapSource, src.id)
        assert row is not None and row.last_error == cut.error
    dovecot.start()
    resumed = sync_once(store=store, settings=settings, src=src, batch=20)
    process_pending(store=store, settings=settings)
    assert (resumed.error, resumed.found) == ("", 30)
    assert cursor(store, src) == (cut.uidvalidity, uids[-1])
    assert message_ids(store) == sorted(f"m{i}@example.com" for i in range(70))
    assert raw_statuses(store) == {"posted": 70}


def test_a_mailbox_message_without_a_date_is_dated_when_the_server_got_it(
    settings: Settings, store: Store, dovecot: Dovecot, tmp_path: Path
) -> None:
    """IMAP's INTERNALDATE, not the day mailfeed read the folder."""
    feed_id = add_feed(store)
    src = source(store, dovecot, feed_id, tmp_path)
    undated = b"From: Ann <ann@example.com>\r\nSubject: undated\r\nMessage-ID: <undated@x>\r\n\r\nA note.\r\n"
    got = datetime(2019, 5, 6, 7, 8, 9, tzinfo=timezone(timedelta(hours=2)))
    with dovecot.client("team") as c:
        c.append("INBOX", undated, msg_time=got)
    sync_once(store=store, settings=settings, src=src)
    process_pending(store=store, settings=settings)
    with store.read() as session:
        assert session.scalar(sa.select(Entry.date).where(Entry.message_id == "undated@x")) == got


def test_a_message_flagged_deleted_in_the_mailbox_is_not_posted(
    settings: Settings, store: Store, dovecot: Dovecot, tmp_path: Path
) -> None:
    """A reader deleted it; the EXPUNGE had not come yet when mailfeed read the folder."""
    feed_id = add_feed(store)
    src = source(store, dovecot, feed_id, tmp_path)
    dovecot.append("team", conversations(3))
    with dovecot.client("team") as c:
        c.select_folder("INBOX")
        c.add_flags([2], [b"\\Deleted"])
    report = sync_once(store=store, settings=settings, src=src)
    process_pending(store=store, settings=settings)
    assert (report.found, report.stored, report.deleted, report.error) == (3, 2, 1, "")
    assert message_ids(store) == ["m0@example.com", "m2@example.com"]
    assert cursor(store, src) == (dovecot.uidvalidity("team"), 3)  # passed over, not read again


def test_uidvalidity_change_reads_the_folder_again_without_duplicates(
    settings: Settings, store: Store, dovecot: Dovecot, tmp_path: Path
) -> None:
    feed_id = add_feed(store)
    src = source(store, dovecot, feed_id, tmp_path, folder="Team")
    mails = conversations(20)
    dovecot.append("team", mails, folder="Team")
    first = sync_once(store=store, settings=settings, src=src)
    old = dovecot.uidvalidity("team", "Team")
    dovecot.recreate("team", "Team")
    # Restored from a backup: half the bytes as they were, half with a header added, and one new.
    restored = mails[:10] + [b"X-Restored: yes\r\n" + m for m in mails[10:]] + conversations(1, prefix="new")
    dovecot.append("team", restored, folder="Team")
    new = dovecot.uidvalidity("team", "Team")
    assert new != old
    second = sync_once(store=store, settings=settings, src=src)
    process_pending(store=store, settings=settings)
    assert (first.found, second.found, second.resync, second.error) == (20, 21, True, "")
    assert cursor(store, src) == (new, max(dovecot.uids("team", "Team")))
    assert message_ids(store) == sorted([f"m{i}@example.com" for i in range(20)] + ["new0@example.com"])
    assert raw_statuses(store) == {"posted": 21, "duplicate": 10}


def test_after_commit_messages_can_be_flagged_seen_or_moved(
    settings: Settings, store: Store, dovecot: Dovecot, tmp_path: Path
) -> None:
    dovecot.add_user("ops", "ops-pass")
    seen_src = source(store, dovecot, add_feed(store), tmp_path, after="seen")
    move_src = source(
        store, dovecot, add_feed(store, "ops", "ops@example.com"), tmp_path, user="ops", after="move:Archive"
    )
    dovecot.append("team", conversations(5))
    dovecot.append("ops", conversations(5, prefix="o"))
    for src in (seen_src, move_src):
        assert sync_once(store=store, settings=settings, src=src).error == ""
    assert dovecot.uids("team", criteria="UNSEEN") == [] and len(dovecot.uids("team")) == 5
    assert dovecot.uids("ops") == [] and len(dovecot.uids("ops", "Archive")) == 5
    process_pending(store=store, settings=settings)
    assert len(message_ids(store)) == 10


def test_wrong_password_is_reported_and_not_logged(
    settings: Settings, store: Store, dovecot: Dovecot, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    src = source(store, dovecot, add_feed(store), tmp_path, password="not-the-Password-42")
    with caplog.at_level(logging.DEBUG):
        report = sync_once(store=store, settings=settings, src=src)
    assert report.error.startswith("login as 'team' refused (")
    assert report.error.endswith(f"; check the password in file {src.password_file}")
    assert f"IMAP source {src.id} (imap://team@127.0.0.1:{dovecot.port}/INBOX) of feed team:" in caplog.text
    assert "not-the-Password-42" not in caplog.text
    with store.read() as session:
        row = session.get(ImapSource, src.id)
        assert row is not None and row.last_error == report.error and row.last_ok_at is None
        assert "not-the-Password-42" not in repr(row.model_dump())


def test_a_password_past_ascii_logs_in_and_one_not_utf8_is_named(
    settings: Settings, store: Store, dovecot: Dovecot, tmp_path: Path
) -> None:
    """ "pässwört" crashed `imap sync` with a traceback (imaplib's LOGIN takes ASCII), and the sources
    after it were never read; a password file that is no UTF-8 did the same."""
    dovecot.add_user("ops", "pässwört-42")
    src = source(store, dovecot, add_feed(store, "ops", "ops@example.com"), tmp_path, user="ops")
    dovecot.append("ops", conversations(2, prefix="u"))
    assert sync_once(store=store, settings=settings, src=src).error == ""
    Path(src.password_file).write_bytes(b"\xff\xfep\x00w\n")
    report = sync_once(store=store, settings=settings, src=src)
    assert report.error == f"the password file {src.password_file} is not UTF-8 text"


def test_plain_imap_is_refused_towards_a_non_loopback_address(settings: Settings, store: Store, tmp_path: Path) -> None:
    address = _local_non_loopback_address()
    d = Dovecot(address=address)
    d.add_user("team", PASSWORD)
    try:
        d.start()
        src = source(store, d, add_feed(store), tmp_path)
        report = sync_once(store=store, settings=settings, src=src)
    finally:
        d.close()
    assert report.error == (
        f"{address} ({address}) offers no STARTTLS; refusing to send the password in clear "
        "text to a non-loopback address (use imaps://)"
    )


def _local_non_loopback_address() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing address
            address = s.getsockname()[0]
        except OSError:
            address = "127.0.0.1"
    if address.startswith("127."):
        pytest.skip("this machine has no non-loopback IPv4 address")
    return address


# following ------------------------------------------------------------------------------------------


def test_message_appended_while_idle_arrives_within_5_s_also_after_a_dovecot_restart(
    settings: Settings, store: Store, dovecot: Dovecot, tmp_path: Path
) -> None:
    feed_id = add_feed(store)
    src = source(store, dovecot, feed_id, tmp_path)
    dovecot.append("team", conversations(3))
    processor = Processor(store, settings, map)
    processor.start()
    follower = Follower(store, settings, src.id, processor.wake)
    follower.start()
    try:
        wait_for(lambda: len(message_ids(store)) == 3, timeout=10)
        wait_for(follower.waiting.is_set, timeout=5)
        started = time.monotonic()
        dovecot.append("team", conversations(1, prefix="live"))
        wait_for(lambda: "live0@example.com" in message_ids(store), timeout=5)
        assert time.monotonic() - started < 5
        dovecot.stop()
        dovecot.start()
        dovecot.append("team", conversations(1, prefix="after-restart"))
        wait_for(lambda: "after-restart0@example.com" in message_ids(store), timeout=15)
    finally:
        follower.stop()
        processor.stop()
    assert len(message_ids(store)) == 5 and raw_statuses(store) == {"posted": 5}


def follow_until_meanwhile(store: Store, settings: Settings, make: Callable[[Callable[[], None]], Follower]) -> None:
    """Run the follower `make(wake)` beside a processor until the "meanwhile" message is in the feed (5 s)."""
    processor = Processor(store, settings, map)
    processor.start()
    follower = make(processor.wake)
    follower.start()
    try:
        wait_for(lambda: "meanwhile0@example.com" in message_ids(store), timeout=5)
    finally:
        follower.stop()
        processor.stop()


def test_a_message_that_lands_between_select_and_search_is_taken_without_waiting_for_the_next(
    settings: Settings, store: Store, dovecot: Dovecot, tmp_path: Path
) -> None:
    """Its EXISTS comes with the SEARCH's answer, and IDLE does not say it again: the follower passes again."""
    feed_id = add_feed(store)
    src = source(store, dovecot, feed_id, tmp_path)
    dovecot.append("team", conversations(1))
    appended: list[bool] = []

    class AppendingLease(Lease):
        """The real lease; the first pass's hold, between its SELECT and its SEARCH, appends a message."""

        def hold(self, session: Session) -> None:
            super().hold(session)
            if not appended:
                appended.append(True)
                dovecot.append("team", conversations(1, prefix="meanwhile"))

    lease = AppendingLease(store, src.id, "test-instance", settings.imap_lease_seconds)
    follow_until_meanwhile(store, settings, lambda wake: Follower(store, settings, src.id, wake, lease))
    assert appended and len(message_ids(store)) == 2 and raw_statuses(store) == {"posted": 2}


def test_a_message_that_lands_just_before_idle_is_taken_without_waiting_for_the_next(
    settings: Settings, store: Store, dovecot: Dovecot, tmp_path: Path
) -> None:
    """Its EXISTS comes in the same read as IDLE's "+ idling", into imaplib's buffer, where polling
    the socket never finds it: the follower reads that buffer as IDLE begins."""
    feed_id = add_feed(store)
    src = source(store, dovecot, feed_id, tmp_path)
    dovecot.append("team", conversations(1))
    appended: list[bool] = []

    class AppendingFollower(Follower):
        """The real follower; after its first pass, right before IDLE, a message is appended."""

        def _idle(self, client: IMAPClient) -> None:
            if not appended:
                appended.append(True)
                dovecot.append("team", conversations(1, prefix="meanwhile"))
            super()._idle(client)

    follow_until_meanwhile(store, settings, lambda wake: AppendingFollower(store, settings, src.id, wake))
    assert appended and len(message_ids(store)) == 2 and raw_statuses(store) == {"posted": 2}


def test_only_an_exists_above_the_selects_less_expunges_is_new_mail() -> None:
    assert grew([3, 4], 0) and grew([3, 3, 4], 0)
    assert not grew([3], 0) and not grew([3, 3], 0)  # unasked repeats of the same size: no pass again, no loop
    assert grew([3, 3], 1)  # one moved away by the after action, one new
    assert not grew([3, 2], 1)


def test_a_follower_outlives_a_database_outage(dovecot: Dovecot, tmp_path: Path) -> None:
    """Mail that arrives while the database is away is committed once it is back, by the same thread."""
    pg = start_postgres()
    store = open_store(pg.url())
    try:
        settings = Settings(data_dir=tmp_path / "data", database_url=pg.url(), workers=1, imap_backoff_max_seconds=1)
        feed_id = add_feed(store)
        src = source(store, dovecot, feed_id, tmp_path)
        processor = Processor(store, settings, map)
        processor.start()
        follower = Follower(store, settings, src.id, processor.wake)
        follower.start()

        def ids() -> list[str]:
            try:
                return message_ids(store)
            except sa.exc.OperationalError:  # this test's pooled connections died with the server
                return []

        try:
            wait_for(follower.waiting.is_set, timeout=10)
            pg.stop(keep=True)
            dovecot.append("team", conversations(1, prefix="during"))
            time.sleep(3)  # the follower fetches it, cannot commit, backs off and tries again, twice or more
            assert follower.alive
            pg.start()
            wait_for(lambda: "during0@example.com" in ids(), timeout=30)
            assert follower.alive
        finally:
            follower.stop()
            processor.stop()
    finally:
        store.dispose()
        pg.stop()


def test_without_idle_the_follower_polls(settings: Settings, store: Store, tmp_path: Path) -> None:
    d = Dovecot(idle=False)
    d.add_user("team", PASSWORD)
    d.start()
    settings = settings.model_copy(update={"imap_poll_seconds": 1})
    src = source(store, d, add_feed(store), tmp_path)
    processor = Processor(store, settings, map)
    processor.start()
    follower = Follower(store, settings, src.id, processor.wake)
    follower.start()
    try:
        wait_for(follower.waiting.is_set, timeout=10)
        d.append("team", conversations(2))
        wait_for(lambda: len(message_ids(store)) == 2, timeout=5)
    finally:
        follower.stop()
        processor.stop()
        d.close()


def test_wrong_password_source_retries_while_others_keep_working(
    settings: Settings, store: Store, dovecot: Dovecot, tmp_path: Path
) -> None:
    dovecot.add_user("ops", "ops-pass")
    settings = settings.model_copy(update={"imap_backoff_max_seconds": 1})
    team = source(store, dovecot, add_feed(store), tmp_path, password="wrong")
    ops_feed = add_feed(store, "ops", "ops@example.com")
    source(store, dovecot, ops_feed, tmp_path, user="ops")
    dovecot.append("team", conversations(2))
    dovecot.append("ops", conversations(2, prefix="o"))
    processor = Processor(store, settings, map)
    processor.start()
    followers = Followers(store, settings, processor.wake, rescan_seconds=0.2)
    followers.start()
    try:
        wait_for(lambda: message_ids(store, ops_feed) == ["o0@example.com", "o1@example.com"], timeout=10)

        def team_error() -> str:
            with store.read() as session:
                row = session.get(ImapSource, team.id)
                return row.last_error if row else ""

        assert wait_for(team_error, timeout=10).startswith("login as 'team' refused")
        dovecot.append("ops", conversations(1, prefix="o-live"))
        wait_for(lambda: "o-live0@example.com" in message_ids(store), timeout=5)
        Path(team.password_file).write_text(PASSWORD + "\n")  # fixed: the next retry gets in
        wait_for(lambda: len(message_ids(store)) == 5, timeout=10)
        assert team_error() == ""
    finally:
        followers.stop()
        processor.stop()


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    for failures, ceiling in ((1, 1), (2, 2), (3, 4), (10, 300)):
        waits = [backoff(failures, cap=300) for _ in range(50)]
        assert all(ceiling / 2 <= w <= ceiling for w in waits) and len(set(waits)) > 1
    assert 150 <= backoff(1, cap=300, permanent=True) <= 300


# configuration -----------------------------------------------------------------------------------


def test_source_urls_and_options_are_checked() -> None:
    assert (
        str(parse_url("imaps://team%40example.com@mail.example.com/INBOX"))
        == "imaps://team@example.com@mail.example.com/INBOX"
    )
    url = parse_url("imap://team@mail.example.com")
    assert (url.port, url.folder, url.user) == (143, "INBOX", "team")
    assert parse_url("imaps://u@h:1993/Lists/Team%20A").folder == "Lists/Team A"
    for bad, words in [
        ("imaps://team:hunter2@mail.example.com/INBOX", "do not put the password in the URL"),
        ("pop3://team@mail.example.com/", "use imaps:// (TLS) or imap:// (STARTTLS)"),
        ("imaps://mail.example.com/INBOX", "give user and host"),
    ]:
        with pytest.raises(ValueError, match=re.escape(words)) as exc:
            new_source(url=bad, password_file="/run/secrets/x", password_env=None, after="none")
        assert "hunter2" not in str(exc.value)
    with pytest.raises(ValueError, match="exactly one of"):
        new_source(url="imaps://u@h/", password_file="/a", password_env="B", after="none")
    with pytest.raises(ValueError, match="use none, seen or move:FOLDER"):
        new_source(url="imaps://u@h/", password_file=None, password_env="B", after="delete")
    cols = new_source(url="imaps://u@h/", password_file="rel/pw", password_env=None, after="move:Done")
    assert cols["password_file"] == os.path.abspath("rel/pw") and cols["after"] == "move:Done"


# the command line -------------------------------------------------------------------------------


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("MAILFEED_")}
    e.update(
        MAILFEED_DATA_DIR=str(tmp_path / "data"),
        MAILFEED_DATABASE_URL=db_url,
        MAILFEED_SMTP_PORT=str(free_port()),
        MAILFEED_HTTP_PORT=str(free_port()),
        MAILFEED_SQLITE_SYNCHRONOUS="NORMAL",
        MAILFEED_WORKERS="1",
        TEAM_IMAP_PASSWORD=PASSWORD,
    )
    return e


def test_cli_feed_add_imap_sync_and_status(dovecot: Dovecot, tmp_path: Path) -> None:
    """The commands in-process (typer's runner), on SQLite only: the CLI leaves closing the
    database to process exit, which in-process shows as unclosed PostgreSQL connections. The
    store underneath is tested on both backends above; `serve` below runs as a real subprocess."""
    mailfeed = in_process_cli(tmp_path)

    dovecot.add_user("ops", "ops-pass")
    added = mailfeed(
        "feed",
        "add",
        "team",
        "team@example.com",
        "--imap",
        dovecot.url("team"),
        "--imap-password-env",
        "TEAM_IMAP_PASSWORD",
    )
    assert f"following imap://team@127.0.0.1:{dovecot.port}/INBOX" in added.stdout
    mailfeed("feed", "add", "ops", "ops@example.com")
    (tmp_path / "ops.pw").write_text("wrong\n")
    assert (
        "IMAP source 2: feed ops follows"
        in mailfeed("imap", "add", "ops", dovecot.url("ops"), "--password-file", str(tmp_path / "ops.pw")).stdout
    )
    refused = mailfeed(
        "feed", "add", "x", "x@example.com", "--imap", "imaps://u:pw@h/", "--imap-password-env", "P", code=1
    )
    assert "do not put the password in the URL" in refused.stderr
    dovecot.append("team", conversations(10))
    dovecot.append("ops", conversations(3, prefix="o"))
    synced = mailfeed("imap", "sync", code=1)  # one source failed; the other was synced all the same
    assert "of feed team: 10 new, 0 refused, cursor" in synced.stdout
    assert "processed: posted 10" in synced.stdout
    assert "of feed ops: error: login as 'ops' refused" in synced.stderr
    assert PASSWORD not in synced.stdout + synced.stderr
    status = mailfeed("imap", "status").stdout.splitlines()
    assert status[0].startswith(
        f"1\tteam\timap://team@127.0.0.1:{dovecot.port}/INBOX\tafter=none\t"
        "password from environment variable TEAM_IMAP_PASSWORD\tcursor "
    )
    assert status[0].endswith("\tok") and "/10\tlease free\tlast ok 20" in status[0]
    assert "\tcursor -\tlease free\tlast ok never\terror at " in status[1] and "login as 'ops' refused" in status[1]
    assert "team@example.com\tteam\t2 threads" in mailfeed("feed", "list").stdout


@pytest.mark.slow
def test_serve_follows_a_source_and_shows_new_mail_within_5_s(
    env: dict[str, str], dovecot: Dovecot, tmp_path: Path
) -> None:
    store = open_store(env["MAILFEED_DATABASE_URL"], upgrade=False)
    try:
        feed_id = add_feed(store)
        cols = new_source(url=dovecot.url("team"), password_file=None, password_env="TEAM_IMAP_PASSWORD", after="none")
        with store.write() as session, session.begin():
            source_id = state.add_source(session=session, feed_id=feed_id, **cols)
        dovecot.append("team", conversations(5))
        log_path = tmp_path / "serve.log"
        with log_path.open("wb") as log:
            server = subprocess.Popen(
                [sys.executable, "-m", "gateway", "serve"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_for(lambda: len(message_ids(store)) == 5, timeout=30)

            def last_ok() -> object:
                with store.read() as session:
                    row = session.get(ImapSource, source_id)
                    return row and row.last_ok_at

            wait_for(last_ok, timeout=10)
            time.sleep(0.3)  # the follower is in IDLE now (if not quite, its pass finds the mail anyway)
            started = time.monotonic()
            dovecot.append("team", conversations(1, prefix="live"))
            wait_for(lambda: "live0@example.com" in message_ids(store), timeout=5)
            assert time.monotonic() - started < 5
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    finally:
        store.dispose()
    text = log_path.read_text()
    assert server.returncode in (0, -signal.SIGTERM), text[-3000:]  # uvicorn re-raises the SIGTERM it handled
    assert f"following IMAP source {source_id}" in text and PASSWORD not in text


def test_moving_mail_to_the_folder_a_source_follows_is_refused() -> None:
    """move:M3 on a source of M3 moved each message back in as new mail, read again at once: a
    hundred passes a second, the server's UIDs climbing, accepted without a word."""
    for folder, after in (("M3", "move:M3"), ("INBOX", "move:inbox")):
        with pytest.raises(ValueError, match="the folder this source follows"):
            new_source(url=f"imap://team@127.0.0.1/{folder}", password_file="pw", password_env=None, after=after)
    assert new_source(url="imap://team@127.0.0.1/M3", password_file="pw", password_env=None, after="move:Archive")


def test_a_login_refused_for_now_is_no_wrong_password_and_inbox_is_one_folder(
    settings: Settings, store: Store, dovecot: Dovecot, tmp_path: Path
) -> None:
    """Dovecot refuses an eleventh connection of one user from one address ("[LIMIT] …"), which ten
    sources on one account reach: mailfeed said "check the password" and waited five minutes.
    And "…/inbox" next to "…/INBOX" was a second source of one folder, fetched twice."""
    from contextlib import ExitStack

    src = source(store, dovecot, add_feed(store), tmp_path)
    with ExitStack() as held:
        for _ in range(10):
            held.enter_context(dovecot.client("team"))
        report = sync_once(store=store, settings=settings, src=src)
    assert report.error.startswith("login as 'team' refused for now ([LIMIT]"), report.error
    assert "check the password" not in report.error
    for spelled in ("inbox", "Inbox/", "INBOX"):
        assert parse_url(f"imap://team@127.0.0.1/{spelled}").folder == "INBOX"
