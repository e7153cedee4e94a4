"""Access: proxy and email sign-in, private feeds on every route, secret feed URLs, CSRF, moderation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email import message_from_bytes

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from gateway.config import Settings
from gateway.pipeline import process_pending, requeue
from gateway.store import access
from gateway.store.db import Store
from gateway.store.models import RawMessage
from gateway.web.app import create_app
from tests.helpers import add_feed, make_mail
from tests.servers import free_port
from tests.web.common import mail_with_attachments, put

HTML = {"accept": "text/html"}


@pytest.fixture
def two_feeds(store: Store, settings: Settings) -> dict[str, int]:
    """`team` (public) and `board` (private to boss@example.com and anyone @example.net)."""
    team = add_feed(store)
    board = add_feed(store, "board", "board@example.com")
    put(store, settings, team, make_mail(message_id="pub@x", subject="Public plan"))
    put(
        store,
        settings,
        board,
        mail_with_attachments(message_id="sec@x", subject="Secret plan", body="Acquisition plan\n"),
    )
    with store.write() as session, session.begin():
        access.set_private(session=session, feed_id=board, members=["boss@example.com", "@example.net"])
    with store.read() as session:
        tid = session.scalar(sa.text("SELECT id FROM thread WHERE feed_id = :f"), {"f": board})
    return {"team": team, "board": board, "board_thread": int(tid)}


def private_urls(board_thread: int) -> list[str]:
    t = board_thread
    return [
        "/f/board",
        f"/t/{t}",
        f"/e/{t}",
        f"/e/{t}/raw.eml",
        "/f/board/feed.atom",
        "/f/board/feed.json",
        f"/t/{t}/feed.atom",
        "/api/feeds/board/threads",
        f"/api/threads/{t}",
        f"/attachments/{t}/0/Q1%20budget.pdf",
    ]


def proxy_client(settings: Settings, store: Store, user: str | None, peer: str = "127.0.0.1") -> TestClient:
    app = create_app(settings.model_copy(update={"auth": "proxy", "admins": "root@example.com"}), store)
    headers = {**HTML, **({"X-Forwarded-Email": user} if user else {})}
    return TestClient(app, headers=headers, client=(peer, 40000), follow_redirects=False)


def test_proxy_private_feed_is_closed_to_non_members_everywhere(
    store: Store, settings: Settings, two_feeds: dict[str, int]
) -> None:
    urls = private_urls(two_feeds["board_thread"])
    alice = proxy_client(settings, store, "alice@example.com")
    for url in urls:
        assert alice.get(url).status_code == 403, url
        assert alice.head(url).status_code == 403, url  # HEAD is answered as GET, access check included
    assert [f["slug"] for f in alice.get("/api/feeds").json()] == ["team"]
    assert alice.get("/api/search", params={"q": "plan"}).json()["results"][0]["subject"] == "Public plan"
    assert len(alice.get("/api/search", params={"q": "plan"}).json()["results"]) == 1
    assert alice.get("/f/team").status_code == 200

    for member in ("boss@example.com", "carol@example.net", "root@example.com"):
        c = proxy_client(settings, store, member)
        for url in urls:
            assert c.get(url).status_code in (200, 303), (member, url)

    for anonymous in (
        proxy_client(settings, store, None),
        proxy_client(settings, store, "boss@example.com", peer="203.0.113.9"),
    ):  # header from a stranger
        for url in [*urls, "/", "/f/team", "/api/feeds", "/search?q=plan"]:
            assert anonymous.get(url).status_code in (401, 403), url


def test_secret_feed_url_reads_as_its_owner_until_revoked(
    store: Store, settings: Settings, two_feeds: dict[str, int]
) -> None:
    with store.write() as session, session.begin():
        alice_id, alice_key = access.new_feed_token(session=session, email="alice@example.com", label="reader")
        _, boss_key = access.new_feed_token(session=session, email="boss@example.com")
    reader = proxy_client(settings, store, None)
    assert reader.get("/f/team/feed.atom").status_code == 401
    assert reader.get("/f/team/feed.atom", params={"key": alice_key}).status_code == 200
    assert reader.get("/f/board/feed.atom", params={"key": alice_key}).status_code == 403
    board = reader.get("/f/board/feed.json", params={"key": boss_key}).json()
    enclosure = board["items"][0]["attachments"][0]["url"]
    assert f"key={boss_key}" in enclosure
    assert reader.get(enclosure.replace("http://testserver", "")).status_code == 200
    assert reader.get("/f/board", params={"key": boss_key}).status_code == 403  # keys open feeds, not pages
    with store.write() as session, session.begin():
        assert access.revoke_feed_token(session=session, token_id=alice_id)
    assert reader.get("/f/team/feed.atom", params={"key": alice_key}).status_code == 401


@pytest.fixture
def sink() -> Iterator[list[bytes]]:
    """A real SMTP server that keeps what it receives (the relay)."""
    got: list[bytes] = []

    class Keep:
        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
            got.append(envelope.content)
            return "250 OK"

    port = free_port()
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    got.append(str(port).encode())
    yield got
    controller.stop()


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "the form carries a CSRF token"
    return m.group(1)


def test_email_sign_in_link_is_single_use_and_opens_a_session(
    store: Store, settings: Settings, sink: list[bytes], two_feeds: dict[str, int]
) -> None:
    port = int(sink.pop(0))
    s = settings.model_copy(
        update={
            "auth": "email",
            "relay_url": f"smtp://127.0.0.1:{port}",
            "readers": "example.com",
            "digest_from": "feed@example.com",
            "base_url": "https://testserver",
        }
    )
    browser = TestClient(create_app(s, store), base_url="https://testserver", headers=HTML, follow_redirects=False)
    first = browser.get("/f/team")
    assert first.status_code == 303 and first.headers["location"] == "/signin?next=%2Ff%2Fteam"
    assert browser.get("/api/feeds").status_code == 401
    form = browser.get("/signin?next=/f/team")
    assert "__Host-mailfeed-csrf" in form.headers["set-cookie"] and "Secure" in form.headers["set-cookie"]
    token = csrf_of(form.text)
    assert browser.post("/signin", data={"email": "alice@example.com"}).status_code == 403  # no CSRF token
    sent = browser.post("/signin", data={"email": "alice@example.com", "csrf": token, "next": "/f/team"})
    assert sent.status_code == 200 and "on its way" in sent.text
    stranger = browser.post("/signin", data={"email": "eve@evil.example", "csrf": token})
    assert stranger.status_code == 200 and "on its way" in stranger.text  # same answer, but no mail
    assert len(sink) == 1
    mail = message_from_bytes(sink[0])
    assert mail["To"] == "alice@example.com"
    link = re.search(r"https://testserver(/signin/\S+)", mail.get_payload(decode=True).decode()).group(1)
    confirm = browser.get(link)
    assert confirm.status_code == 200 and "alice@example.com" in confirm.text
    done = browser.post(link.split("?")[0], data={"csrf": token, "next": "/f/team"})
    assert done.status_code == 303 and done.headers["location"] == "/f/team"
    cookie = done.headers["set-cookie"]
    assert cookie.startswith("__Host-mailfeed-session=") and "Secure" in cookie and "HttpOnly" in cookie
    assert browser.get("/f/team").status_code == 200
    assert browser.get("/f/board").status_code == 403
    assert browser.post(link.split("?")[0], data={"csrf": token}).status_code == 410  # single use
    out = browser.post("/signout", data={"csrf": token})
    assert out.status_code == 303
    assert browser.get("/f/team").status_code == 303


def test_a_sign_in_links_host_is_the_settings_never_the_requests(
    store: Store, settings: Settings, sink: list[bytes], two_feeds: dict[str, int]
) -> None:
    """Whoever asks for a sign-in link writes the request's Host header: the mailed link went to
    their host, and the victim's click handed them the token. With BASE_URL unset, the link is
    http://HTTP_HOST:HTTP_PORT, as the README says."""
    port = int(sink.pop(0))
    s = settings.model_copy(update={"auth": "email", "relay_url": f"smtp://127.0.0.1:{port}", "readers": "example.com"})
    browser = TestClient(create_app(s, store), base_url="https://evil.example", headers=HTML, follow_redirects=False)
    token = csrf_of(browser.get("/signin").text)
    assert browser.post("/signin", data={"email": "alice@example.com", "csrf": token}).status_code == 200
    mail = message_from_bytes(sink[0])
    body = mail.get_payload(decode=True).decode()
    assert "evil.example" not in body
    assert mail["From"] == "team@example.com"  # the oldest feed's, with DIGEST_FROM unset; not mailfeed@127.0.0.1
    assert f"http://{s.http_host}:{s.http_port}/signin/" in body


