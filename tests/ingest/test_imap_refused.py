"""IMAP messages the limits refuse: left where they were, and shown where an admin looks (real Dovecot)."""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli import app
from gateway.config import Settings
from gateway.ingest import imap_state as state
from gateway.ingest.imap import sync_once
from gateway.pipeline import process_pending
from gateway.store.db import Store
from gateway.store.models_imap import ImapSource
from tests.dovecot import Dovecot, dovecot_binary
from tests.helpers import add_feed
from tests.ingest.test_imap import conversations, message_ids, source

pytestmark = pytest.mark.skipif(dovecot_binary() is None, reason="dovecot not installed: `make test` installs it")


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


def imap_status(settings: Settings) -> str:
    """`mailfeed imap status`, where an admin looks."""
    env = {
        "MAILFEED_DATABASE_URL": settings.db_url,
        "MAILFEED_DATA_DIR": str(settings.data_dir),
        "MAILFEED_CONFIG": None,
    }
    result = CliRunner(env=env).invoke(app, ["imap", "status"])
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


def test_a_refusal_note_names_its_uids_and_is_read_back_in_linear_time() -> None:
    note = state.refusal_note({7: "554 5.6.0 x", 9: "554 5.6.0 x", 12: "552 5.3.4 y"}, "INBOX")
    assert note == "UIDs 7, 9 not stored: 554 5.6.0 x; UID 12 not stored: 552 5.3.4 y; left in INBOX"
    assert state.noted_uids(f"connection failed: timed out; {note}") == [7, 9, 12]
    many = state.refusal_note(dict.fromkeys(range(1, 201), "554 5.6.0 x"), "INBOX")
    assert "UIDs 1, 2," in many and "50 not stored (nor 150 more): " in many and len(many) < 400
    assert state.noted_uids(many) == list(range(1, 51))
    for hostile in ("UIDs " + "1, " * 200_000 + "x", "UID 1" * 100_000, "UIDs 1" + ", 1" * 200_000 + " not store"):
        started = time.perf_counter()
        state.noted_uids(hostile)
        assert time.perf_counter() - started < 0.5
