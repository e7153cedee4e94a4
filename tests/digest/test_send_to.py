"""`mailfeed digest send --to EMAIL` says so when EMAIL would get no digest at all, and fails."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from gateway.config import Settings
from gateway.store.db import Store
from gateway.store.models_digest import Reader
from tests.digest.sink import smtp_sink
from tests.digest.test_dispatch import post, subscribe_all
from tests.helpers import add_feed, in_process_cli


def test_digest_send_to_an_address_without_a_subscription_says_so_and_fails(
    db_url: str, settings: Settings, store: Store, tmp_path: Path
) -> None:
    """It printed "sent 0, skipped (nothing new) 0, …" and exited 0, as if all were well."""
    feed_id = add_feed(store)
    subscribe_all(store, feed_id, "r1@example.com", "gone@example.com")
    post(store, settings, feed_id, "one@x", subject="news")
    with smtp_sink() as sink:
        run = in_process_cli(
            tmp_path,
            MAILFEED_DATABASE_URL=db_url,
            MAILFEED_RELAY_URL=sink.url,
            MAILFEED_DIGEST_CLOCK_START="2026-03-27T09:00:00+00:00",
        )
        for args in (("--now",), ("--now", "--dry-run"), ()):
            nobody = run("digest", "send", *args, "--to", "Nobody@Example.com", code=1)
            assert "nobody@example.com has no digest subscription" in nobody.stderr
            assert "mailfeed subscribe nobody@example.com" in nobody.stderr and nobody.stdout == ""
        run("unsubscribe", "gone@example.com")
        gone = run("digest", "send", "--now", "--to", "gone@example.com", code=1)
        assert "gone@example.com has turned off every digest" in gone.stderr
        run("subscribe", "gone@example.com")
        with store.write() as session, session.begin():
            session.execute(
                sa.update(Reader)
                .where(Reader.email == "gone@example.com")
                .values(disabled=True, disabled_reason="3 hard bounces")
            )
        bounced = run("digest", "send", "--now", "--to", "gone@example.com", code=1)
        assert "gone@example.com gets no digests: disabled (3 hard bounces)" in bounced.stderr
        assert sink.received == []
        sent = run("digest", "send", "--now", "--to", "r1@example.com")
        assert sent.stdout.startswith("sent 1,")
    assert [r.rcpt_tos for r in sink.received] == [["r1@example.com"]]
