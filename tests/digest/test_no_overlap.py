"""A digest that could not be sent yet never overlaps the next one: no message reaches a reader twice.

Each new digest starts at the subscription's cursor (what the reader last got).
An earlier digest still waiting for a retry (the relay was down) is taken over
by the next one, which holds everything, and is never sent; while an earlier
digest is being sent, the next one waits for a later pass. Real SMTP sink, a
relay port with nothing listening, a pinned clock; SQLite and PostgreSQL.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path

import sqlalchemy as sa

from gateway.config import Settings
from gateway.digest.dispatch import send_due
from gateway.digest.subscribe import emails_saved
from gateway.store.db import Store
from gateway.store.models_digest import DigestRun
from tests.digest.readers import send_from_two_instances
from tests.digest.sink import smtp_sink
from tests.digest.test_dispatch import post, subjects, subscribe_all
from tests.helpers import add_feed, in_process_cli
from tests.servers import free_port

DAY_ONE = datetime(2026, 11, 30, 8, 0, 30, tzinfo=UTC)  # r1's daily 08:00 UTC digest is due
DAY_TWO = DAY_ONE + timedelta(days=1)


def _text(message: Message) -> str:
    return str(next(p for p in message.walk() if p.get_content_type() == "text/plain").get_content())


def _statuses(store: Store) -> dict[str, str]:
    with store.read() as session:
        return dict(session.execute(sa.select(DigestRun.period, DigestRun.status).order_by(DigestRun.id)).all())


def test_a_digest_in_retry_is_taken_over_by_the_next_period_and_never_sent_besides(
    settings: Settings, store: Store
) -> None:
    """Relay down on day one and day two: the reader got day two's digest with both news and then
    day one's with day one's news again ("replaced 2 emails (3 so far)", then "1 email (2 so far)")."""
    feed_id = add_feed(store)
    port = free_port()
    settings = settings.model_copy(update={"relay_url": f"smtp://127.0.0.1:{port}"})
    subscribe_all(store, feed_id, "r1@example.com")
    post(store, settings, feed_id, "one@x", subject="day one news", minutes=0)
    assert send_due(store=store, settings=settings, now=DAY_ONE, instance="a").counts["temporary"] == 1
    post(store, settings, feed_id, "two@x", subject="day two news", minutes=60)
    second = send_due(store=store, settings=settings, now=DAY_TWO, instance="a")
    assert second.counts["superseded"] == 1 and second.counts["temporary"] == 1
    assert _statuses(store) == {"2026-11-30": "superseded", "2026-12-01": "retry"}
    with smtp_sink(port) as sink:
        back = send_due(store=store, settings=settings, now=DAY_TWO + timedelta(minutes=10), instance="b")
        assert back.counts["sent"] == 1
        later = send_due(store=store, settings=settings, now=DAY_TWO + timedelta(hours=2), instance="b")
        assert later.counts["sent"] == 0 and later.counts["claimed"] == 0
    [got] = sink.received
    assert subjects(got.message) == ["day two news", "day one news"]
    assert got.message_id == "<digest.1.2026-12-01@example.com>"
    assert "This digest replaced 2 emails (2 so far)" in _text(got.message)
    with store.read() as session:
        assert [(s.replaced, s.digests) for s in emails_saved(session)] == [(2, 1)]


def test_a_failed_digest_now_is_taken_over_by_the_next_one(settings: Settings, store: Store) -> None:
    """`--now` with the relay down, then `--now` a minute later: the same item came twice, the older
    digest after the newer, and stats counted 5 emails replaced for 4 messages."""
    feed_id = add_feed(store)
    port = free_port()
    settings = settings.model_copy(update={"relay_url": f"smtp://127.0.0.1:{port}"})
    subscribe_all(store, feed_id, "r1@example.com")
    post(store, settings, feed_id, "one@x", subject="first news", minutes=0)
    post(store, settings, feed_id, "two@x", subject="second news", minutes=1)
    at = DAY_ONE + timedelta(hours=3)
    assert send_due(store=store, settings=settings, now=at, instance="a", force=True).counts["temporary"] == 1
    post(store, settings, feed_id, "three@x", subject="third news", minutes=2)
    with smtp_sink(port) as sink:
        again = send_due(store=store, settings=settings, now=at + timedelta(minutes=1), instance="a", force=True)
        assert again.counts["sent"] == 1 and again.counts["superseded"] == 1
        # the scheduled run of the day and a retry pass: nothing more goes out
        later = send_due(store=store, settings=settings, now=at + timedelta(hours=1), instance="a")
        assert later.counts["sent"] == 0
    [got] = sink.received
    assert subjects(got.message) == ["third news", "second news", "first news"]
    with store.read() as session:
        assert [(s.replaced, s.digests) for s in emails_saved(session)] == [(3, 1)]


def test_a_new_period_waits_while_an_earlier_digest_is_being_sent(settings: Settings, store: Store) -> None:
    """A claim left by a crash (or an instance still sending) covers day one; day two's digest must
    not cover day one's news again, and day one's must still go out."""
    feed_id = add_feed(store)
    with smtp_sink() as sink:
        settings = settings.model_copy(update={"relay_url": sink.url})
        subscribe_all(store, feed_id, "r1@example.com")
        post(store, settings, feed_id, "one@x", subject="day one news", minutes=0)

        def crash(relay, batch, checkpoint):  # type: ignore[no-untyped-def]
            raise KeyboardInterrupt  # the process dies between claim and send

        late = DAY_TWO - timedelta(minutes=5)  # day one's run was claimed just before day two fell due
        with contextlib.suppress(KeyboardInterrupt):
            send_due(store=store, settings=settings, now=late, instance="dead", send=crash)
        post(store, settings, feed_id, "two@x", subject="day two news", minutes=60)
        waits = send_due(store=store, settings=settings, now=DAY_TWO, instance="b")
        assert waits.counts["waiting"] == 1 and waits.counts["claimed"] == 0
        assert _statuses(store) == {"2026-11-30": "claimed"}
        resumed = send_due(store=store, settings=settings, now=late + timedelta(minutes=11), instance="b")
        assert resumed.counts["sent"] == 1  # day one's, after the lease; day two's waits for it
        assert (
            send_due(store=store, settings=settings, now=late + timedelta(minutes=12), instance="b").counts["sent"] == 1
        )
    assert [subjects(r.message) for r in sink.received] == [["day one news"], ["day two news"]]


def test_two_instances_racing_over_runs_in_retry_send_each_message_once(settings: Settings, store: Store) -> None:
    """One instance takes over the runs in retry with the new period's, the other would reclaim them:
    the conditional updates let only one of them have each run."""
    feed_id = add_feed(store)
    port = free_port()
    settings = settings.model_copy(update={"relay_url": f"smtp://127.0.0.1:{port}"})
    readers = [f"r{i}@example.com" for i in range(20)]
    subscribe_all(store, feed_id, *readers)
    post(store, settings, feed_id, "one@x", subject="day one news", minutes=0)
    assert send_due(store=store, settings=settings, now=DAY_ONE, instance="a").counts["temporary"] == 20
    post(store, settings, feed_id, "two@x", subject="day two news", minutes=60)
    with smtp_sink(port) as sink:
        send_from_two_instances(store, settings, DAY_TWO)
        # whatever either left waiting goes out on the next passes, once
        for minutes in (1, 2):
            send_due(store=store, settings=settings, now=DAY_TWO + timedelta(minutes=minutes), instance="c")
    got = Counter((r.rcpt_tos[0], s) for r in sink.received for s in subjects(r.message))
    assert got == Counter({(r, s): 1 for r in readers for s in ("day one news", "day two news")})


def test_digest_send_now_after_a_failed_one_says_it_took_it_over(
    db_url: str, settings: Settings, store: Store, tmp_path: Path
) -> None:
    """The walk-through's commands: the second `digest send --now` says it took the first one over."""
    feed_id = add_feed(store)
    port = free_port()
    subscribe_all(store, feed_id, "r1@example.com")
    post(store, settings, feed_id, "one@x", subject="first news", minutes=0)
    env = {"MAILFEED_DATABASE_URL": db_url, "MAILFEED_RELAY_URL": f"smtp://127.0.0.1:{port}"}
    run = in_process_cli(tmp_path, **env, MAILFEED_DIGEST_CLOCK_START="2026-12-01T08:00:30+00:00")
    assert "to retry 1" in run("digest", "send", "--now", code=1).stdout
    post(store, settings, feed_id, "two@x", subject="second news", minutes=1)
    run = in_process_cli(tmp_path, **env, MAILFEED_DIGEST_CLOCK_START="2026-12-01T08:01:30+00:00")
    with smtp_sink(port) as sink:
        out = run("digest", "send", "--now").stdout
    assert "sent 1," in out and "earlier unsent digests taken over 1 (their news is in this one)" in out
    [got] = sink.received
    assert subjects(got.message) == ["second news", "first news"]
