"""IMAP messages the limits refuse: left where they were, and shown where an admin looks (real Dovecot)."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from gateway.cli import app
from gateway.config import Settings
from gateway.ingest import imap_state as state
from gateway.ingest.imap import sync_once
from gateway.ingest.imap_refusals import Refusal, noted_uids, refusal_note, refusal_part
from gateway.pipeline import process_pending
from gateway.store.db import Store
from gateway.store.models_imap import ImapSource
from tests.dovecot import Dovecot, dovecot_binary
from tests.helpers import add_feed, wait_for
from tests.ingest.test_imap import conversations, message_ids, source

pytestmark = pytest.mark.skipif(dovecot_binary() is None, reason="dovecot not installed: `make test` installs it")

T = TypeVar("T")


def too_big(size: int) -> bytes:
    head = b"From: Ann <ann@example.com>\r\nSubject: slides\r\nMessage-ID: <big@example.com>\r\n\r\n"
    return head + b"x" * (size - len(head) - 2) + b"\r\n"


def nested(depth: int) -> bytes:
    """A multipart `depth` levels deep, a few hundred bytes: under any size limit."""
    head = (
        b"From: Ann <ann@example.com>\r\nSubject: nested\r\nMessage-ID: <nested@example.com>\r\nMIME-Version: 1.0\r\n"
    )
    opening = b"".join(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i) for i in range(depth))
    closing = b"".join(b"\r\n--b%d--\r\n" % i for i in reversed(range(depth)))
    return head + opening + b"Content-Type: text/plain\r\n\r\ndeep\r\n" + closing


def imap_status(settings: Settings, *args: str) -> str:
    """`mailfeed imap status`, where an admin looks."""
    env = {
        "MAILFEED_DATABASE_URL": settings.db_url,
        "MAILFEED_DATA_DIR": str(settings.data_dir),
        "MAILFEED_CONFIG": None,
    }
    result = CliRunner(env=env).invoke(app, ["imap", "status", *args])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


def last_error(store: Store, src: state.Source) -> str:
    with store.read() as session:
        row = session.get(ImapSource, src.id)
        assert row is not None
        return row.last_error


@pytest.mark.parametrize("after", ["seen", "move:Archive"])
def test_a_refused_message_stays_unread_in_its_folder_and_imap_status_names_it(
    after: str, settings: Settings, store: Store, dovecot: Dovecot, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """It was flagged \\Seen or moved away like a stored one, and only the log said it was not stored."""
    settings = settings.model_copy(update={"max_message_bytes": 4000, "max_mime_depth": 5})
    src = source(store, dovecot, add_feed(store), tmp_path, after=after)
    dovecot.append("team", [conversations(1)[0], too_big(5000), nested(8), conversations(2)[1]])  # UIDs 1-4
    with caplog.at_level(logging.WARNING):
        first = sync_once(store=store, settings=settings, src=src)
    assert (first.error, first.found, first.stored, first.refused) == ("", 4, 2, 2)
    assert re.search(r"UID 2 not stored: 552 5\.3\.4 Message too big: 5\d\d\d bytes", caplog.text)
    assert "UID 3 not stored: 554 5.6.0 MIME nesting too deep (more than 5 levels)" in caplog.text

    def untouched() -> list[int]:  # unread and still in INBOX
        return dovecot.uids("team", criteria="UNSEEN")

    assert untouched() == [2, 3] and dovecot.uids("team") == ([1, 2, 3, 4] if after == "seen" else [2, 3])
    noted = last_error(store, src)
    assert noted.startswith("UID 2 not stored: 552 5.3.4 Message too big: ")
    assert noted.endswith("; UID 3 not stored: 554 5.6.0 MIME nesting too deep (more than 5 levels); left in INBOX")
    # The next pass, with new mail, leaves them as they are, and the note stays.
    dovecot.append("team", conversations(3)[2:])
    assert sync_once(store=store, settings=settings, src=src).error == ""
    assert untouched() == [2, 3] and last_error(store, src) == noted
    # A connection error does not wipe it out: it says both.
    dovecot.stop()
    failed = sync_once(store=store, settings=settings, src=src)
    assert last_error(store, src) == f"{failed.error}; {noted}"
    dovecot.start()
    if store.writer.dialect.name == "sqlite":  # in-process, the CLI leaves PostgreSQL connections to exit
        status = imap_status(settings)
        assert "\terror at 20" in status and status.rstrip().endswith(noted)
    # Raised limit: the big one is stored now and gets its after action; the owner deletes the other.
    with dovecot.client("team") as c:
        c.select_folder("INBOX")
        c.delete_messages([3])
        c.expunge()
    again = sync_once(store=store, settings=settings.model_copy(update={"max_message_bytes": 10_000}), src=src)
    assert again.error == "" and last_error(store, src) == "" and untouched() == []
    process_pending(store=store, settings=settings)
    assert "big@example.com" in message_ids(store) and "nested@example.com" not in message_ids(store)


def test_a_refusal_on_a_source_that_changes_nothing_stays_noted_while_the_message_is_there(
    settings: Settings, store: Store, dovecot: Dovecot, tmp_path: Path
) -> None:
    """`none`: the next pass's success wiped the note out within minutes of a follower's IDLE."""
    settings = settings.model_copy(update={"max_message_bytes": 4000})
    src = source(store, dovecot, add_feed(store), tmp_path)
    dovecot.append("team", [too_big(5000)])
    assert sync_once(store=store, settings=settings, src=src).refused == 1
    dovecot.append("team", conversations(1))
    second = sync_once(store=store, settings=settings, src=src)
    assert (second.stored, second.refused) == (1, 0)
    assert last_error(store, src).startswith("UID 1 not stored: 552 5.3.4 Message too big: ")
    with dovecot.client("team") as c:
        c.select_folder("INBOX")
        c.delete_messages([1])
        c.expunge()
    sync_once(store=store, settings=settings, src=src)
    assert last_error(store, src) == ""


def test_a_refusal_note_names_ten_uids_a_reason_and_old_notes_are_read_back_in_linear_time() -> None:
    def why(reason: str) -> Refusal:
        return Refusal(100, reason)

    note = refusal_note({7: why("554 5.6.0 x"), 9: why("554 5.6.0 x"), 12: why("552 5.3.4 y")}, "INBOX")
    assert note == "UIDs 7, 9 not stored: 554 5.6.0 x; UID 12 not stored: 552 5.3.4 y; left in INBOX"
    assert noted_uids(f"connection failed: timed out; {note}") == [7, 9, 12]
    many = refusal_note({u: why(f"552 5.3.4 {u % 7}") for u in range(1, 201)}, "INBOX")
    assert many.startswith("UIDs 1, 8, 15, 22, 29, 36, 43, 50, 57, 64 and 19 more not stored: 552 5.3.4 1; UIDs 2, ")
    assert (
        many.endswith(
            "; 56 more not stored for 2 other reasons; left in INBOX (`mailfeed imap status --refused` lists them)"
        )
        and len(many) < 600
    )
    assert refusal_part(f"timed out; {many}") == many
    # a note written before the source kept its refusals: what the first pass after the upgrade reads
    assert noted_uids("UIDs 1, 2, 3 not stored (nor 150 more): 554 5.6.0 x; left in INBOX") == [1, 2, 3]
    for hostile in ("UIDs " + "1, " * 200_000 + "x", "UID 1" * 100_000, "UIDs 1" + ", 1" * 200_000 + " not store"):
        started = time.perf_counter()
        noted_uids(hostile)
        assert time.perf_counter() - started < 0.5


# what a pass costs ---------------------------------------------------------------------------------

_LOGGED_OUT = re.compile(r"Disconnected: Logged out in=\d+ out=(\d+)")


def served(dovecot: Dovecot, run: Callable[[], T]) -> tuple[T, int]:
    """`run()`'s outcome, and the bytes Dovecot sent in the sessions that ended meanwhile (its own count)."""

    def logged_out() -> list[int]:
        return [int(n) for n in _LOGGED_OUT.findall((dovecot.directory / "dovecot.log").read_text())]

    def settled() -> list[int]:  # Dovecot writes a session's line a moment after its LOGOUT
        seen, now = None, logged_out()
        while seen != now:
            time.sleep(0.2)
            seen, now = now, logged_out()
        return now

    before = len(settled())
    outcome = run()
    wait_for(lambda: logged_out()[before:], timeout=5)
    after = settled()[before:]
    return outcome, sum(after)


