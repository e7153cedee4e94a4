"""Digests end to end on a pinned clock, through a real SMTP sink as the relay."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.message import Message

import pytest
import sqlalchemy as sa

from gateway.config import Settings
from gateway.digest.dispatch import send_due
from gateway.digest.send import CONNECTIONS, Outcome, Outgoing, relay_from_url, run_sync, send_parallel
from gateway.digest.subscribe import Schedule, emails_saved, subscribe
from gateway.pipeline import deliver, process_pending
from gateway.store.db import Store
from gateway.store.models import Feed
from gateway.store.models_digest import DigestRun
from tests.digest.readers import send_from_two_instances
from tests.digest.sink import SinkHandler, smtp_sink
from tests.helpers import add_feed, make_mail

T0 = datetime(2026, 3, 27, 0, 0, tzinfo=UTC)  # Berlin leaves CET for CEST on 2026-03-29


def post(store: Store, settings: Settings, feed_id: int, mid: str, **kw: object) -> None:
    deliver(
        store=store,
        data=make_mail(message_id=mid, **kw),
        feed_ids=[feed_id],
        source="import",  # type: ignore[arg-type]
        max_bytes=settings.max_message_bytes,
    )
    process_pending(store=store, settings=settings)


def subscribe_all(store: Store, feed_id: int, *readers: str) -> None:
    """Each reader subscribed to the feed's daily digest."""
    with store.write() as session, session.begin():
        f = session.get(Feed, feed_id)
        assert f is not None
        for reader in readers:
            subscribe(session, email=reader, feed=f, schedule=Schedule(), now=T0)


def feed(store: Store) -> Feed:
    with store.read() as session:
        return session.scalars(sa.select(Feed)).one()


def subjects(message: Message) -> list[str]:
    text = next(p for p in message.walk() if p.get_content_type() == "text/plain").get_content()
    return [
        line.strip().removeprefix("NEW").strip()
        for line in text.splitlines()
        if line.startswith(("NEW ", "     Topic"))
        and "Read:" not in line
        and "Reply:" not in line
        and "wrote" not in line
    ]


def test_three_time_zones_across_dst_one_digest_per_local_day(settings: Settings, store: Store) -> None:
    feed_id = add_feed(store)
    with smtp_sink() as sink:
        settings = settings.model_copy(update={"relay_url": sink.url, "base_url": "https://feeds.example.com"})
        with store.write() as session, session.begin():
            f = session.get(Feed, feed_id)
            assert f is not None
            for email_, tz in (
                ("berlin@example.com", "Europe/Berlin"),
                ("ny@example.com", "America/New_York"),
                ("tokyo@example.com", "Asia/Tokyo"),
            ):
                subscribe(session, email=email_, feed=f, schedule=Schedule(at="08:00", tz=tz), now=T0)
        sent_at: dict[str, list[tuple[datetime, list[str]]]] = {}
        posted_at: dict[str, datetime] = {}
        n = 0
        for hour in range(4 * 24):
            now = T0 + timedelta(hours=hour)
            if hour % 6 == 3 and not (48 <= hour < 80):  # nothing new from Mar 29 00:00 to Mar 30 08:00 UTC
                post(store, settings, feed_id, f"m{n}@x", subject=f"Topic {n}", minutes=hour * 60)
                posted_at[f"Topic {n}"] = now
                n += 1
            before = len(sink.received)
            send_due(store=store, settings=settings, now=now, instance="test")
            for r in sink.received[before:]:
                sent_at.setdefault(r.rcpt_tos[0], []).append((now, subjects(r.message)))
    berlin = [t for t, _ in sent_at["berlin@example.com"]]
    assert [t.hour for t in berlin if t.day <= 28] == [7, 7]  # 08:00 CET
    assert all(t.hour == 6 for t in berlin if t.day >= 29)  # 08:00 CEST
    for who, zone_hour in (("ny@example.com", 12), ("tokyo@example.com", 23)):
        assert {t.hour for t, _ in sent_at[who]} == {zone_hour}
    for who, got in sent_at.items():
        days = [t.date() for t, _ in got]
        assert len(days) == len(set(days)), who  # at most one per day
        seen = [s for _, subs in got for s in subs]
        assert len(seen) == len(set(seen)), who  # no entry twice
    # the empty local day (Mar 30 in Berlin: nothing since the Mar 29 digest) sends nothing
    assert datetime(2026, 3, 30, 6, tzinfo=UTC) not in berlin
    # every topic reaches each reader once, by their last digest: Berlin's ends on Mar 29, Tokyo's on Mar 30
    for who in ("berlin@example.com", "tokyo@example.com"):
        last = sent_at[who][-1][0]
        assert sorted(s for _, subs in sent_at[who] for s in subs) == sorted(
            t for t, at in posted_at.items() if at <= last
        )


