"""`mailfeed feed edit` and `mailfeed feed remove`, on SQLite and PostgreSQL.

Removal is checked table by table: every row that names the removed feed, or
one of its raw messages, entries, threads, subscriptions or IMAP sources, is
gone, and every other row (the other feed's, a blob both feeds hold) stays.
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

from gateway.config import Settings
from gateway.pipeline import deliver, process_pending
from gateway.store import access, search
from gateway.store.db import Store
from gateway.store.models import Entry, RawMessage, Thread
from gateway.store.models_digest import DigestRun, MutedThread, Notice, Reader, Subscription
from tests.helpers import in_process_cli, make_mail, smtp_server, wait_for

FORWARD = b"""From: Otto Prem <otto@example.com>
To: team@example.com
Subject: Fwd: Server maintenance
Date: Tue, 3 Mar 2026 09:00:00 +0100
Message-ID: <fwd@example.com>
Content-Type: text/plain; charset="us-ascii"

FYI

---------- Forwarded message ---------
From: Ops Team <ops@example.com>
Date: Mon, Mar 2, 2026 at 8:13 PM
Subject: Server maintenance
To: Otto Prem <otto@example.com>

Maintenance window is Saturday 02:00-04:00.
"""
PDF = b"%PDF-1.4 shared report " * 40


def _with_file(message_id: str, data: bytes, to: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Ann Author <ann@example.com>", to, "Report zebrafish"
    msg["Message-ID"] = f"<{message_id}>"
    msg["Date"] = "Mon, 2 Mar 2026 10:00:00 +0000"
    msg.set_content("The zebrafish report is attached.\n")
    msg.add_attachment(data, maintype="application", subtype="pdf", filename="report.pdf")
    return msg.as_bytes()


def _put(store: Store, settings: Settings, feed_id: int, *mails: bytes) -> None:
    for raw in mails:
        deliver(store=store, data=raw, feed_ids=[feed_id], source="import", max_bytes=settings.max_message_bytes)
    process_pending(store=store, settings=settings)


@pytest.fixture
def run(tmp_path: Path, db_url: str) -> Callable[..., object]:
    return in_process_cli(tmp_path, MAILFEED_DATABASE_URL=db_url, TEAM_IMAP_PASSWORD="secret")


def _ids(store: Store, slug: str) -> int:
    with store.read() as session:
        return int(session.scalar(sa.text("SELECT id FROM feed WHERE slug = :s"), {"s": slug}))


# The columns that tie a row to a feed, directly or through what the feed owns.
LINKS = {
    "feed_id": "feed_ids",
    "raw_id": "raw_ids",
    "entry_id": "entry_ids",
    "thread_id": "thread_ids",
    "subscription_id": "subscription_ids",
    "source_id": "source_ids",
}


def _owned(session: sa.orm.Session, fid: int) -> dict[str, set[int]]:
    def ids(q: str) -> set[int]:
        return set(session.scalars(sa.text(q), {"f": fid}))

    return {
        "feed_ids": {fid},
        "raw_ids": ids("SELECT id FROM raw_message WHERE feed_id = :f"),
        "entry_ids": ids("SELECT id FROM entry WHERE feed_id = :f"),
        "thread_ids": ids("SELECT id FROM thread WHERE feed_id = :f"),
        "subscription_ids": ids("SELECT id FROM subscription WHERE feed_id = :f"),
        "source_ids": ids("SELECT id FROM imap_source WHERE feed_id = :f"),
    }


def _census(store: Store, fid: int) -> dict[str, tuple[int, int]]:
    """Per table: (rows tied to feed `fid`, all rows)."""
    out = {}
    with store.read() as session:
        owned = _owned(session, fid)
        owned["feed_ids"] |= set()  # the feed row itself is `feed.id`
        for table in SQLModel.metadata.sorted_tables:
            rows = session.execute(sa.select(table)).mappings().all()
            tied = [
                r
                for r in rows
                if (table.name == "feed" and r["id"] == fid)
                or any(col in r and r[col] in owned[key] for col, key in LINKS.items())
            ]
            out[table.name] = (len(tied), len(rows))
    return out


def test_remove_deletes_exactly_what_the_feed_owns(run, store: Store, settings: Settings, tmp_path: Path) -> None:
    run("feed", "add", "team", "team@example.com")
    run("feed", "add", "ops", "ops@example.com")
    team, ops = _ids(store, "team"), _ids(store, "ops")
    # the same attachment in both feeds (one blob), one only in team's
    _put(store, settings, team, _with_file("t1@example.com", PDF, "team@example.com"))
    _put(store, settings, team, _with_file("t2@example.com", b"only team's bytes " * 30, "team@example.com"))
    _put(store, settings, team, make_mail(message_id="t3@example.com", in_reply_to="<t1@example.com>", minutes=5))
    _put(store, settings, team, FORWARD)
    _put(store, settings, team, b"no header block at all\n")  # quarantined: a raw row all the same
    _put(store, settings, ops, _with_file("o1@example.com", PDF, "ops@example.com"))
    run("subscribe", "ann@example.com", "--feed", "team")
    run("subscribe", "ann@example.com", "--feed", "ops")
    run("feed", "private", "team", "example.com")
    run("feed", "policy", "team", "--senders", "example.com")
    run("imap", "add", "team", "imap://team@127.0.0.1:1/INBOX", "--password-env", "TEAM_IMAP_PASSWORD")
    with store.write() as session, session.begin():
        reader = session.scalar(sa.select(Reader.id))
        thread = session.scalar(sa.select(Thread.id).where(Thread.feed_id == team))
        entry = session.scalar(sa.select(Entry.id).where(Entry.feed_id == team))
        sub = session.scalar(sa.select(Subscription.id).where(Subscription.feed_id == team))
        session.add(MutedThread(reader_id=reader, thread_id=thread))
        access.hide_entry(session=session, entry_id=entry, by="admin@example.com")
        session.add(DigestRun(subscription_id=sub, reader_id=reader, feed_id=team, period="2026-03-02", due_at=_now()))
        session.add(Notice(kind="digest-reply", recipient="ann@example.com", day="2026-03-02", feed_id=team))
    before = _census(store, team)
    tied = {name for name, (n, _) in before.items() if n}
    # every kind of row a feed can own is there to be removed
    assert {
        "feed",
        "raw_message",
        "entry",
        "thread",
        "message_ref",
        "attachment",
        "moderation",
        "muted_thread",
        "subscription",
        "digest_run",
        "notice",
        "imap_source",
        "feed_policy",
        "feed_access",
        "feed_member",
        "forward",
    } <= tied, tied

    refused = run("feed", "remove", "team", code=1)
    assert "feed 'team' holds 5 stored messages; `mailfeed feed remove team --delete-mail`" in refused.stderr
    assert _census(store, team) == before

    said = run("feed", "remove", "team", "--delete-mail").stdout
    assert said == "feed team removed, with 5 stored messages in 3 threads, 1 subscription and 1 IMAP source\n"
    after = _census(store, team)
    for name, (n, total) in before.items():
        if name == "blob":
            continue
        assert after[name] == (0, total - n), name
    with store.read() as session:
        blobs = session.execute(sa.text("SELECT count(*) FROM blob")).scalar()
        assert blobs == before["blob"][1] - 1  # team's own file went; the report ops holds too stayed
        assert search.search(session=session, q="zebrafish", feed_ids=[team]) == []
        assert len(search.search(session=session, q="zebrafish", feed_ids=[ops])) == 1
        assert session.scalar(sa.select(sa.func.count()).select_from(RawMessage).where(RawMessage.feed_id == ops))
    assert run("feed", "list").stdout.startswith("ops\tops@example.com")
    run("feed", "remove", "team", code=1)


def _now():  # noqa: ANN202
    from datetime import UTC, datetime

    return datetime.now(UTC)


def test_remove_an_empty_feed_and_refusals(run, store: Store, settings: Settings) -> None:
    empty = run("feed", "list")
    assert (empty.stdout, empty.stderr) == ("", "no feeds yet: `mailfeed feed add SLUG ADDRESS` creates one\n")
    run("feed", "add", "oops", "opps@example.com")
    assert run("feed", "list").stderr == ""
    assert run("feed", "remove", "oops").stdout == (
        "feed oops removed, with 0 stored messages in 0 threads, 0 subscriptions and 0 IMAP sources\n"
    )
    assert run("feed", "remove", "oops", code=1).stderr == "mailfeed: error: no feed 'oops'\n"
    run("feed", "add", "team", "team@example.com")
    deliver(
        store=store,
        data=make_mail(message_id="p@example.com"),
        feed_ids=[_ids(store, "team")],
        source="import",
        max_bytes=settings.max_message_bytes,
    )
    waiting = run("feed", "remove", "team", "--delete-mail", code=1).stderr
    assert "feed 'team' has 1 message waiting to be processed; try again once" in waiting
    process_pending(store=store, settings=settings)
    run("feed", "remove", "team", "--delete-mail")


def test_edit_address_and_title(run, store: Store, settings: Settings) -> None:
    run("feed", "add", "team", "team@example.com")
    run("feed", "add", "ops", "ops@example.com")
    assert run("feed", "edit", "team", code=1).stderr == (
        "mailfeed: error: nothing to change: give --address and/or --title\n"
    )
    assert "is not an email address" in run("feed", "edit", "team", "--address", "team", code=1).stderr
    clash = run("feed", "edit", "team", "--address", "Ops@example.com", code=1).stderr
    assert clash == "mailfeed: error: <ops@example.com> is the address of feed 'ops'\n"
    said = run("feed", "edit", "team", "--address", "Team-Renamed@example.com", "--title", "The team").stdout
    assert said == "feed team <team-renamed@example.com> 'The team' changed\n"
    assert run("feed", "list").stdout.splitlines()[1] == "team\tteam-renamed@example.com\tThe team\t0 threads"
    assert run("feed", "edit", "team", "--title", "").stdout == "feed team <team-renamed@example.com> 'team' changed\n"
    with smtp_server(settings, store) as smtp, smtplib.SMTP(smtp.host, smtp.port) as client:
        client.ehlo()
        client.mail("ann@example.com")
        assert client.rcpt("team@example.com")[0] == 550
        assert client.rcpt("team-renamed@example.com")[0] == 250
        client.data(make_mail(message_id="new@example.com", to="team-renamed@example.com"))

        def posted() -> bool:
            with store.read() as session:
                return bool(session.scalar(sa.select(Entry.id).where(Entry.message_id == "new@example.com")))

        wait_for(posted)