def padded(message: bytes, size: int) -> bytes:
    """`message` with its text body grown to about `size` bytes: what downloading it costs shows."""
    return message.replace(b"deep\r\n", b"deep\r\n" + (b"x" * 76 + b"\r\n") * (size // 78))


@pytest.mark.parametrize("after", ["none", "seen"])
def test_a_refused_message_is_not_downloaded_again_while_nothing_could_let_it_in(
    after: str, settings: Settings, store: Store, dovecot: Dovecot, tmp_path: Path
) -> None:
    """Each pass downloaded the 300 KB message the MIME limits refuse, to refuse it again: a follower
    passes at every new message and every IDLE renewal."""
    settings = settings.model_copy(update={"max_mime_depth": 5})
    src = source(store, dovecot, add_feed(store), tmp_path, after=after)
    dovecot.append("team", [padded(nested(8), 300_000)])
    first, sent = served(dovecot, lambda: sync_once(store=store, settings=settings, src=src))
    assert (first.error, first.refused) == ("", 1) and sent > 300_000
    noted = last_error(store, src)
    assert noted.startswith("UID 1 not stored: 554 5.6.0 MIME nesting too deep")
    for _ in range(2):  # nothing changed: the note stays, and the message stays on the server
        again, sent = served(dovecot, lambda: sync_once(store=store, settings=settings, src=src))
        assert again.error == "" and sent < 5_000 and last_error(store, src) == noted
    assert dovecot.uids("team", criteria="UNSEEN") == [1]
    # A raised limit lets it in at the next pass: downloaded once more, and stored.
    raised = settings.model_copy(update={"max_mime_depth": 10})
    stored, sent = served(dovecot, lambda: sync_once(store=store, settings=raised, src=src))
    assert stored.error == "" and sent > 300_000 and last_error(store, src) == ""
    process_pending(store=store, settings=raised)
    assert message_ids(store) == ["nested@example.com"]


def test_every_refusal_is_looked_at_again_and_listed_not_only_the_first_50(
    settings: Settings, store: Store, dovecot: Dovecot, tmp_path: Path
) -> None:
    """Past 50 of one reason the note counted the rest: never looked at again (`none` searches for no
    leftovers), they were not stored when the limit was raised, and nothing named them."""
    settings = settings.model_copy(update={"max_mime_depth": 5})
    src = source(store, dovecot, add_feed(store), tmp_path)
    dovecot.append("team", [nested(8).replace(b"<nested@", b"<nested%d@" % i) for i in range(60)])
    assert sync_once(store=store, settings=settings, src=src).refused == 60
    noted = last_error(store, src)
    reason = "554 5.6.0 MIME nesting too deep (more than 5 levels)"
    assert noted == (
        f"UIDs {', '.join(map(str, range(1, 11)))} and 50 more not stored: {reason}; left in INBOX "
        "(`mailfeed imap status --refused` lists them)"
    )
    if store.writer.dialect.name == "sqlite":  # in-process, the CLI leaves PostgreSQL connections to exit
        listed = imap_status(settings, "--refused").splitlines()
        assert len(listed) == 60 and listed[59].startswith(f"{src.id}\tUID 60\t")
        assert re.fullmatch(rf"{src.id}\tUID 1\t\d+ bytes\treceived 20\d\d-[-\dT:+]+\t{re.escape(reason)}", listed[0])
    assert sync_once(store=store, settings=settings, src=src).error == "" and last_error(store, src) == noted
    raised = settings.model_copy(update={"max_mime_depth": 10})
    assert sync_once(store=store, settings=raised, src=src).error == "" and last_error(store, src) == ""
    process_pending(store=store, settings=raised)
    assert len(message_ids(store)) == 60


def test_a_new_after_action_is_run_on_what_was_stored_before_without_downloading_it_again(
    settings: Settings, store: Store, dovecot: Dovecot, tmp_path: Path
) -> None:
    """From `none` to `seen`, the next pass downloaded every earlier message again (to store nothing new)."""
    settings = settings.model_copy(update={"max_mime_depth": 5})
    src = source(store, dovecot, add_feed(store), tmp_path)
    mails = [m.replace(b"Message ", b"x" * 20_000 + b"\r\nMessage ") for m in conversations(10)]
    dovecot.append("team", [*mails[:5], nested(8), *mails[5:]])  # UID 6 refused
    assert sync_once(store=store, settings=settings, src=src).stored == 10
    with dovecot.client("team") as c:  # a reader deletes one, and takes it back after the pass passed it
        c.select_folder("INBOX")
        c.add_flags([3], [b"\\Deleted"])
    dovecot.append("team", conversations(1, prefix="d"))  # UID 12
    with dovecot.client("team") as c:
        c.select_folder("INBOX")
        c.add_flags([12], [b"\\Deleted"])
    assert sync_once(store=store, settings=settings, src=src).deleted == 1
    with dovecot.client("team") as c:
        c.select_folder("INBOX")
        c.remove_flags([12], [b"\\Deleted"])
    with store.write() as session, session.begin():
        state.change_source(
            session=session, src=src, url=src.url, password_file=src.password_file, password_env="", after="seen"
        )
    src = replace(src, after="seen")
    again, sent = served(dovecot, lambda: sync_once(store=store, settings=settings, src=src))
    assert again.error == "" and sent < 10_000
    assert dovecot.uids("team", criteria="UNSEEN") == [6]  # the refused one stays unread
    process_pending(store=store, settings=settings)
    assert len(message_ids(store)) == 11 and "d0@example.com" in message_ids(store)  # taken back: stored


def test_a_source_from_before_it_kept_its_refusals_looks_at_what_its_note_names(
    settings: Settings, store: Store, dovecot: Dovecot, tmp_path: Path
) -> None:
    """After the upgrade (skipped NULL) the first pass takes the noted UIDs through the limits, then knows."""
    settings = settings.model_copy(update={"max_mime_depth": 5})
    src = source(store, dovecot, add_feed(store), tmp_path)
    dovecot.append("team", [nested(8), *conversations(1)])
    assert sync_once(store=store, settings=settings, src=src).refused == 1
    old_note = "UID 1 not stored (nor 0 more): 554 5.6.0 MIME nesting too deep (more than 5 levels); left in INBOX"
    with store.write() as session, session.begin():
        session.execute(sa.update(ImapSource).where(ImapSource.id == src.id).values(skipped=None, last_error=old_note))  # type: ignore[arg-type]
    assert sync_once(store=store, settings=settings, src=src).refusals.keys() == {1}
    assert last_error(store, src).startswith("UID 1 not stored: 554 5.6.0 MIME nesting too deep")
    if store.writer.dialect.name == "sqlite":  # in-process, the CLI leaves PostgreSQL connections to exit
        assert imap_status(settings, "--refused").startswith(f"{src.id}\tUID 1\t")
    with store.read() as session:
        assert session.get(ImapSource, src.id).skipped  # type: ignore[union-attr]