def test_admin_hides_and_deletes_entries_and_raw(store: Store, settings: Settings) -> None:
    feed_id = add_feed(store)
    put(
        store,
        settings,
        feed_id,
        make_mail(message_id="a@x", subject="Keep", body="kept words\n"),
        make_mail(message_id="b@x", subject="Re: Keep", in_reply_to="<a@x>", minutes=5, body="private zebra\n"),
    )
    c = TestClient(create_app(settings, store), headers=HTML, follow_redirects=False)
    tid = c.get("/api/feeds/team/threads").json()["threads"][0]["id"]
    comment = c.get(f"/api/threads/{tid}").json()["comments"][0]["id"]
    token = csrf_of(c.get(f"/t/{tid}").text)
    assert c.post(f"/admin/entries/{comment}/hide", data={}).status_code == 403  # CSRF
    assert c.post(f"/admin/entries/{comment}/hide", data={"csrf": token}).status_code == 303
    assert c.get(f"/api/threads/{tid}").json()["comments"] == []
    assert c.get("/api/search", params={"q": "zebra"}).json()["results"] == []
    assert 'class="entry hidden"' in c.get(f"/t/{tid}").text  # the admin still sees it, marked
    requeue(store=store, which="all")
    process_pending(store=store, settings=settings)
    assert c.get(f"/api/threads/{tid}").json()["comments"] == []  # hidden survives a rebuild
    assert c.post(f"/admin/entries/{comment}/unhide", data={"csrf": token}).status_code == 303
    assert len(c.get(f"/api/threads/{tid}").json()["comments"]) == 1

    assert c.post(f"/admin/entries/{comment}/delete", data={"csrf": token}).status_code == 400  # unconfirmed
    assert c.post(f"/admin/entries/{comment}/delete", data={"csrf": token, "confirm": "yes"}).status_code == 303
    assert c.get(f"/api/threads/{tid}").json()["comments"] == []
    with store.read() as session:
        raw = session.get(RawMessage, comment)
        assert raw is not None and raw.data == b"" and raw.status == "deleted"
    requeue(store=store, which="all")
    process_pending(store=store, settings=settings)
    assert c.get(f"/api/threads/{tid}").json()["comments"] == []
    assert c.get("/api/search", params={"q": "zebra"}).json()["results"] == []
    assert c.get("/admin/quarantine").status_code == 200


