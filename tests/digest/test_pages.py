"""The digest's links on the web: one-click unsubscribe (RFC 8058), preferences, emails saved."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from gateway.config import Settings
from gateway.digest.dispatch import send_due
from gateway.digest.subscribe import Schedule, subscribe
from gateway.pipeline import deliver, process_pending
from gateway.store import access
from gateway.store.db import Store
from gateway.store.models import Feed
from gateway.store.models_digest import Subscription
from gateway.web.app import create_app
from tests.digest.sink import smtp_sink
from tests.helpers import add_feed, in_process_cli, make_mail

T0 = datetime(2026, 3, 27, 0, 0, tzinfo=UTC)


def sent_digest(settings: Settings, store: Store) -> tuple[Settings, dict[str, str], str]:
    feed_id = add_feed(store)
    with store.write() as session, session.begin():
        subscribe(session, email="reader@example.com", feed=session.get(Feed, feed_id), schedule=Schedule(), now=T0)  # type: ignore[arg-type]
    deliver(
        store=store,
        data=make_mail(message_id="a@x", subject="Topic A"),
        feed_ids=[feed_id],
        source="import",
        max_bytes=settings.max_message_bytes,
    )
    process_pending(store=store, settings=settings)
    with smtp_sink() as sink:
        settings = settings.model_copy(update={"relay_url": sink.url, "base_url": "http://testserver"})
        send_due(store=store, settings=settings, now=datetime(2026, 3, 27, 9, tzinfo=UTC), instance="t")
        [got] = sink.received
    html = next(p for p in got.message.walk() if p.get_content_type() == "text/html").get_content()
    found = re.findall(r'<a href="(http://testserver[^"]+)"[^>]*>([^<]+)</a>', html)
    links = {text: url.removeprefix("http://testserver") for url, text in found}
    return settings, links, str(got.message["List-Unsubscribe"])


def test_every_link_in_the_digest_resolves(settings: Settings, store: Store) -> None:
    settings, links, _ = sent_digest(settings, store)
    client = TestClient(create_app(settings, store))
    assert {"Topic A", "Read", "Change when you get this", "Unsubscribe"} <= set(links)
    for text, path in links.items():
        r = client.get(path, headers={"accept": "text/html"})
        assert r.status_code == 200, (text, path, r.status_code)


def test_one_click_unsubscribe_by_post_and_get_only_asks(settings: Settings, store: Store) -> None:
    settings, _, header = sent_digest(settings, store)
    url = re.search(r"<http://testserver(/unsubscribe/[^>]+)>", header).group(1)  # type: ignore[union-attr]
    client = TestClient(create_app(settings, store))
    page = client.get(url)
    assert page.status_code == 200 and "<form" in page.text and 'method="post"' in page.text

    def every() -> str:
        with store.read() as session:
            return str(session.scalar(sa.select(Subscription.every)))

    assert every() == "daily"  # a GET (a link scanner) changes nothing
    r = TestClient(create_app(settings, store)).post(
        url, content="List-Unsubscribe=One-Click", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert r.status_code == 200 and "no longer gets" in r.text
    assert every() == "off"
    altered = url[:-1] + ("0" if url[-1] != "0" else "1")
    assert client.post(altered).status_code == 404


def test_preferences_form_changes_the_schedule(settings: Settings, store: Store) -> None:
    settings, links, _ = sent_digest(settings, store)
    client = TestClient(create_app(settings, store))
    form = client.get(links["Change when you get this"]).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    data = {
        "every": "weekly",
        "weekday": "fri",
        "at": "17:30",
        "tz": "Europe/Paris",
        "skip_empty": "true",
        "csrf": csrf,
    }
    r = client.post(links["Change when you get this"], data=data)
    assert r.status_code == 200 and "Saved." in r.text
    with store.read() as session:
        sub = session.scalars(sa.select(Subscription)).one()
    assert (sub.every, sub.weekday, sub.at, sub.tz) == ("weekly", 4, "17:30", "Europe/Paris")
    bad = client.post(links["Change when you get this"], data={**data, "tz": "Mars/Olympus"})
    assert bad.status_code == 400 and "not an IANA time zone" in bad.text
    assert TestClient(create_app(settings, store)).post(links["Change when you get this"], data=data).status_code == 403


def test_stats_page_counts_emails_saved(settings: Settings, store: Store) -> None:
    settings, _, _ = sent_digest(settings, store)
    r = TestClient(create_app(settings, store)).get("/stats")
    assert r.status_code == 200
    assert re.search(r"<td><a href=\"/f/team\">team</a></td><td>1</td><td>1</td><td>1</td>", r.text)


def test_mute_link_leaves_the_thread_out_of_later_digests(settings: Settings, store: Store) -> None:
    settings, links, _ = sent_digest(settings, store)
    client = TestClient(create_app(settings, store))
    assert "Mute this thread" in client.get(links["Mute"]).text  # GET only asks
    assert "Muted" in client.post(links["Mute"]).text
    with store.read() as session:
        feed_id = session.scalar(sa.select(Feed.id))
    deliver(
        store=store,
        data=make_mail(message_id="b@x", subject="Re: Topic A", in_reply_to="<a@x>"),
        feed_ids=[feed_id],
        source="import",
        max_bytes=settings.max_message_bytes,
    )
    deliver(
        store=store,
        data=make_mail(message_id="c@x", subject="Topic C"),
        feed_ids=[feed_id],
        source="import",
        max_bytes=settings.max_message_bytes,
    )
    process_pending(store=store, settings=settings)
    with smtp_sink() as sink:
        settings = settings.model_copy(update={"relay_url": sink.url})
        send_due(store=store, settings=settings, now=datetime(2026, 3, 28, 9, tzinfo=UTC), instance="t")
        [got] = sink.received
    text = next(p for p in got.message.walk() if p.get_content_type() == "text/plain").get_content()
    assert "Topic C" in text and "Topic A" not in text


def two_feeds_with_digests(settings: Settings, store: Store) -> Settings:
    """`team` (public; reader@example.com gets its digest) and `ops` (private to op@example.com, who gets its)."""
    team = add_feed(store)
    ops = add_feed(store, "ops", "ops@example.com")
    with store.write() as session, session.begin():
        access.set_private(session=session, feed_id=ops, members=["op@example.com"])
        for email, feed_id in (("reader@example.com", team), ("op@example.com", ops)):
            subscribe(session, email=email, feed=session.get(Feed, feed_id), schedule=Schedule(), now=T0)  # type: ignore[arg-type]
    for feed_id, mid in ((team, "t@x"), (ops, "o1@x"), (ops, "o2@x")):
        deliver(
            store=store,
            data=make_mail(message_id=mid, subject=f"Topic {mid}"),
            feed_ids=[feed_id],
            source="import",
            max_bytes=settings.max_message_bytes,
        )
    process_pending(store=store, settings=settings)
    with smtp_sink() as sink:
        settings = settings.model_copy(update={"relay_url": sink.url})
        send_due(store=store, settings=settings, now=datetime(2026, 3, 27, 9, tzinfo=UTC), instance="t")
        assert len(sink.received) == 2
    return settings


def stats_client(settings: Settings, store: Store, auth: str, user: str | None = None, **kw: Any) -> TestClient:
    app = create_app(settings.model_copy(update={"auth": auth, "admins": "root@example.com"}), store)
    kw.setdefault("client", ("127.0.0.1", 40000))  # the proxy, by default
    return TestClient(app, headers={"X-Forwarded-Email": user} if user else {}, follow_redirects=False, **kw)


OPS_ROW = '<a href="/f/ops">ops</a></td><td>2</td><td>1</td><td>1</td>'
TEAM_ROW = '<a href="/f/team">team</a></td><td>1</td><td>1</td><td>1</td>'


def test_stats_needs_a_reader_and_shows_private_feeds_only_to_members_and_admins(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    settings = two_feeds_with_digests(settings, store)
    html = {"accept": "text/html"}
    for anonymous in (
        stats_client(settings, store, "proxy"),
        stats_client(settings, store, "proxy", "root@example.com", client=("203.0.113.9", 40000)),  # not PROXY_TRUSTED
        stats_client(settings, store, "email"),
    ):
        for method in ("GET", "HEAD"):
            r = anonymous.request(method, "/stats")
            assert r.status_code == 401 and "ops" not in r.text, (method, r.status_code)
            assert anonymous.request(method, "/stats", headers=html).status_code in (303, 403)
        assert "ops" not in anonymous.get("/stats", headers=html).text

    with store.write() as session, session.begin():
        _, key = access.new_feed_token(session=session, email="op@example.com")
    assert stats_client(settings, store, "proxy").get("/stats", params={"key": key}).status_code == 401  # feeds only

    alice = stats_client(settings, store, "proxy", "alice@example.com").get("/stats")
    assert alice.status_code == 200 and TEAM_ROW in alice.text
    assert "ops" not in alice.text and "op@example.com" not in alice.text
    reader = stats_client(settings, store, "proxy", "reader@example.com").get("/stats")
    assert TEAM_ROW in reader.text and "/f/ops" not in reader.text
    assert "<td>reader@example.com</td><td>team</td>" in reader.text

    member = stats_client(settings, store, "proxy", "op@example.com").get("/stats")
    assert OPS_ROW in member.text and TEAM_ROW in member.text
    assert "<td>op@example.com</td><td>ops</td>" in member.text and "reader@example.com" not in member.text
    for admin in (stats_client(settings, store, "proxy", "root@example.com"), stats_client(settings, store, "open")):
        page = admin.get("/stats").text
        assert OPS_ROW in page and TEAM_ROW in page
        assert "<td>op@example.com</td><td>ops</td>" in page and "<td>reader@example.com</td><td>team</td>" in page

    # the CLI stays the admin's full view
    cli = in_process_cli(tmp_path, MAILFEED_DATABASE_URL=settings.db_url)
    out = cli("stats").output
    assert "op@example.com\tops\t2 emails replaced by 1 digest" in out
    assert "reader@example.com\tteam\t1 email replaced by 1 digest" in out


def test_blank_or_missing_preference_fields_are_refused_and_change_nothing(settings: Settings, store: Store) -> None:
    settings, links, _ = sent_digest(settings, store)
    url = links["Change when you get this"]
    client = TestClient(create_app(settings, store))
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get(url).text).group(1)  # type: ignore[union-attr]
    data = {"every": "weekly", "weekday": "fri", "at": "07:45", "tz": "Europe/Berlin", "csrf": csrf}
    assert "Saved." in client.post(url, data=data).text

    def schedule() -> tuple[str, int, str, str]:
        with store.read() as session:
            sub = session.scalars(sa.select(Subscription)).one()
            return sub.every, sub.weekday, sub.at, sub.tz

    kept = ("weekly", 4, "07:45", "Europe/Berlin")
    assert schedule() == kept
    for change, says in (
        ({"at": "", "tz": ""}, "At (local time) is empty"),
        ({"tz": " "}, "Time zone is empty"),
        ({"at": ""}, "At (local time) is empty"),
        ({"every": ""}, "How often is empty"),
        ({"weekday": ""}, "Day (weekly) is empty"),
        ({"at": "25:00"}, "use HH:MM"),
        ({"tz": "Europe/Nowhere"}, "not an IANA time zone"),
        ({"every": "hourly"}, "use daily, weekly or off"),
    ):
        r = client.post(url, data={**data, "every": "daily", **change})
        assert r.status_code == 400, change
        assert says in r.text and "Nothing was changed" in r.text and "Saved." not in r.text, change
        assert '<form method="post"' in r.text and 'value="Europe/Berlin"' in r.text  # the form again, as saved
        assert schedule() == kept, change
    missing = {k: v for k, v in data.items() if k != "tz"}
    r = client.post(url, data=missing)
    assert r.status_code == 400 and "Time zone is empty" in r.text and schedule() == kept

    r = client.post(url, data={**data, "at": " 6:05 ", "tz": " Europe/Paris "})
    assert r.status_code == 200 and "Saved." in r.text
    assert schedule() == ("weekly", 4, "06:05", "Europe/Paris")  # trimmed, and the time as HH:MM
