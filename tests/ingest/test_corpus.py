"""Every corpus message, by SMTP and by import, ends as an entry or in quarantine with a reason."""

from __future__ import annotations

import hashlib
import smtplib
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from gateway.config import Settings
from gateway.ingest.archive import open_archive
from gateway.ingest.backfill import import_archive
from gateway.ingest.reading import Read
from gateway.store.db import Store
from gateway.store.models import Entry, RawMessage
from tests.conftest import corpus_dir
from tests.helpers import add_feed, smtp_server, wait_for

SETTLED = {"posted", "duplicate", "quarantined", "ignored", "held"}


def robustness_files() -> list[Path]:
    root = corpus_dir()
    files = sorted((root / "cpython-email" / "data").glob("msg_*.txt")) + sorted(
        (root / "mail-parser" / "mails").iterdir()
    )
    assert len(files) > 60
    return files


def assert_every_raw_settled(store: Store, expected_rows: int) -> dict[str, int]:
    with store.read() as session:
        rows = session.execute(
            sa.select(RawMessage.id, RawMessage.status, RawMessage.reason, RawMessage.message_id)
        ).all()
        entries = set(session.scalars(sa.select(Entry.id)))
        entry_ids = set(session.scalars(sa.select(Entry.message_id)))
    assert len(rows) == expected_rows  # nothing lost
    counts: dict[str, int] = {}
    for raw_id, status, reason, message_id in rows:
        counts[status] = counts.get(status, 0) + 1
        assert status in SETTLED, (raw_id, status)
        if status == "posted":
            assert raw_id in entries
        elif status == "duplicate":  # the same Message-ID, or another forward of a post's original
            assert message_id in entry_ids or int(reason.rpartition(" ")[2]) in entries, (raw_id, reason)
        else:
            assert reason, (raw_id, status)
    return counts


@pytest.mark.slow
def test_corpus_through_real_smtp(settings: Settings, store: Store) -> None:
    add_feed(store)
    files = robustness_files()
    accepted: set[str] = set()
    with smtp_server(settings, store) as server:
        with smtplib.SMTP("127.0.0.1", server.port, timeout=60) as client:
            for f in files:
                data = f.read_bytes()
                try:
                    client.sendmail("ann@example.com", ["team@example.com"], data)
                except smtplib.SMTPResponseException as exc:  # a refusal must be a proper 5xx
                    assert 500 <= exc.smtp_code < 600, (f.name, exc)
                    client.rset()
                    continue
                # smtplib sends CRLF line ends; the stored bytes are what arrived
                accepted.add(f.name)
        wait_for(lambda: sum(server.processor.totals.values()) >= len(accepted), timeout=60)
    counts = assert_every_raw_settled(store, len(accepted))
    assert len(accepted) == len(files)
    assert counts.get("posted", 0) > len(files) // 2


@pytest.mark.slow
def test_corpus_through_import(settings: Settings, store: Store) -> None:
    feed_id = add_feed(store)
    files = robustness_files()
    summary = import_archive(
        store=store, settings=settings, feed_id=feed_id, messages=(Read(str(f), f.read_bytes(), 1) for f in files)
    )
    distinct = len({hashlib.sha256(f.read_bytes()).hexdigest() for f in files})
    assert summary.read == len(files)
    counts = assert_every_raw_settled(store, distinct)
    assert summary.counts["posted"] == counts["posted"]
    # mail-parser's Outlook .msg file is not RFC 5322 mail: it is quarantined, with the reason
    with store.read() as session:
        reasons = dict(
            session.execute(
                sa.select(RawMessage.status, RawMessage.reason).where(RawMessage.status == "quarantined")
            ).all()
        )
    assert "quarantined" in counts and reasons["quarantined"]


@pytest.mark.slow
def test_cpython_mbox_imports(settings: Settings, store: Store) -> None:
    feed_id = add_feed(store)
    archive = open_archive(corpus_dir() / "cpython-email" / "data" / "mailbox_01.mbox")
    summary = import_archive(store=store, settings=settings, feed_id=feed_id, messages=archive.messages)
    # The body's unescaped "From time to time" (no header follows it, no date in it) stays in its message
    assert summary.read == 1 and summary.counts["posted"] == 1 and not summary.refused
    assert assert_every_raw_settled(store, 1) == {"posted": 1}
    with store.read() as session:
        assert session.scalar(sa.select(Entry.text)).endswith("Hello\n\nFrom time to time")
        # it has no Date and no Received: its From_ line says when it was delivered
        assert session.scalar(sa.select(Entry.date)) == datetime(2022, 8, 7, 11, 40, 37, tzinfo=UTC)
