"""Who a digest comes from when nothing says: the feed's own address, never one made from BASE_URL."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.config import Settings
from gateway.digest.dispatch import send_due
from gateway.store.db import Store
from tests.digest.sink import smtp_sink
from tests.digest.test_dispatch import post, subscribe_all
from tests.helpers import add_feed


def test_with_the_default_base_url_and_no_digest_from_a_digest_comes_from_the_feeds_address(
    settings: Settings, store: Store
) -> None:
    """The walk-through feared `mailfeed@127.0.0.1` (the sign-in mail's default, made from BASE_URL's host)."""
    feed_id = add_feed(store)
    with smtp_sink() as sink:
        settings = settings.model_copy(update={"relay_url": sink.url})
        assert (settings.base_url, settings.digest_from, settings.public_url) == ("", "", "http://127.0.0.1:8025")
        subscribe_all(store, feed_id, "r@example.com")
        post(store, settings, feed_id, "a@x", subject="A")
        send_due(store=store, settings=settings, now=datetime(2026, 3, 27, 9, tzinfo=UTC), instance="a")
    [got] = sink.received
    assert got.message["From"].addresses[0].addr_spec == "team@example.com"
    assert got.mail_from.startswith("team+b-") and got.mail_from.endswith("@example.com")  # VERP on the feed's
    assert "127.0.0.1" not in f"{got.message['Message-ID']} {got.message['List-Id']} {got.mail_from}"
