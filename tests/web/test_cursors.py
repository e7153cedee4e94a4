"""Pagination cursors a client wrote itself: a 400 "invalid cursor" on the API and the page, never a 500."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from gateway.config import Settings
from gateway.store.db import Store
from gateway.web.app import create_app
from tests.helpers import add_feed, make_mail
from tests.web.common import mail_with_attachments, put

HTML = {"accept": "text/html"}
SECURITY = ("content-security-policy", "x-content-type-options", "referrer-policy", "x-frame-options")


def c64(text: str) -> str:
    """A cursor as a client could forge one (the README's shell `c64`)."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.fixture
def client(settings: Settings, store: Store) -> TestClient:
    feed_id = add_feed(store)
    put(
        store,
        settings,
        feed_id,
        *[make_mail(message_id=f"t{i}@x", subject=f"Topic {i}", minutes=i) for i in range(3)],
        mail_with_attachments(message_id="att@x"),
    )
    return TestClient(create_app(settings, store))


def answered(r: Any, status: int, words: str, *, page: bool) -> None:
    assert r.status_code == status, (r.request.url, r.status_code, r.text[:300])
    for name in SECURITY:
        assert name in r.headers, (r.request.url, name)
    if page:
        assert r.headers["content-type"].startswith("text/html"), r.request.url
        assert str(escape(words)) in r.text, (r.request.url, r.text[-600:])
    else:
        assert r.headers["content-type"] == "application/json", r.request.url
        assert words in r.json()["detail"], (r.request.url, r.json())


FORGED = [
    "2026-11-29T21:43:25+00:00|9223372036854775808",  # past PostgreSQL's bigint and SQLite's integer
    "2026-11-29T21:43:25+00:00|4294967296",  # past any thread id (`integer`)
    "2026-11-29T21:43:25+00:00|-1",
    "0001-01-01T00:00:00+14:00|5",  # before year 1 in UTC
    "9999-12-31T23:00:00-14:00|5",  # after year 9999 in UTC
    "2026-11-29T21:43:25+00:00|" + "9" * 5000,  # more digits than int() takes
    "|5",
]


@pytest.mark.parametrize("cursor", FORGED)
def test_a_forged_cursor_is_a_400_on_the_api_and_the_page(client: TestClient, cursor: str) -> None:
    answered(client.get("/api/feeds/team/threads", params={"cursor": c64(cursor)}), 400, "invalid cursor", page=False)
    answered(client.get("/f/team", params={"cursor": c64(cursor)}, headers=HTML), 400, "invalid cursor", page=True)


def test_the_cursors_mailfeed_hands_out_still_page_on(client: TestClient) -> None:
    first = client.get("/api/feeds/team/threads", params={"limit": 2}).json()
    rest = client.get("/api/feeds/team/threads", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert len(first["threads"]) + len(rest["threads"]) == 4 and rest["next_cursor"] is None
    assert client.get("/f/team", params={"cursor": first["next_cursor"]}, headers=HTML).status_code == 200
