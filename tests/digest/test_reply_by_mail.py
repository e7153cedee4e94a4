"""Answering from a digest: reply links, forged keys, replies to the digest, bounces, mailed unsubscribes."""

from __future__ import annotations

import re
import smtplib
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from gateway.config import Settings
from gateway.digest.dispatch import send_due
from gateway.digest.subscribe import Schedule, subscribe
from gateway.store.db import Store
from gateway.store.models import Feed
from gateway.store.models_digest import Notice, Reader, Subscription
from gateway.web.app import create_app
from tests.digest.sink import Sink, smtp_sink
from tests.helpers import add_feed, make_mail, smtp_server, wait_for

T0 = datetime(2026, 3, 27, 0, 0, tzinfo=UTC)
DUE = datetime(2026, 3, 27, 9, 0, tzinfo=UTC)


def digest_for(store: Store, settings: Settings, sink: Sink, port: int) -> tuple[str, str, str, str]:
    """Post a thread, send the digest; return (thread id, reply link address, Reply-To, VERP sender)."""
    feed_id = add_feed(store)
    with store.write() as session, session.begin():
        subscribe(session, email="reader@example.com", feed=session.get(Feed, feed_id), schedule=Schedule(), now=T0)  # type: ignore[arg-type]
    with smtplib.SMTP("127.0.0.1", port) as c:
        c.sendmail("ann@example.com", ["team@example.com"], make_mail(message_id="plan@example.com"))
    client = TestClient(create_app(settings, store))
    threads = wait_for(lambda: client.get("/api/feeds/team/threads").json()["threads"])
    assert send_due(store=store, settings=settings, now=DUE, instance="t").counts["sent"] == 1
    m = sink.received[-1].message
    text = next(p for p in m.walk() if p.get_content_type() == "text/plain").get_content()
    reply_link = re.search(r"Reply: (\S+)", text).group(1)  # type: ignore[union-attr]
    return str(threads[0]["id"]), reply_link, str(m["Reply-To"]), sink.received[-1].mail_from


def test_reply_link_becomes_a_comment_and_forged_key_is_refused(settings: Settings, store: Store) -> None:
    with smtp_sink() as sink, smtp_server(settings.model_copy(update={"relay_url": sink.url}), store) as server:
        settings = settings.model_copy(update={"relay_url": sink.url})
        thread_id, reply_link, _, _ = digest_for(store, settings, sink, server.port)
        assert reply_link.startswith("team+r-")
        answer = make_mail(
            message_id="answer@example.org",
            subject="Re: [team] Digest for Friday",
            sender="Reader <reader@example.com>",
            body="Count me in.\n\n> Quarterly plan\n",
        )
        with smtplib.SMTP("127.0.0.1", server.port) as c:
            c.sendmail("reader@example.com", [reply_link], answer)
            local, _, domain = reply_link.partition("@")
            forged = f"{local[:-1]}{'0' if local[-1] != '0' else '1'}@{domain}"  # one digit of the mac altered
            c.mail("reader@example.com")
            code, text = c.rcpt(forged)
            assert (code, text[:5]) == (550, b"5.7.1")
        client = TestClient(create_app(settings, store))
        detail = wait_for(lambda: (d := client.get(f"/api/threads/{thread_id}").json()) and d["comments"] and d)
    [comment] = detail["comments"]
    assert comment["text"] == "Count me in."
    assert comment["parent_message_id"] == "plan@example.com"


def test_reply_to_the_digest_itself_gets_one_notice_and_is_not_posted(settings: Settings, store: Store) -> None:
    with smtp_sink() as sink, smtp_server(settings.model_copy(update={"relay_url": sink.url}), store) as server:
        settings = settings.model_copy(update={"relay_url": sink.url})
        thread_id, _, reply_to, _ = digest_for(store, settings, sink, server.port)
        assert reply_to.startswith("team+d-")
        with smtplib.SMTP("127.0.0.1", server.port) as c:
            for i in range(2):
                c.sendmail(
                    "reader@example.com",
                    [reply_to],
                    make_mail(message_id=f"thanks{i}@example.com", subject="Re: digest", sender="reader@example.com"),
                )
            ooo = make_mail(message_id="ooo@example.com", subject="Out of office", sender="away@example.com")
            c.sendmail("away@example.com", [reply_to], b"Auto-Submitted: auto-replied\r\n" + ooo)
        wait_for(lambda: server.processor.totals["ignored"] == 3)
        report = send_due(store=store, settings=settings, now=DUE + timedelta(minutes=1), instance="t")
    assert report.counts["notices"] == 1
    notices = [r for r in sink.received if r.message["Auto-Submitted"] == "auto-replied"]
    assert [(r.rcpt_tos, r.mail_from) for r in notices] == [(["reader@example.com"], "<>")]  # null return path
    assert "not posted" in notices[0].message["Subject"]
    client = TestClient(create_app(settings, store))
    assert client.get(f"/api/threads/{thread_id}").json()["comments"] == []
    with store.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Notice)) == 1


def test_bounce_to_verp_address_and_mailed_unsubscribe(settings: Settings, store: Store) -> None:
    with smtp_sink() as sink, smtp_server(settings.model_copy(update={"relay_url": sink.url}), store) as server:
        settings = settings.model_copy(update={"relay_url": sink.url})
        _, _, _, verp = digest_for(store, settings, sink, server.port)
        m = sink.received[-1].message
        mailto = re.search(r"<mailto:([^>]+)>", m["List-Unsubscribe"]).group(1)  # type: ignore[union-attr]
        bounce = (
            b"From: MAILER-DAEMON@relay.example.com\r\nTo: " + verp.encode() + b"\r\nSubject: Undelivered\r\n"
            b"Message-ID: <dsn1@relay.example.com>\r\n"
            b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n"
            b"--b\r\nContent-Type: text/plain\r\n\r\nNo such user.\r\n--b--\r\n"
        )
        with smtplib.SMTP("127.0.0.1", server.port) as c:
            c.sendmail("", [verp], bounce)
            c.sendmail("reader@example.com", [mailto], make_mail(message_id="unsub@x", subject="unsubscribe"))
        wait_for(lambda: server.processor.totals["ignored"] == 2)
    with store.read() as session:
        assert session.scalar(sa.select(Reader.hard_bounces)) == 1
        assert session.scalar(sa.select(Subscription.every)) == "off"


@pytest.mark.parametrize("tag", ["r-999-0123456789abcdef", "u-1-ffffffffffffffff"])
def test_made_up_tokens_are_refused_at_rcpt(settings: Settings, store: Store, tag: str) -> None:
    add_feed(store)
    with smtp_server(settings, store) as server, smtplib.SMTP("127.0.0.1", server.port) as c:
        c.ehlo()
        c.mail("x@example.com")
        assert c.rcpt(f"team+{tag}@example.com")[0] == 550
        assert c.rcpt("team+newsletters@example.com")[0] == 250  # a plain sub-address is the feed's
