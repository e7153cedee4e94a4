"""A database with readers whose digests are due, for the tests that run `mailfeed` as a subprocess;
and two instances sending at once, for the tests of sending exactly once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

from gateway.config import Settings
from gateway.digest.dispatch import send_due
from gateway.digest.subscribe import Schedule, subscribe
from gateway.pipeline import deliver, process_pending
from gateway.store.db import Store, open_store
from gateway.store.models import Feed
from tests.helpers import add_feed, make_mail

SUBSCRIBED = datetime(2026, 3, 26, tzinfo=UTC)


def populate(url: str, readers: int, tmp_path: Path) -> dict[str, str]:
    """A feed, `readers` daily (08:00 UTC) subscribers and one new post.

    Returns each reader's address → the Message-ID of their 2026-03-27 digest.
    """
    settings = Settings(data_dir=tmp_path / "setup", database_url=url, workers=1, sqlite_synchronous="NORMAL")
    store = open_store(url, synchronous="NORMAL")
    try:
        feed_id = add_feed(store)
        with store.write() as session, session.begin():
            feed = session.get(Feed, feed_id)
            assert feed is not None
            subs = {
                f"r{i:03d}@example.com": subscribe(
                    session, email=f"r{i:03d}@example.com", feed=feed, schedule=Schedule(), now=SUBSCRIBED
                )
                for i in range(readers)
            }
            session.flush()
            expected = {email: f"<digest.{sub.id}.2026-03-27@example.com>" for email, sub in subs.items()}
        deliver(
            store=store,
            data=make_mail(message_id="news@x", subject="News"),
            feed_ids=[feed_id],
            source="import",
            max_bytes=settings.max_message_bytes,
        )
        process_pending(store=store, settings=settings)
    finally:
        store.dispose()
    return expected


def send_from_two_instances(store: Store, settings: Settings, now: datetime) -> None:
    """`send_due` run by two instances ("i0", "i1") at the same moment; an exception in either fails the test."""
    errors: list[BaseException] = []

    def instance(name: str) -> None:
        try:
            send_due(store=store, settings=settings, now=now, instance=name)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=instance, args=(f"i{k}",)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