def test_non_admin_cannot_moderate(store: Store, settings: Settings) -> None:
    feed_id = add_feed(store)
    put(store, settings, feed_id, make_mail(message_id="a@x"))
    alice = proxy_client(settings, store, "alice@example.com")
    token = "t" * 20
    alice.cookies.set("__Host-mailfeed-csrf", token)
    assert alice.post(f"/admin/entries/{1}/hide", data={"csrf": token}).status_code == 403
    assert alice.get("/admin/quarantine").status_code == 403


def test_a_merged_private_threads_old_address_redirects_members_only(
    store: Store, settings: Settings, two_feeds: dict[str, int]
) -> None:
    board = two_feeds["board"]
    put(store, settings, board, make_mail(message_id="y@x", subject="Re: Lost", references="<z@x>"))
    with store.read() as session:
        lost = session.scalar(sa.text("SELECT thread_id FROM entry WHERE message_id = 'y@x'"))
    put(store, settings, board, make_mail(message_id="w@x", subject="Re: Secret plan", references="<sec@x> <z@x>"))
    assert proxy_client(settings, store, "alice@example.com").get(f"/t/{lost}").status_code == 403
    moved = proxy_client(settings, store, "boss@example.com").get(f"/t/{lost}")
    assert (moved.status_code, moved.headers["location"]) == (307, f"/t/{two_feeds['board_thread']}")
