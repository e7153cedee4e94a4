"""The digest lists threads in the web's order: by last activity, ties by the newest thread first."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.config import Settings
from gateway.digest.dispatch import send_due
from gateway.store import queries
from gateway.store.db import Store
from tests.digest.sink import smtp_sink
from tests.digest.test_dispatch import post, subjects, subscribe_all
from tests.helpers import add_feed


def test_threads_of_one_second_come_newest_first_as_on_the_web_and_the_oldest_are_left_out(
    settings: Settings, store: Store
) -> None:
    """30 threads with one Date: the digest listed them oldest first and cut the newest into "…and 5 more"."""
    feed_id = add_feed(store)
    with smtp_sink() as sink:
        settings = settings.model_copy(update={"relay_url": sink.url, "base_url": "https://feeds.example.com"})
        subscribe_all(store, feed_id, "reader@example.com")
        for i in range(30):
            post(store, settings, feed_id, f"many{i}@x", subject=f"many {i}", minutes=0)
        send_due(store=store, settings=settings, now=datetime(2026, 3, 27, 8, 30, tzinfo=UTC), instance="a")
    [got] = sink.received
    listed = subjects(got.message)
    assert listed == [f"many {i}" for i in range(29, 4, -1)]
    text = next(p for p in got.message.walk() if p.get_content_type() == "text/plain").get_content()
    assert "…and 5 more threads: https://feeds.example.com/f/team" in text
    with store.read() as session:
        web, _ = queries.list_threads(session=session, feed_id=feed_id, limit=25)
    assert [t.thread.subject for t in web] == listed
