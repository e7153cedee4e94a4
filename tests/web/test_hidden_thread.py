"""Hiding a post hides its thread: its comments too, on every route a reader can reach them by."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from gateway.config import Settings
from gateway.store.db import Store
from gateway.web.app import create_app
from tests.helpers import add_feed, make_mail
from tests.web.common import mail_with_attachments, put

HTML = {"accept": "text/html"}
ADMIN, READER = "root@example.com", "alice@example.com"


def proxy_client(settings: Settings, store: Store, user: str) -> TestClient:
    """A reader signed in by the proxy's header, from the proxy's own address."""
    app = create_app(settings.model_copy(update={"auth": "proxy", "admins": ADMIN}), store)
    headers = {**HTML, "X-Forwarded-Email": user}
    return TestClient(
        app, base_url="https://testserver", headers=headers, client=("127.0.0.1", 40000), follow_redirects=False
    )


@dataclass(frozen=True)
class Hidden:
    thread: int
    post: int
    comment: int


@pytest.fixture
def hidden(store: Store, settings: Settings) -> Hidden:
    """A post and Bob's reply with attachments; then an admin hides the post (not the reply)."""
    feed_id = add_feed(store)
    put(
        store,
        settings,
        feed_id,
        make_mail(message_id="post@x", subject="Reorganisation", body="The plan for the teams.\n"),
        mail_with_attachments(
            message_id="reply@x",
            subject="Re: Reorganisation okapi",
            body="My zebra notes are attached.\n",
            sender="Bob Builder <bob@example.com>",
            in_reply_to="<post@x>",
        ),
    )
    admin = proxy_client(settings, store, ADMIN)
    tid = admin.get("/api/feeds/team/threads").json()["threads"][0]["id"]
    thread = admin.get(f"/api/threads/{tid}").json()
    csrf = admin.get(f"/t/{tid}").text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    assert admin.post(f"/admin/entries/{thread['post']['id']}/hide", data={"csrf": csrf}).status_code == 303
    return Hidden(tid, thread["post"]["id"], thread["comments"][0]["id"])


def comment_urls(h: Hidden) -> list[str]:
    return [
        f"/e/{h.comment}",
        f"/e/{h.comment}/raw.eml",
        f"/attachments/{h.comment}/0/Q1%20budget.pdf",
        f"/attachments/{h.comment}/1/chart.png?inline=1",
        "/a/bob@example.com",
    ]


def test_a_hidden_posts_thread_is_gone_for_readers_on_every_route(
    store: Store, settings: Settings, hidden: Hidden
) -> None:
    alice = proxy_client(settings, store, READER)
    leaks = []  # every route that still shows something of the thread, not just the first
    for url in [f"/t/{hidden.thread}", f"/t/{hidden.thread}/feed.atom", f"/api/threads/{hidden.thread}"]:
        if alice.get(url).status_code != 404:
            leaks.append(url)
    for url in comment_urls(hidden):
        answer = alice.get(url)  # 404, not a redirect that names the hidden thread
        if answer.status_code != 404 or "zebra" in answer.text or "okapi" in answer.text:
            leaks.append(url)
    for q in ("zebra", "okapi", "Bob"):
        if alice.get("/api/search", params={"q": q}).json()["results"]:
            leaks.append(f"/api/search?q={q}")
        page = alice.get("/search", params={"q": q})
        if page.status_code != 200 or "0 results for" not in page.text or f"/t/{hidden.thread}" in page.text:
            leaks.append(f"/search?q={q}")
    assert leaks == []


def test_an_admin_still_reaches_a_hidden_posts_thread_as_before(
    store: Store, settings: Settings, hidden: Hidden
) -> None:
    root = proxy_client(settings, store, ADMIN)
    page = root.get(f"/t/{hidden.thread}")
    assert page.status_code == 200 and '<strong class="badge">hidden</strong>' in page.text and "zebra" in page.text
    permalink = root.get(f"/e/{hidden.comment}")
    assert permalink.status_code == 303 and permalink.headers["location"] == f"/t/{hidden.thread}#e{hidden.comment}"
    raw = root.get(f"/e/{hidden.comment}/raw.eml")
    assert raw.status_code == 200 and b"Message-ID: <reply@x>" in raw.content
    assert root.get(f"/attachments/{hidden.comment}/0/Q1%20budget.pdf").content == b"%PDF-1.4 fake"
    assert root.get(f"/attachments/{hidden.comment}/1/chart.png?inline=1").status_code == 200
    assert "okapi" in root.get("/a/bob@example.com").text
    results = root.get("/api/search", params={"q": "zebra"}).json()["results"]
    assert [(r["thread_id"], r["entry_id"]) for r in results] == [(hidden.thread, hidden.comment)]
    found = root.get("/search", params={"q": "zebra"}).text
    assert "1 result for" in found and "okapi" in found and f"/t/{hidden.thread}#e{hidden.comment}" in found
    # the post itself is hidden: as before, no admin route but the thread page shows it
    assert root.get(f"/e/{hidden.post}/raw.eml").status_code == 404


def test_unhiding_the_post_gives_readers_its_thread_back(store: Store, settings: Settings, hidden: Hidden) -> None:
    admin = proxy_client(settings, store, ADMIN)
    csrf = admin.get(f"/t/{hidden.thread}").text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    assert admin.post(f"/admin/entries/{hidden.post}/unhide", data={"csrf": csrf}).status_code == 303
    alice = proxy_client(settings, store, READER)
    for url in comment_urls(hidden):
        assert alice.get(url).status_code in (200, 303), url
    assert [r["entry_id"] for r in alice.get("/api/search", params={"q": "zebra"}).json()["results"]] == [
        hidden.comment
    ]