def test_relay_451_then_250_sends_once_and_headers(settings: Settings, store: Store) -> None:
    feed_id = add_feed(store)
    with smtp_sink() as sink:
        settings = settings.model_copy(update={"relay_url": sink.url, "base_url": "https://feeds.example.com"})
        with store.write() as session, session.begin():
            subscribe(session, email="reader@example.com", feed=session.get(Feed, feed_id), schedule=Schedule(), now=T0)  # type: ignore[arg-type]
        post(store, settings, feed_id, "a@x", subject="Topic A", sender="Ann <ann@example.com>")
        post(
            store, settings, feed_id, "b@x", subject="Re: Topic A", in_reply_to="<a@x>", sender="Bob <bob@example.com>"
        )
        sink.handler.fail_next.append("451 4.3.0 try later")
        due = datetime(2026, 3, 27, 8, 30, tzinfo=UTC)
        first = send_due(store=store, settings=settings, now=due, instance="a")
        assert first.counts["temporary"] == 1 and sink.received == []
        again = send_due(store=store, settings=settings, now=due + timedelta(seconds=30), instance="a")
        assert again.counts["claimed"] == 0  # backing off
        later = send_due(store=store, settings=settings, now=due + timedelta(minutes=5), instance="a")
        assert later.counts["sent"] == 1
        assert send_due(store=store, settings=settings, now=due + timedelta(hours=2), instance="a").counts["sent"] == 0
    [got] = sink.received
    m = got.message
    assert got.rcpt_tos == ["reader@example.com"]
    assert got.mail_from.startswith("team+b-") and got.mail_from.endswith("@example.com")  # VERP
    assert m["Auto-Submitted"] == "auto-generated" and m["Precedence"] == "list"
    assert m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "https://feeds.example.com/unsubscribe/u-" in m["List-Unsubscribe"]
    assert "mailto:team+u-" in m["List-Unsubscribe"]
    assert m["List-Id"] and m["X-Mailfeed-Digest"] == "1"
    assert m["Message-ID"].startswith("<digest.") and "2026-03-27" in m["Message-ID"]
    kinds = [p.get_content_type() for p in m.walk()]
    assert "text/plain" in kinds and "text/html" in kinds
    text = next(p for p in m.walk() if p.get_content_type() == "text/plain").get_content()
    assert "Topic A" in text and "1 repl" in text and "Bob" in text
    assert "This digest replaced 2 emails (2 so far)" in text
    assert "https://feeds.example.com/t/" in text and "team+r-" in text
    with store.read() as session:
        assert [(s.email, s.replaced, s.digests) for s in emails_saved(session)] == [("reader@example.com", 2, 1)]


