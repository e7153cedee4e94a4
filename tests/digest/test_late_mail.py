"""Mail posted late (a deferred retry, a quarantined message reprocessed) still reaches every digest once.

Entry ids are raw ids, given when the bytes arrive; a message posted a day later
keeps its small id. The digests' cursor follows the order messages were posted
in, so such a message is news in the next digest, and `reprocess --all` (which
posts everything again) sends nothing twice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import Message

import sqlalchemy as sa

from gateway.config import Settings
from gateway.digest.dispatch import send_due
from gateway.digest.subscribe import Schedule, subscribe
from gateway.pipeline import deliver, process_pending, requeue
from gateway.store.db import Store
from gateway.store.models import Entry, Feed
from tests.digest.sink import smtp_sink
from tests.helpers import add_feed, make_mail
from tests.servers import DnsServer

T0 = datetime(2026, 3, 27, 0, 0, tzinfo=UTC)


def _text(message: Message) -> str:
    part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def _posting_numbers(store: Store) -> dict[int, int | None]:
    with store.read() as session:
        return {i: n for i, n in session.execute(sa.text("SELECT id, posted_seq FROM raw_message")).all()}


def _deliver(store: Store, settings: Settings, feed_id: int, mid: str, subject: str) -> int:
    return deliver(
        store=store,
        data=make_mail(message_id=mid, sender="Ann <ann@lax.example>", subject=subject),
        feed_ids=[feed_id],
        source="import",
        max_bytes=settings.max_message_bytes,
    )[0]


def test_mail_posted_after_a_digest_went_out_is_in_the_next_one_and_a_rebuild_sends_nothing_twice(
    settings: Settings, store: Store
) -> None:
    feed_id = add_feed(store)
    dns = DnsServer({"_dmarc.lax.example": "v=DMARC1; p=none"})
    try:
        with smtp_sink() as sink:
            settings = settings.model_copy(
                update={"relay_url": sink.url, "verify_dkim": True, "dns_resolver": f"dns:127.0.0.1:{dns.port}"}
            )
            with store.write() as session, session.begin():
                f = session.get(Feed, feed_id)
                assert f is not None
                subscribe(session, email="reader@example.com", feed=f, schedule=Schedule(), now=T0)

            dns.failing.set()  # the sender's DNS cannot answer: the first message waits, deferred
            late = _deliver(store, settings, feed_id, "late@x", "Topic Late")
            assert process_pending(store=store, settings=settings) == {"deferred": 1}
            dns.failing.clear()
            early = _deliver(store, settings, feed_id, "early@x", "Topic Early")
            assert process_pending(store=store, settings=settings) == {"posted": 1}
            assert late < early  # the late one's entry will have the smaller id

            day1 = send_due(store=store, settings=settings, now=T0 + timedelta(hours=9), instance="a")
            assert day1.counts["sent"] == 1
            first = _text(sink.received[-1].message)
            assert "Topic Early" in first and "Topic Late" not in first

            assert requeue(store=store, which="deferred") == 1  # DNS answers again: the retry posts it
            assert process_pending(store=store, settings=settings) == {"posted": 1}
            with store.read() as session:
                assert session.scalar(sa.select(sa.func.count()).select_from(Entry)) == 2

            day2 = send_due(store=store, settings=settings, now=T0 + timedelta(days=1, hours=9), instance="a")
            assert day2.counts["sent"] == 1
            second = _text(sink.received[-1].message)
            assert "Topic Late" in second and "Topic Early" not in second

            # a rebuild posts both again, in the same order: no digest repeats them
            before = _posting_numbers(store)
            assert sorted(before, key=lambda i: before[i] or 0) == [early, late]  # posted in that order
            assert requeue(store=store, which="all") == 2
            assert process_pending(store=store, settings=settings) == {"posted": 2}
            assert _posting_numbers(store) == before
            day3 = send_due(store=store, settings=settings, now=T0 + timedelta(days=2, hours=9), instance="a")
            assert day3.counts["sent"] == 0 and len(sink.received) == 2
    finally:
        dns.close()
