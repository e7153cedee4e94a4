"""An archive's undated messages keep their place in time: not the day of the import.

Date first; then the newest Received: stamp (the message's own); then when the
mailbox got it: an mbox From_ line's date, a Maildir file's name (or its
modification time), IMAP's INTERNALDATE (tests/ingest/test_imap.py).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from gateway.config import Settings
from gateway.ingest.archive import open_archive
from gateway.ingest.backfill import import_archive
from gateway.ingest.delivered import envelope_date
from gateway.pipeline import process_pending, requeue
from gateway.store.db import Store
from gateway.store.models import Entry
from tests.helpers import EML, add_feed


def _mail(message_id: str, headers: str = "") -> bytes:
    return (
        f"From: Ann <ann@example.com>\nTo: team@example.com\nSubject: note {message_id}\n"
        f"Message-ID: <{message_id}>\n{headers}\nA note.\n"
    ).encode()


def dates(store: Store) -> dict[str, datetime]:
    with store.read() as session:
        return {m: d for m, d in session.execute(sa.select(Entry.message_id, Entry.date))}


def test_undated_mbox_messages_take_their_received_stamp_else_their_from_line_date(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    cron = (EML / "cron-report-without-date-header.eml").read_bytes().replace(b"\r\n", b"\n")
    archive = tmp_path / "team.mbox"
    archive.write_bytes(
        b"From ann@example.com Mon Mar  2 09:00:00 2026\n"
        + _mail("dated@x", "Date: Sun, 1 Mar 2026 18:30:00 +0100\n")
        + b"\nFrom ops@example.org Tue Mar 14 07:05:13 2017\n"
        + cron
        + b"\nFrom ann@example.com Wed Mar  4 11:15:00 2026\n"
        + _mail("undated@x")
        + b"\nFrom ann@example.com Thu Mar  5 12:00:00 2026 +0100\n"
        + _mail("far-future@x", "Date: Fri, 1 Jan 2100 00:00:00 +0000\n")
    )
    summary = import_archive(
        store=store, settings=settings, feed_id=add_feed(store), messages=open_archive(archive).messages
    )
    assert summary.counts["posted"] == 4
    want = {
        "dated@x": datetime(2026, 3, 1, 17, 30, tzinfo=UTC),  # its Date, over the From_ line
        "backup-20170314@backup-host.example.org": datetime(2017, 3, 14, 7, 5, 12, tzinfo=UTC),  # Received
        "undated@x": datetime(2026, 3, 4, 11, 15, tzinfo=UTC),  # the From_ line
        "far-future@x": datetime(2026, 3, 5, 11, 0, tzinfo=UTC),  # a Date a spammer set ahead: the From_ line
    }
    assert dates(store) == want
    # A rebuild from raw dates them alike: the From_ line's date is kept with the bytes.
    requeue(store=store, which="all")
    process_pending(store=store, settings=settings)
    assert dates(store) == want


def test_undated_maildir_messages_take_the_time_their_file_name_or_mtime_says(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    cur = tmp_path / "Maildir" / "cur"
    cur.mkdir(parents=True)
    (tmp_path / "Maildir" / "new").mkdir()
    (cur / "1489475112.M302P77.backup-host:2,S").write_bytes(_mail("named@x"))
    unnamed = cur / "imported-by-hand"
    unnamed.write_bytes(_mail("unnamed@x"))
    os.utime(unnamed, (1500000000, 1500000000))
    apple = cur / "1489475112.partial.emlx"  # Apple Mail numbers its files; it does not time them
    message = _mail("apple@x")
    apple.write_bytes(b"%d\n" % len(message) + message + b"<plist/>\n")
    os.utime(apple, (1500000060, 1500000060))
    summary = import_archive(
        store=store, settings=settings, feed_id=add_feed(store), messages=open_archive(tmp_path / "Maildir").messages
    )
    assert summary.counts["posted"] == 3
    assert dates(store) == {
        "named@x": datetime(2017, 3, 14, 7, 5, 12, tzinfo=UTC),
        "unnamed@x": datetime(2017, 7, 14, 2, 40, tzinfo=UTC),
        "apple@x": datetime(2017, 7, 14, 2, 41, tzinfo=UTC),
    }


@pytest.mark.parametrize(
    ("line", "meant"),
    [
        (b"From ann@example.com Mon Mar  2 09:00:00 2026\n", "2026-03-02T09:00:00+00:00"),
        (b"From - Mon Mar 02 09:00:00 2026\r\n", "2026-03-02T09:00:00+00:00"),  # Thunderbird
        (b"From ann@example.com Mon Mar  2 09:00:00 2026 -0500\n", "2026-03-02T14:00:00+00:00"),
        (b"From ann@example.com Mon, 2 Mar 2026 09:00:00 +0100\n", "2026-03-02T08:00:00+00:00"),  # RFC 5322's form
        (b"From MAILER-DAEMON Sun Aug  7 11:40:37 2022 extra info\n", "2022-08-07T11:40:37+00:00"),
        (b"From 1675841223466614291@xxx Wed Feb 08 10:40:06 -0500 2023\n", "2023-02-08T15:40:06+00:00"),  # Takeout
        (b"From 1a2b3c4d Mon Sep 17 00:00:00 2001\n", None),  # git format-patch: the same on every patch
        (b"From ann@example.com Mon Feb 31 09:00:00 2026\n", None),
        (b"From ann@example.com remote from uucp\n", None),
        (b"From ann@example.com\n", None),
    ],
)
def test_from_line_dates_as_mbox_writers_put_them(line: bytes, meant: str | None) -> None:
    assert envelope_date(line) == (datetime.fromisoformat(meant) if meant else None)


def test_a_message_with_no_date_at_all_is_dated_to_the_second_it_came(settings: Settings, store: Store) -> None:
    """Nothing but our clock to go by: read to the whole second, as every Date header is, so the
    API does not show one entry in microseconds among the others."""
    from gateway.pipeline import deliver

    before = datetime.now(UTC).replace(microsecond=0)
    feed_id = add_feed(store)
    deliver(
        store=store,
        data=_mail("nodate@x"),
        feed_ids=[feed_id],
        source="smtp",
        envelope_from="ann@example.com",
        max_bytes=10**6,
    )
    process_pending(store=store, settings=settings)
    when = dates(store)["nodate@x"]
    assert when.microsecond == 0 and before <= when <= datetime.now(UTC)