def test_relay_down_then_up_every_due_digest_once(settings: Settings, store: Store) -> None:
    from tests.servers import free_port

    feed_id = add_feed(store)
    port = free_port()
    settings = settings.model_copy(update={"relay_url": f"smtp://127.0.0.1:{port}"})
    with store.write() as session, session.begin():
        for i in range(5):
            subscribe(session, email=f"r{i}@example.com", feed=session.get(Feed, feed_id), schedule=Schedule(), now=T0)  # type: ignore[arg-type]
    post(store, settings, feed_id, "a@x", subject="Topic A")
    due = datetime(2026, 3, 27, 9, 0, tzinfo=UTC)
    down = send_due(store=store, settings=settings, now=due, instance="a")
    assert down.counts["temporary"] == 5
    with store.read() as session:  # no reply to show: what kept us from one, without a code "0"
        errors = set(session.scalars(sa.select(DigestRun.last_error)))
    assert len(errors) == 1 and errors.pop().startswith(
        f"relay unavailable: Error connecting to 127.0.0.1 on port {port}"
    )
    with smtp_sink(port) as sink:
        up = send_due(store=store, settings=settings, now=due + timedelta(minutes=2), instance="b")
        assert up.counts["sent"] == 5
        later = send_due(store=store, settings=settings, now=due + timedelta(minutes=30), instance="b")
        assert later.counts["sent"] == 0
    assert sorted(r.rcpt_tos[0] for r in sink.received) == [f"r{i}@example.com" for i in range(5)]


def test_crashed_claim_is_resumed_after_the_lease(settings: Settings, store: Store) -> None:
    feed_id = add_feed(store)
    with smtp_sink() as sink:
        settings = settings.model_copy(update={"relay_url": sink.url})
        with store.write() as session, session.begin():
            subscribe(session, email="r@example.com", feed=session.get(Feed, feed_id), schedule=Schedule(), now=T0)  # type: ignore[arg-type]
        post(store, settings, feed_id, "a@x", subject="Topic A")
        due = datetime(2026, 3, 27, 9, 0, tzinfo=UTC)

        def crash(relay, batch, checkpoint):  # type: ignore[no-untyped-def]
            raise KeyboardInterrupt  # the process dies between claim and send

        with contextlib.suppress(KeyboardInterrupt):
            send_due(store=store, settings=settings, now=due, instance="dead", send=crash)
        with store.read() as session:
            assert session.scalar(sa.select(DigestRun.status)) == "claimed"
        early = send_due(store=store, settings=settings, now=due + timedelta(minutes=1), instance="b")
        assert early.counts["sent"] == 0
        resumed = send_due(store=store, settings=settings, now=due + timedelta(minutes=11), instance="b")
        assert resumed.counts["sent"] == 1 and len(sink.received) == 1


def test_two_instances_on_one_database_send_each_digest_once(settings: Settings, store: Store) -> None:
    feed_id = add_feed(store)
    with smtp_sink() as sink:
        settings = settings.model_copy(update={"relay_url": sink.url})
        with store.write() as session, session.begin():
            f = session.get(Feed, feed_id)
            for i in range(200):
                subscribe(session, email=f"r{i}@example.com", feed=f, schedule=Schedule(), now=T0)  # type: ignore[arg-type]
        post(store, settings, feed_id, "a@x", subject="Topic A")
        due = datetime(2026, 3, 27, 9, 0, tzinfo=UTC)
        send_from_two_instances(store, settings, due)
    recipients = [r.rcpt_tos[0] for r in sink.received]
    assert len(recipients) == 200 and len(set(recipients)) == 200


def test_dry_run_sends_nothing_and_moves_nothing(settings: Settings, store: Store) -> None:
    feed_id = add_feed(store)
    with smtp_sink() as sink:
        settings = settings.model_copy(update={"relay_url": sink.url})
        with store.write() as session, session.begin():
            subscribe(
                session,
                email="r@example.com",
                feed=session.get(Feed, feed_id),  # type: ignore[arg-type]
                schedule=Schedule(every="weekly", tz="America/New_York"),
                now=T0,
            )
        post(store, settings, feed_id, "a@x", subject="Topic A")
        report = send_due(
            store=store,
            settings=settings,
            now=T0 + timedelta(hours=1),
            instance="a",
            force=True,
            dry_run=True,
            only="r@example.com",
        )
        assert len(report.previews) == 1 and b"Topic A" in report.previews[0]
        # sent on demand, it is dated by the moment, in the reader's time zone (T0 + 1 h is 21:00 the day before)
        assert b"Digest for Thursday 26 March 2026, 21:00: " in report.previews[0]
        assert sink.received == []
        real = send_due(store=store, settings=settings, now=T0 + timedelta(hours=1), instance="a", force=True)
        assert real.counts["sent"] == 1 and real.counts["already"] == 0
        # on demand again within the minute: the same period, so nothing goes, and the report says why
        again = send_due(store=store, settings=settings, now=T0 + timedelta(hours=1), instance="a", force=True)
        assert again.counts["sent"] == 0 and again.counts["already"] == 1


