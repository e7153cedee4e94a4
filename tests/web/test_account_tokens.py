"""/account: a new secret feed URL is made by POST, shown once after the redirect, with the reader's real feed URLs."""

from __future__ import annotations

import re

import sqlalchemy as sa
from fastapi.testclient import TestClient

from gateway.config import Settings
from gateway.store import access
from gateway.store.db import Store
from gateway.store.models_web import FeedToken
from gateway.web.app import create_app
from tests.helpers import add_feed

HTML = {"accept": "text/html"}
KEY_URL = re.compile(r"https://testserver/f/([a-z]+)/feed\.atom\?key=([A-Za-z0-9_-]+)")


def browser(settings: Settings, store: Store, user: str) -> TestClient:
    app = create_app(settings.model_copy(update={"auth": "proxy"}), store)
    return TestClient(
        app,
        base_url="https://testserver",
        headers={**HTML, "X-Forwarded-Email": user},
        client=("127.0.0.1", 40000),
        follow_redirects=False,
    )


def tokens(store: Store) -> int:
    with store.read() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(FeedToken)) or 0)


def test_a_new_feed_key_is_post_redirect_get_shown_once_with_the_readers_feed_urls(
    store: Store, settings: Settings
) -> None:
    add_feed(store)
    board = add_feed(store, "board", "board@example.com")
    ops = add_feed(store, "ops", "ops@example.com")
    with store.write() as session, session.begin():
        access.set_private(session=session, feed_id=board, members=["boss@example.com"])
        access.set_private(session=session, feed_id=ops, members=["op@example.com"])
    boss = browser(settings, store, "boss@example.com")
    csrf = re.search(r'name="csrf" value="([^"]+)"', boss.get("/account").text).group(1)  # type: ignore[union-attr]

    made = boss.post("/account/tokens", data={"csrf": csrf, "label": "phone"})
    assert made.status_code == 303 and made.headers["location"] == "/account"  # a reload repeats the GET, not this
    assert tokens(store) == 1

    shown = boss.get("/account")
    assert shown.status_code == 200 and "SLUG/feed.atom?key=" not in shown.text
    assert "no-store" in shown.headers["cache-control"]
    urls = KEY_URL.findall(shown.text)
    assert sorted(slug for slug, _ in urls) == ["board", "team"]  # the feeds boss reads, not ops
    key = urls[0][1]
    assert {k for _, k in urls} == {key}
    reader = TestClient(create_app(settings.model_copy(update={"auth": "proxy"}), store), client=("127.0.0.1", 1))
    assert reader.get("/f/board/feed.atom", params={"key": key}).status_code == 200  # a real, working URL

    again = boss.get("/account")  # the reload
    assert again.status_code == 200 and key not in again.text and not KEY_URL.search(again.text)
    assert tokens(store) == 1 and "phone" in again.text

    # the one-time slot is this reader's: someone else in the same browser does not see the key
    boss.post("/account/tokens", data={"csrf": csrf, "label": "laptop"})
    other = boss.get("/account", headers={"X-Forwarded-Email": "op@example.com"})
    assert other.status_code == 200 and not KEY_URL.search(other.text)
    assert not KEY_URL.search(boss.get("/account").text)  # and it is spent all the same
    assert tokens(store) == 2
