"""Changing IMAP sources while they are followed: `mailfeed imap edit|remove`, and folder names past ASCII."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from gateway.config import Settings
from gateway.ingest import imap_state as state
from gateway.ingest.imap import new_source, parse_after, parse_url, sync_once
from gateway.ingest.imap_followers import Followers
from gateway.store.db import Store, open_store
from gateway.store.models import RawMessage
from gateway.store.models_imap import ImapSource
from gateway.worker import Processor
from tests.dovecot import Dovecot, dovecot_binary
from tests.helpers import add_feed, wait_for
from tests.ingest.conftest import PASSWORD, in_process_cli
from tests.ingest.test_imap import conversations, cursor, message_ids, source

pytestmark = pytest.mark.skipif(dovecot_binary() is None, reason="dovecot not installed: `make test` installs it")


@pytest.fixture
def dovecot(dovecot: Dovecot) -> Dovecot:
    """The shared one (conftest.py), with the user ops too."""
    dovecot.add_user("ops", "ops-pass")
    return dovecot


def mailfeed(settings: Settings, *args: str) -> str:
    """The command as an admin runs it beside `serve`: its own process, on the test's database; its stdout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILFEED_")}
    env.update(MAILFEED_DATA_DIR=str(settings.data_dir), MAILFEED_DATABASE_URL=settings.db_url)
    done = subprocess.run(
        [sys.executable, "-m", "gateway", *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def last_error(store: Store, source_id: int) -> str:
    with store.read() as session:
        row = session.get(ImapSource, source_id)
        return row.last_error if row else ""


# a running serve ----------------------------------------------------------------------------------


def test_a_removed_source_is_let_go_within_10_s_and_its_messages_stay(
    settings: Settings, store: Store, dovecot: Dovecot, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A long lease (renewed every 200 s) so only the rescan can notice; the other source goes on."""
    settings = settings.model_copy(update={"imap_lease_seconds": 600})
    team = source(store, dovecot, add_feed(store), tmp_path)
    ops_feed = add_feed(store, "ops", "ops@example.com")
    ops = source(store, dovecot, ops_feed, tmp_path, user="ops")
    dovecot.append("team", conversations(3))
    dovecot.append("ops", conversations(1, prefix="o"))
    processor = Processor(store, settings, map)
    processor.start()
    followers = Followers(store, settings, processor.wake)
    followers.start()
    try:
        wait_for(lambda: len(message_ids(store)) == 4, timeout=10)
        wait_for(followers.followers[team.id].waiting.is_set, timeout=5)
        with caplog.at_level(logging.INFO, logger="gateway.ingest"):
            said = mailfeed(settings, "imap", "remove", str(team.id))
            started = time.monotonic()
            wait_for(lambda: followers.following == [ops.id], timeout=12)
            assert time.monotonic() - started < 11.5
        assert said == (
            f"removed source {team.id} (imap://team@127.0.0.1:{dovecot.port}/INBOX); the 3 messages it stored "
            f"stay; serve {followers.holder} stops following it within 10 s\n"
        )
        assert f"IMAP source {team.id} was removed; no longer following it" in caplog.text
        assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
        dovecot.append("ops", conversations(1, prefix="o-live"))
        wait_for(lambda: "o-live0@example.com" in message_ids(store), timeout=5)
    finally:
        followers.stop()
        processor.stop()
    assert cursor(store, team) is None and cursor(store, ops) is not None
    with store.read() as session:
        assert session.get(ImapSource, team.id) is None
    assert len(message_ids(store)) == 5


def test_an_edited_password_and_after_action_reach_a_running_follower_within_10_s(
    settings: Settings, store: Store, dovecot: Dovecot, tmp_path: Path
) -> None:
    """Fixed while the follower waits out a wrong password's backoff (150-300 s), then changed while it
    is in IDLE: each time it reads the source again and connects with it."""
    settings = settings.model_copy(update={"imap_lease_seconds": 600})
    team = source(store, dovecot, add_feed(store), tmp_path, password="wrong")
    dovecot.append("team", conversations(2))
    processor = Processor(store, settings, map)
    processor.start()
    followers = Followers(store, settings, processor.wake)
    followers.start()
    try:
        assert wait_for(lambda: last_error(store, team.id), timeout=10).startswith("login as 'team' refused")
        good = tmp_path / "good.pw"
        good.write_text(PASSWORD + "\n")
        said = mailfeed(settings, "imap", "edit", str(team.id), "--password-file", str(good), "--after", "seen")
        assert said == (
            f"IMAP source {team.id} (imap://team@127.0.0.1:{dovecot.port}/INBOX): after=seen, password from file "
            f"{good}; a running serve connects again with it within 10 s; its next pass also flags \\Seen on the "
            "messages it stored before that are still in the folder\n"
        )
        started = time.monotonic()
        wait_for(lambda: len(message_ids(store)) == 2, timeout=12)
        wait_for(lambda: dovecot.uids("team", criteria="UNSEEN") == [], timeout=5)
        assert time.monotonic() - started < 12 and last_error(store, team.id) == ""
        wait_for(followers.followers[team.id].waiting.is_set, timeout=5)
        mailfeed(settings, "imap", "edit", str(team.id), "--after", "move:Done")
        wait_for(lambda: dovecot.uids("team") == [], timeout=12)
        assert len(dovecot.uids("team", "Done")) == 2 and len(message_ids(store)) == 2
    finally:
        followers.stop()
        processor.stop()


# folder names -------------------------------------------------------------------------------------


def test_a_folder_written_in_modified_utf7_is_the_folder_of_that_name(
    settings: Settings, store: Store, dovecot: Dovecot, tmp_path: Path
) -> None:
    """ "Entw&APw-rfe" (RFC 3501 5.1.3, as Maildir names the directory) went out as "Entw&-APw-rfe":
    "cannot open folder". It is "Entwürfe", one source with its %-encoded spelling; "R&D" is text."""
    feed_id = add_feed(store)
    dovecot.append("team", conversations(2), folder="Entwürfe")
    dovecot.append("team", conversations(1, prefix="rd"), folder="R&D")
    drafts = source(store, dovecot, feed_id, tmp_path, folder="Entw&APw-rfe")
    assert drafts.url.endswith("/Entw%C3%BCrfe") and parse_url(drafts.url).folder == "Entwürfe"
    report = sync_once(store=store, settings=settings, src=drafts)
    assert (report.error, report.found, report.stored) == ("", 2, 2)
    with pytest.raises(state.SourceExists, match=f"already \\(source {drafts.id}\\)"):
        source(store, dovecot, feed_id, tmp_path, folder="Entw%C3%BCrfe")
    rd = source(store, dovecot, feed_id, tmp_path, folder="R&D")
    assert (sync_once(store=store, settings=settings, src=rd).stored, parse_url(rd.url).folder) == (1, "R&D")
    for text in ("Q&A-Archive", "&AGE-", "x&2D0-y", "Entwürfe&APw-"):  # ASCII shifted, a lone surrogate, not ASCII
        assert parse_url(f"imap://team@h/{text}").folder == text
    assert parse_after("move:Archiv/Entw&APw-rfe") == "move:Archiv/Entwürfe"
    assert parse_url("imap://team@h/&ZeVnLIqe-/R&-D").folder == "日本語/R&D"


# the command line ---------------------------------------------------------------------------------


def test_cli_imap_edit_remove_and_folders_shown_as_text(dovecot: Dovecot, tmp_path: Path) -> None:
    """In-process on SQLite, as test_imap.py's CLI test (why there)."""
    run = in_process_cli(tmp_path)

    def refused(*args: str) -> str:
        return " ".join(run(*args, code=1).stderr.split())  # rich may wrap long lines

    base = f"imap://team@127.0.0.1:{dovecot.port}"
    dovecot.append("team", conversations(2), folder="Entwürfe")
    run("feed", "add", "team", "team@example.com")
    added = run("imap", "add", "team", f"{base}/Entw&APw-rfe", "--password-env", "TEAM_IMAP_PASSWORD").stdout
    assert added == f"IMAP source 1: feed team follows {base}/Entwürfe\n"
    assert run("imap", "status").stdout.startswith(f"1\tteam\t{base}/Entwürfe\tafter=none\t")
    for command in ("edit", "remove"):
        assert "mailfeed: error: no IMAP source 7;" in refused(
            "imap", command, "7", *(["--after", "seen"] * (command == "edit"))
        )
    assert "nothing to change" in refused("imap", "edit", "1")
    assert "--after move:Entwürfe: the folder this source follows" in refused(
        "imap", "edit", "1", "--after", "move:Entw&APw-rfe"
    )
    assert "exactly one of --password-file or --password-env" in refused(
        "imap", "edit", "1", "--password-file", "pw", "--password-env", "PW"
    )
    assert (
        f"{base}/INBOX is another mailbox than source 1's {base}/Entwürfe, whose cursor counts the UIDs of its "
        "folder: follow it with `mailfeed imap add team URL …` and stop this one with `mailfeed imap remove 1`"
    ) in refused("imap", "edit", "1", "--url", f"{base}/INBOX")
    assert "after=none\tpassword from environment variable TEAM_IMAP_PASSWORD" in run("imap", "status").stdout
    pw = tmp_path / "team.pw"
    pw.write_text(PASSWORD + "\n")
    moved = run("imap", "edit", "1", "--url", f"imaps://team@127.0.0.1:{dovecot.port}/Entw%C3%BCrfe")
    assert "IMAP source 1 (imaps://team@127.0.0.1:" in moved.stdout  # same mailbox, reached by TLS
    run("imap", "edit", "1", "--url", f"{base}/Entwürfe", "--password-file", str(pw), "--after", "seen")
    assert f"{base}/Entwürfe\tafter=seen\tpassword from file {pw}\t" in run("imap", "status").stdout
    assert "Entwürfe) of feed team: 2 new, 0 refused" in run("imap", "sync").stdout
    assert dovecot.uids("team", "Entwürfe", criteria="UNSEEN") == []
    run("imap", "add", "team", f"{base}/INBOX", "--password-env", "TEAM_IMAP_PASSWORD")
    run("imap", "add", "team", f"imap://ops@127.0.0.1:{dovecot.port}/INBOX", "--password-env", "OPS")
    assert run("imap", "remove", "3").stdout == (
        f"removed source 3 (imap://ops@127.0.0.1:{dovecot.port}/INBOX); the 0 messages it stored stay\n"
    )
    assert run("imap", "remove", "1").stdout == (
        f"removed source 1 ({base}/Entwürfe); the messages it stored stay (2 in feed team came as team, "
        "by it and source 2)\n"
    )
    assert [line.split("\t")[0] for line in run("imap", "status").stdout.splitlines()] == ["2"]
    other = run("feed", "add", "ops", "ops@example.com", "--imap", f"{base}/Entw%C3%BCrfe", "--imap-password-env", "X")
    assert other.stdout == f"feed ops <ops@example.com> created, following {base}/Entwürfe\n"
    store = open_store(f"sqlite:///{tmp_path / 'data' / 'mailfeed.sqlite3'}", upgrade=False)
    try:
        with store.read() as session:
            assert session.scalar(sa.select(sa.func.count()).select_from(RawMessage)) == 2
    finally:
        store.dispose()


def test_moving_to_the_followed_folder_is_refused_however_either_is_spelled() -> None:
    with pytest.raises(ValueError, match="the folder this source follows"):
        new_source(url="imap://team@h/Entw&APw-rfe", password_file="pw", password_env=None, after="move:Entwürfe")


def test_a_source_added_as_one_is_removed_is_never_taken_for_it_by_the_follower_still_running(
    settings: Settings, store: Store, dovecot: Dovecot, tmp_path: Path
) -> None:
    """SQLite gave the removed source's id to the next one: the old follower, not let go yet (the rescan
    comes within 10 s), took the new source's lease, read the folder for the old feed and left the cursor
    at its end, so the new feed never got the folder's earlier mail."""
    settings = settings.model_copy(update={"imap_lease_seconds": 600})
    old_feed, new_feed = add_feed(store), add_feed(store, "ops", "ops@example.com")
    old = source(store, dovecot, old_feed, tmp_path)
    dovecot.append("team", conversations(2))
    followers = Followers(store, settings, rescan_seconds=3600)  # this test says when the rescan comes
    followers.start()
    try:
        wait_for(lambda: raw_count(store, old_feed) == 2, timeout=10)
        follower = followers.followers[old.id]
        wait_for(follower.waiting.is_set, timeout=5)
        with store.write() as session, session.begin():
            state.remove_source(session=session, source_id=old.id)
        new = source(store, dovecot, new_feed, tmp_path)  # the same folder, into another feed
        dovecot.append("team", conversations(3)[2:])  # wakes the old follower up before the rescan
        wait_for(lambda: not follower.alive or (cursor(store, new) or (0, 0))[1] == 3, timeout=10)
        followers.scan()
        wait_for(lambda: raw_count(store, new_feed) == 3 or (cursor(store, new) or (0, 0))[1] == 3, timeout=10)
        time.sleep(0.5)  # a follower that went wrong has nothing more to fetch: what it did is done
        assert (raw_count(store, old_feed), raw_count(store, new_feed)) == (2, 3)
        assert new.id != old.id and last_error(store, new.id) == ""
    finally:
        followers.stop()


def raw_count(store: Store, feed_id: int) -> int:
    with store.read() as session:
        return int(session.scalar(sa.select(sa.func.count()).where(RawMessage.feed_id == feed_id)) or 0)