class Died(Exception):
    """The process dies here."""


def test_crash_mid_batch_resends_only_what_the_relay_took_and_the_ledger_missed(
    settings: Settings, store: Store
) -> None:
    feed_id = add_feed(store)
    with smtp_sink() as sink:
        settings = settings.model_copy(update={"relay_url": sink.url})
        with store.write() as session, session.begin():
            f = session.get(Feed, feed_id)
            for i in range(30):
                subscribe(session, email=f"r{i}@example.com", feed=f, schedule=Schedule(), now=T0)  # type: ignore[arg-type]
        post(store, settings, feed_id, "a@x", subject="Topic A")
        due = datetime(2026, 3, 27, 9, 0, tzinfo=UTC)

        async def dies_after_10(relay, batch, checkpoint):  # type: ignore[no-untyped-def]
            recorded = 0

            async def record_then_die(start, outcomes):  # type: ignore[no-untyped-def]
                nonlocal recorded
                if recorded >= 10:
                    raise Died  # after the relay's 250, before the record
                await checkpoint(start, outcomes)
                recorded += len(outcomes)

            return await send_parallel(relay, batch, checkpoint=record_then_die)

        with pytest.raises(Died):
            send_due(store=store, settings=settings, now=due, instance="dead", send=dies_after_10)
        with store.read() as session:
            recorded = set(session.scalars(sa.select(DigestRun.message_id).where(DigestRun.status == "sent")))
        assert 10 <= len(recorded) < 30
        resumed = send_due(store=store, settings=settings, now=due + timedelta(minutes=11), instance="b")
        assert resumed.counts["sent"] == 30 - len(recorded)
    recipients = [r.rcpt_tos[0] for r in sink.received]
    assert set(recipients) == {f"r{i}@example.com" for i in range(30)}
    twice = {mid: n for mid, n in Counter(r.message_id for r in sink.received).items() if n > 1}
    # re-sent, with the same Message-ID: only digests the relay took and the ledger missed, at most one
    # per connection (the one whose 250 came just before the crash), never one sent after it
    assert 1 <= len(twice) <= CONNECTIONS and set(twice.values()) == {2} and not set(twice) & recorded
    assert len(recipients) == 30 + len(twice)


def test_each_digest_is_recorded_before_its_connection_sends_the_next(settings: Settings, store: Store) -> None:
    feed_id = add_feed(store)
    checked: list[str] = []
    ahead: list[str] = []

    def recorded_before_next(message_id: str) -> None:
        with store.read() as session:
            status = session.scalar(sa.select(DigestRun.status).where(DigestRun.message_id == message_id))
        (checked if status == "sent" else ahead).append(message_id)

    with smtp_sink(handler=SinkHandler(before_next=recorded_before_next)) as sink:
        settings = settings.model_copy(update={"relay_url": sink.url})
        with store.write() as session, session.begin():
            f = session.get(Feed, feed_id)
            for i in range(40):
                subscribe(session, email=f"r{i}@example.com", feed=f, schedule=Schedule(), now=T0)  # type: ignore[arg-type]
        post(store, settings, feed_id, "a@x", subject="Topic A")
        report = send_due(store=store, settings=settings, now=datetime(2026, 3, 27, 9, 0, tzinfo=UTC), instance="a")
    assert report.counts["sent"] == 40 and len(sink.received) == 40
    assert ahead == [] and len(checked) == 40 - CONNECTIONS  # each connection's last digest has no next


