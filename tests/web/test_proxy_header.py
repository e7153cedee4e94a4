"""AUTH=proxy: the proxy's header must carry one bare address; a display name or a list is refused, not a name."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from gateway.config import Settings
from gateway.store.db import Store
from gateway.web.app import create_app
from gateway.web.auth import bare_address
from tests.helpers import add_feed

MISCONFIGURED = [
    "<admin@example.com>",
    "Bo <bo@example.com>",
    '"Bo" <bo@example.com>',
    "bo@example.com, admin@example.com",
    "bo@example.com admin@example.com",
    "bo",
    "bo@",
    "@example.com",
    "bo@example.com@evil.example",
    "bo@example.com (Bo)",
]


def client(settings: Settings, store: Store, user: str) -> TestClient:
    app = create_app(settings.model_copy(update={"auth": "proxy", "admins": "admin@example.com"}), store)
    return TestClient(
        app, headers={"X-Forwarded-Email": user, "accept": "application/json"}, client=("127.0.0.1", 40000)
    )


@pytest.mark.parametrize("value", MISCONFIGURED)
def test_a_proxy_header_that_is_not_one_bare_address_is_refused(
    store: Store, settings: Settings, value: str, caplog: pytest.LogCaptureFixture
) -> None:
    add_feed(store)
    c = client(settings, store, value)
    with caplog.at_level(logging.WARNING, logger="gateway.web.auth"):
        for url in ("/api/feeds", "/", "/f/team", "/account", "/stats", "/admin/quarantine"):
            r = c.get(url)
            assert r.status_code == 400, (url, r.status_code)
            assert "not one bare address" in r.json()["detail"], url
        page = c.get("/", headers={"accept": "text/html"})
    assert page.status_code == 400 and "not one bare address" in page.text and "Signed in" not in page.text
    refusals = [r for r in caplog.records if "not one bare address" in r.getMessage()]
    assert len(refusals) == 1, [r.getMessage() for r in refusals]  # once, however many requests
    assert "X-Forwarded-Email" in refusals[0].getMessage()


def test_a_proper_proxy_header_signs_in_and_a_strangers_is_ignored(store: Store, settings: Settings) -> None:
    add_feed(store)
    r = client(settings, store, "  Admin@Example.com ").get("/admin/quarantine")
    assert r.status_code == 200
    assert client(settings, store, "bo@example.com").get("/api/feeds").json()[0]["slug"] == "team"
    assert client(settings, store, "bo@example.com").get("/admin/quarantine").status_code == 403
    assert client(settings, store, "").get("/api/feeds").status_code == 401  # no header: anonymous, as before
    app = create_app(settings.model_copy(update={"auth": "proxy"}), store)
    stranger = TestClient(app, headers={"X-Forwarded-Email": "Bo <bo@example.com>"}, client=("203.0.113.9", 40000))
    assert stranger.get("/api/feeds").status_code == 401  # not the proxy: its header is ignored, whatever it says


def test_bare_address() -> None:
    assert bare_address("bo@example.com") and bare_address("jörg@example.de") and bare_address("a+b.c@x")
    assert not any(bare_address(v.strip().lower()) for v in MISCONFIGURED)
    assert not bare_address("bo@exa\tmple.com") and not bare_address("bo@example.com\x00")
