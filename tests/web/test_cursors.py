"""Pagination cursors a client wrote itself: a 400 "invalid cursor" on the API and the page, never a 500."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient

from gateway.config import Settings
from gateway.store.db import Store
from tests.web.common import HTML, answered, three_topics


def c64(text: str) -> str:
    """A cursor as a client could forge one (the README's shell `c64`)."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.fixture
def client(settings: Settings, store: Store) -> TestClient:
    return three_topics(settings, store)


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