def test_runs_still_waiting_when_the_lease_runs_out_go_out_once(
    settings: Settings, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gateway.digest import dispatch

    monkeypatch.setattr(dispatch, "BATCH", 2)  # two batches of two
    feed_id = add_feed(store)
    with smtp_sink() as sink:
        settings = settings.model_copy(update={"relay_url": sink.url})
        with store.write() as session, session.begin():
            f = session.get(Feed, feed_id)
            for i in range(4):
                subscribe(session, email=f"r{i}@example.com", feed=f, schedule=Schedule(), now=T0)  # type: ignore[arg-type]
        post(store, settings, feed_id, "a@x", subject="Topic A")
        due = datetime(2026, 3, 27, 9, 0, tzinfo=UTC)
        batches = 0

        async def slow(relay, batch, checkpoint):  # type: ignore[no-untyped-def]
            nonlocal batches
            outcomes = await send_parallel(relay, batch, checkpoint=checkpoint)
            batches += 1
            if batches == 1:  # the first batch took past the lease: another instance takes back the rest
                other = send_due(store=store, settings=settings, now=due + timedelta(minutes=11), instance="b")
                assert other.counts["sent"] == 2
            return outcomes

        first = send_due(store=store, settings=settings, now=due, instance="a", send=slow)
    assert first.counts["claimed"] == 4 and first.counts["sent"] == 2 and batches == 1
    recipients = sorted(r.rcpt_tos[0] for r in sink.received)
    assert recipients == [f"r{i}@example.com" for i in range(4)]


def test_a_failed_record_drops_every_connection_at_once_even_one_waiting_for_its_data_reply() -> None:
    """A QUIT behind a DATA reply that does not come would wait for the whole SMTP timeout."""
    handler = SinkHandler(hold_after=1)  # the first message is accepted, every later DATA reply held
    batch = [Outgoing(make_mail(message_id=f"d{i}@x"), "digest@example.com", f"r{i}@example.com") for i in range(4)]

    failed_at: list[float] = []

    async def record(start: int, outcomes: list[Outcome]) -> None:
        for _ in range(1000):  # until the other connection waits for its DATA reply
            if handler.held:
                break
            await asyncio.sleep(0.01)
        failed_at.append(time.monotonic())
        raise Died  # the ledger went away after the relay's first 250

    with smtp_sink(handler=handler) as sink:
        with pytest.raises(Died):
            run_sync(send_parallel(relay_from_url(sink.url), batch, connections=2, timeout=30, checkpoint=record))
        took = time.monotonic() - failed_at[0]
        waiting = handler.held + handler.dropped
        handler.release()
    assert waiting >= 1  # the other connection was waiting for its DATA reply
    assert took < 10, f"send_parallel took {took:.1f} s to give up (the SMTP timeout is 30 s)"


def test_a_digest_holds_nothing_hidden_nothing_private_to_others_and_its_text_reads_line_by_line(
    settings: Settings, store: Store
) -> None:
    """A private feed's digest went to a subscriber who was no member; an entry an admin hid went out
    in every digest; and the text part ran each item's lines together ("…planningDmitri Orlov
    wrote…"), gluing the mute link to the next words, where it led nowhere."""
    from gateway.store import access
    from gateway.store.models_web import Moderation

    feed_id = add_feed(store)
    with smtp_sink() as sink:
        settings = settings.model_copy(update={"relay_url": sink.url, "base_url": "https://feeds.example.com"})
        subscribe_all(store, feed_id, "member@example.com", "outsider@other.example")
        with store.write() as session, session.begin():
            access.set_private(session=session, feed_id=feed_id, members=["example.com"])
        post(store, settings, feed_id, "plan@x", subject="Release planning", sender="Dmitri <d@example.com>")
        post(store, settings, feed_id, "spam@x", subject="BUY WATCHES", sender="Spam <s@example.com>")
        with store.write() as session, session.begin():
            spam = session.scalar(sa.text("SELECT id FROM entry WHERE message_id = 'spam@x'"))
            session.add(Moderation(entry_id=spam, action="hidden", by="admin@example.com"))
        send_due(store=store, settings=settings, now=datetime(2026, 3, 27, 8, 30, tzinfo=UTC), instance="a")
    assert [r.rcpt_tos for r in sink.received] == [["member@example.com"]]
    text = next(p for p in sink.received[0].message.walk() if p.get_content_type() == "text/plain").get_content()
    assert "BUY WATCHES" not in text
    lines = text.splitlines()
    assert "NEW  Release planning" in lines and "     Dmitri wrote" in lines
    mute = next(line for line in lines if "Mute this thread:" in line)
    assert mute.rstrip().split(": ", 1)[1].startswith("https://feeds.example.com/mute/m-")
    assert " " not in mute.strip().split(": ", 1)[1]  # the link alone, nothing glued to it


def test_a_feed_title_with_a_comma_quotes_or_accents_makes_one_sender_and_the_count_is_of_all_threads(
    settings: Settings, store: Store
) -> None:
    """'From: QA, Release <qa@…>' read as two mailboxes, and a title with accents was encoded whole,
    address and all; past 25 threads, the ones left out counted as "active" though all were new."""
    import email.policy
    from email import message_from_bytes

    feed_id = add_feed(store)
    title = 'QA, Release — Équipe "Nord"'
    with smtp_sink() as sink:
        settings = settings.model_copy(update={"relay_url": sink.url, "base_url": "https://feeds.example.com"})
        with store.write() as session, session.begin():
            f = session.get(Feed, feed_id)
            assert f is not None
            f.title = title
            subscribe(session, email="reader@example.com", feed=f, schedule=Schedule(), now=T0)
        for i in range(30):
            post(store, settings, feed_id, f"t{i}@x", subject=f"Thread {i}", minutes=i)
        send_due(store=store, settings=settings, now=datetime(2026, 3, 27, 8, 30, tzinfo=UTC), instance="a")
    [got] = sink.received
    m = message_from_bytes(got.message.as_bytes(), policy=email.policy.default)
    [sender] = m["From"].addresses
    assert (sender.display_name, sender.addr_spec) == (title, "team@example.com")
    assert str(m["List-Id"]) == f"{title} <team.example.com>"  # read back whole, its list id ASCII
    assert m["Subject"].endswith("30 new threads")


def test_a_readers_own_forward_is_no_news_to_them_and_others_see_who_forwarded_it(
    settings: Settings, store: Store
) -> None:
    """The post of a forward is the original's author's, so "not your own messages" let a reader's
    own forward come back to them as news; for the others the digest names the forwarder too, and
    what they wrote above the forward, on one line."""
    feed_id = add_feed(store)
    forward = (
        "Please check these\nbefore Friday.\n\n"
        "---------- Forwarded message ---------\nFrom: Vendor <sales@vendor.example>\n"
        "Date: Wed, 25 Mar 2026 at 10:00\nSubject: Price list\nTo: Ann <ann@example.com>\n\n\nNew prices from April.\n"
    )
    with smtp_sink() as sink:
        settings = settings.model_copy(update={"relay_url": sink.url, "base_url": "https://feeds.example.com"})
        subscribe_all(store, feed_id, "ann@example.com", "bob@example.com")
        post(store, settings, feed_id, "fw@x", subject="Fwd: Price list", sender="Ann <ann@example.com>", body=forward)
        send_due(store=store, settings=settings, now=datetime(2026, 3, 27, 8, 30, tzinfo=UTC), instance="a")
    got = {r.rcpt_tos[0]: subjects(r.message) for r in sink.received}
    assert got == {"bob@example.com": ["Price list"]}
    [bob] = sink.received
    parts = {p.get_content_type(): p.get_content() for p in bob.message.walk() if p.get_content_maintype() == "text"}
    assert "     Vendor wrote, forwarded by Ann\r\n" in parts["text/plain"]
    assert "<bdi>Vendor</bdi> wrote · forwarded by <bdi>Ann</bdi>" in parts["text/html"]
    assert '     Ann: "Please check these before Friday."\r\n     New prices from April.' in parts["text/plain"]
    assert "<bdi>Ann</bdi>: “Please check these before Friday.”</div>" in parts["text/html"]
