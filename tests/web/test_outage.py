"""The database goes away under the app: a 503 with a message and the security headers, one log
line for the outage; and an unexpected exception: a 500 with the headers and one traceback.

The suite's `postgres` fixture serves every test of the session, so the outage stops a
PostgreSQL of this test's own (tests/servers.py), and starts it again.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gateway.config import Settings
from gateway.store import views
from gateway.store.db import Store, open_store
from gateway.web.app import create_app
from tests.helpers import add_feed, make_mail
from tests.servers import Postgres, start_postgres
from tests.web.common import put

HTML = {"accept": "text/html"}
SECURITY = ("content-security-policy", "x-content-type-options", "referrer-policy", "x-frame-options")


@pytest.fixture
def own_postgres() -> Iterator[Postgres]:
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def data_dir() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="mailfeed-outage-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def with_headers(r: object) -> None:
    for name in SECURITY:
        assert name in r.headers, name  # type: ignore[attr-defined]
    assert r.headers["cache-control"] == "private, no-store"  # type: ignore[attr-defined]


def test_a_stopped_database_is_a_503_logged_once(
    own_postgres: Postgres, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(data_dir=data_dir, database_url=own_postgres.url("postgres"), workers=1)
    store = open_store(settings.db_url)
    try:
        put(store, settings, add_feed(store), make_mail(message_id="a@x"))
        client = TestClient(create_app(settings, store))
        assert client.get("/api/feeds").status_code == 200
        assert client.get("/", headers=HTML).status_code == 200  # connections are in the pool now

        own_postgres.stop(keep=True)
        caplog.clear()
        with caplog.at_level(logging.INFO):
            for _ in range(2):
                r = client.get("/api/feeds")
                assert (r.status_code, r.json()) == (503, {"detail": "database unavailable"})
                with_headers(r)
                r = client.get("/", headers=HTML)
                assert r.status_code == 503 and r.headers["content-type"].startswith("text/html")
                assert "Database unavailable" in r.text
                with_headers(r)
                r = client.get("/f/team/feed.atom")
                assert (r.status_code, r.json()) == (503, {"detail": "database unavailable"})
                with_headers(r)
                assert client.get("/api/threads/1").status_code == 503
                assert client.get("/healthz").status_code == 503  # as before: its own report
        lines = [rec for rec in caplog.records if rec.levelno >= logging.WARNING]
        assert [rec.getMessage().split(":")[0] for rec in lines] == [
            "database unavailable, answering 503 until it is back"
        ], [rec.getMessage() for rec in lines]
        # the driver's words (the pooled connection's "AdminShutdown", or a refused connection)
        assert lines[0].getMessage().split("back: ")[1].split(":")[0] in ("AdminShutdown", "OperationalError")
        assert not any(rec.exc_info for rec in caplog.records)

        own_postgres.start()
        assert client.get("/api/feeds").json()[0]["slug"] == "team"
        assert client.get("/", headers=HTML).status_code == 200
    finally:
        store.dispose()


def test_an_unexpected_exception_is_a_500_with_the_headers_and_one_traceback(
    settings: Settings, store: Store, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    add_feed(store)
    client = TestClient(create_app(settings, store))  # raises what reaches it: nothing should

    def broken(**_: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(views, "feeds", broken)
    caplog.clear()
    r = client.get("/api/feeds")
    assert (r.status_code, r.json()) == (500, {"detail": "internal error"})
    with_headers(r)
    page = client.get("/", headers=HTML)
    assert page.status_code == 500 and page.headers["content-type"].startswith("text/html")
    with_headers(page)
    tracebacks = [rec for rec in caplog.records if rec.exc_info]
    assert len(tracebacks) == 2, [rec.getMessage() for rec in caplog.records]
    assert [rec.getMessage() for rec in tracebacks] == ["GET /api/feeds failed", "GET / failed"]
    assert all(rec.exc_info and isinstance(rec.exc_info[1], RuntimeError) for rec in tracebacks)
