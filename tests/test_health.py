"""GET /healthz reports each part truthfully: in-process on both backends, and from a real `mailfeed serve`."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from gateway.config import Settings
from gateway.health import Registry
from gateway.ingest import imap_state
from gateway.ingest.imap import new_source
from gateway.pipeline import deliver
from gateway.store.db import Store, open_store
from gateway.store.models import RawMessage
from gateway.store.models_digest import DigestRun, Reader, Subscription
from gateway.web.app import create_app
from gateway.worker import ProcessorProcess
from tests.dovecot import Dovecot, dovecot_binary
from tests.helpers import add_feed, make_mail, wait_for
from tests.seccomp import sandbox_env
from tests.servers import Postgres, start_postgres
from tests.serving import serve_env, serving

COMPONENTS = {"database", "smtp", "processor", "imap", "digests", "disk"}


def store_pending(store: Store, settings: Settings, feed_id: int, n: int) -> None:
    for i in range(n):
        deliver(
            store=store,
            data=make_mail(message_id=f"p{i}@x"),
            feed_ids=[feed_id],
            source="smtp",
            max_bytes=settings.max_message_bytes,
        )


def pending_rows(store: Store) -> int:
    with store.read() as session:
        return len(session.scalars(sa.select(RawMessage.id).where(RawMessage.status == "pending")).all())


def test_an_app_alone_reports_every_component_and_the_parts_it_does_not_run_as_off(
    settings: Settings, store: Store
) -> None:
    feed_id = add_feed(store)
    store_pending(store, settings, feed_id, 3)
    r = TestClient(create_app(settings, store)).get("/healthz")
    body = r.json()
    assert r.status_code == 200 and body["status"] == "ok"
    c = body["components"]
    assert set(c) == COMPONENTS
    assert c["database"]["status"] == "ok" and c["database"]["backend"] == store.writer.dialect.name
    assert c["database"]["latency_ms"] >= 0
    assert c["smtp"] == {"status": "off", "listening": None}
    assert c["processor"]["status"] == "off" and c["processor"]["alive"] is None
    assert c["processor"]["pending"] == pending_rows(store) == 3
    assert c["processor"]["deferred"] == c["processor"]["quarantined"] == 0
    assert 0 <= c["processor"]["oldest_pending_seconds"] < 60
    assert c["imap"] == {"status": "off", "sources": []}
    assert c["digests"] == {"status": "off", "scheduler": "off", "last_run_at": None, "stuck_claims": 0}
    assert c["disk"]["status"] == "ok" and c["disk"]["min_free_bytes"] == settings.health_min_free_bytes


def test_mail_kept_back_is_counted_and_leaves_the_processor_ok(settings: Settings, store: Store) -> None:
    feed_id = add_feed(store)
    store_pending(store, settings, feed_id, 4)
    with store.write() as session, session.begin():
        ids = session.scalars(sa.select(RawMessage.id).order_by(RawMessage.id)).all()
        session.execute(
            sa.update(RawMessage)
            .where(RawMessage.id == ids[0])
            .values(status="quarantined", reason="parse: no header block")
        )
        session.execute(
            sa.update(RawMessage)
            .where(RawMessage.id.in_(ids[1:3]))
            .values(status="deferred", reason="authenticate: DNS could not answer")
        )
    health = Registry()
    health.processor(lambda: True)
    processor = TestClient(create_app(settings, store, health)).get("/healthz").json()["components"]["processor"]
    assert processor["status"] == "ok" and processor["alive"] is True
    assert (processor["pending"], processor["deferred"], processor["quarantined"]) == (1, 2, 1)


def test_old_pending_mail_a_dead_processor_and_a_full_disk_are_degraded(settings: Settings, store: Store) -> None:
    feed_id = add_feed(store)
    store_pending(store, settings, feed_id, 2)
    with store.write() as session, session.begin():
        first = session.scalars(sa.select(sa.func.min(RawMessage.id))).one()
        session.execute(
            sa.update(RawMessage)
            .where(RawMessage.id == first)
            .values(received_at=datetime.now(UTC) - timedelta(hours=1))
        )
    health = Registry()
    alive = [True]
    # The processor is deliberately not running, so the rows stay pending; its liveness is the registry's input.
    health.processor(lambda: alive[0])
    client = TestClient(create_app(settings, store, health))
    processor = client.get("/healthz").json()["components"]["processor"]
    assert processor["status"] == "degraded" and processor["pending"] == 2
    assert 3590 < processor["oldest_pending_seconds"] < 3700
    alive[0] = False
    body = client.get("/healthz").json()
    assert body["components"]["processor"]["status"] == "down" and body["status"] == "degraded"

    roomy = settings.model_copy(update={"health_min_free_bytes": 1 << 62})
    disk = TestClient(create_app(roomy, store)).get("/healthz").json()["components"]["disk"]
    assert disk["status"] == "degraded"
    assert abs(disk["free_bytes"] - shutil.disk_usage(Path(settings.data_dir).parent).free) < 1 << 30


def quick(processor: ProcessorProcess) -> ProcessorProcess:
    """A processor whose watcher looks every 0.2 s instead of 2 s, so that a test sees deaths sooner."""
    processor.WATCH_SECONDS = 0.2
    return processor


def test_a_processor_that_keeps_dying_is_down_saying_why(settings: Settings, store: Store) -> None:
    """A processor whose every start fails (here: its DATA_DIR cannot be made) is up for a moment after each
    restart; /healthz must not call it alive then."""
    broken = settings.model_copy(update={"database_url": "sqlite:////dev/null/no-dir/mailfeed.sqlite3"})
    processor = quick(ProcessorProcess(broken))
    health = Registry()
    health.processor(processor.alive, processor.trouble)
    client = TestClient(create_app(settings, store, health))
    processor.start()
    try:
        trouble = wait_for(processor.trouble, timeout=60)
        assert trouble.startswith("the processor died ") and "(exit code 1 the last time)" in trouble
        for _ in range(20):  # across restarts: never alive, never ok
            report = health.report(store, settings)["components"]["processor"]
            assert report["status"] == "down" and report["alive"] is False, report
            assert report["error"].startswith("the processor died "), report
            body = client.get("/healthz").json()
            assert body["status"] == "degraded" and body["components"]["processor"]["status"] == "down"
            assert body["components"]["processor"]["alive"] is False
            time.sleep(0.1)
    finally:
        processor.stop()


def test_a_processor_killed_once_is_started_again_and_ok(settings: Settings, store: Store) -> None:
    """One death (the OOM killer, an admin's kill -9) is no crash loop: once started again it is alive."""
    processor = quick(ProcessorProcess(settings))
    health = Registry()
    health.processor(processor.alive, processor.trouble)
    processor.start()
    try:
        first = processor._proc  # the process it runs now
        wait_for(first.is_alive, timeout=30)
        os.kill(first.pid, signal.SIGKILL)  # type: ignore[arg-type]
        wait_for(lambda: processor._proc is not first and processor._proc.is_alive(), timeout=60)
        report = health.report(store, settings)["components"]["processor"]
        assert report["status"] == "ok" and report["alive"] is True and report["error"] is None, report
    finally:
        processor.stop()


def test_digest_claims_past_their_lease_are_counted(settings: Settings, store: Store) -> None:
    feed_id = add_feed(store)
    long_ago = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    with store.write() as session, session.begin():
        reader = Reader(email="bob@example.com")
        session.add(reader)
        session.flush()
        sub = Subscription(reader_id=reader.id, feed_id=feed_id)
        session.add(sub)
        session.flush()
        session.add(
            DigestRun(
                subscription_id=sub.id,
                reader_id=reader.id,
                feed_id=feed_id,
                period="2026-03-02",
                due_at=long_ago,
                status="claimed",
                claimed_by="gone:1",
                claimed_at=long_ago,
            )
        )
    health = Registry()
    health.digests(lambda: True)
    digests = TestClient(create_app(settings, store, health)).get("/healthz").json()["components"]["digests"]
    assert digests == {
        "status": "degraded",
        "scheduler": "running",
        "last_run_at": "2026-03-02T08:00:00+00:00",
        "stuck_claims": 1,
    }


def test_openapi_says_503_carries_the_same_body(settings: Settings, store: Store) -> None:
    spec = TestClient(create_app(settings, store)).get("/openapi.json").json()
    responses = spec["paths"]["/healthz"]["get"]["responses"]
    for code in ("200", "503"):
        assert responses[code]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Health"}
    status = spec["components"]["schemas"]["Health"]["properties"]["status"]
    assert status["enum"] == ["ok", "degraded", "down"]


@pytest.fixture
def own_postgres() -> Iterator[Postgres]:
    server = start_postgres()
    yield server
    server.stop()


def test_database_stopped_is_503_down_and_back_to_ok_when_it_returns(own_postgres: Postgres, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=own_postgres.url())
    store = open_store(settings.db_url)
    try:
        client = TestClient(create_app(settings, store))
        assert client.get("/healthz").status_code == 200
        own_postgres.stop(keep=True)
        r = client.get("/healthz")
        body = r.json()
        assert r.status_code == 503 and body["status"] == "down"
        assert body["components"]["database"] == {
            "status": "down",
            "backend": "postgresql",
            "latency_ms": None,
            "error": "OperationalError",
        }
        assert {body["components"][k]["status"] for k in ("processor", "imap", "digests")} == {"unknown"}
        assert str(own_postgres.port) not in r.text  # no host, port or URL of the database
        own_postgres.start()
        r = client.get("/healthz")  # the pooled connections died with the server: one fresh try
        assert r.status_code == 200 and r.json()["status"] == "ok"
    finally:
        store.dispose()


# a real `mailfeed serve` --------------------------------------------------------------------------------------

IMAP_PASSWORD = "s3cret-health-pass"


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    if dovecot_binary() is None:
        pytest.fail("dovecot not found: run `make system-deps` (Debian package `dovecot-imapd`)")
    d = Dovecot()
    d.add_user("team", IMAP_PASSWORD)
    d.start()
    yield d
    d.close()


@pytest.mark.slow
def test_serve_reports_what_it_runs_and_an_imap_source_with_a_wrong_password(
    db_url: str, tmp_path: Path, dovecot: Dovecot
) -> None:
    store = open_store(db_url, upgrade=False)
    try:
        feed_id = add_feed(store)
        (tmp_path / "wrong.pw").write_text("not-the-password\n")
        cols = new_source(
            url=dovecot.url("team"), password_file=str(tmp_path / "wrong.pw"), password_env=None, after="none"
        )
        with store.write() as session, session.begin():
            source_id = imap_state.add_source(session=session, feed_id=feed_id, **cols)
    finally:
        store.dispose()
    env = serve_env(db_url, tmp_path, imap_backoff_max_seconds="10")
    with serving(env) as served:

        def imap_failed() -> dict[str, object] | None:
            _, body = served.healthz()
            sources = body["components"]["imap"]["sources"]  # type: ignore[index]
            return body if sources and sources[0]["state"] == "error" else None

        body = wait_for(imap_failed, timeout=30)
        text = json.dumps(body)
    c = body["components"]
    assert body["status"] == "degraded"  # the source's error
    assert c["smtp"] == {"status": "ok", "listening": f"127.0.0.1:{served.smtp_port}"}
    assert c["processor"]["status"] == "ok" and c["processor"]["alive"] is True
    assert c["digests"]["status"] == "ok" and c["digests"]["scheduler"] == "running"
    assert c["database"]["backend"] == ("sqlite" if db_url.startswith("sqlite") else "postgresql")
    [src] = c["imap"]["sources"]
    assert c["imap"]["status"] == "degraded" and src["id"] == source_id and src["feed"] == "team"
    assert src["label"] == f"IMAP source {source_id} ({dovecot.url('team')}) of feed team"
    assert "login as 'team' refused" in src["last_error"] and src["last_ok_at"] is None
    assert IMAP_PASSWORD not in text and "not-the-password" not in text and db_url not in text


@pytest.mark.slow
def test_serve_whose_processor_keeps_dying_reports_it_down(tmp_path: Path) -> None:
    """A processor killed at every start (SIGSYS: a unit whose SystemCallFilter= refuses setpriority without
    SystemCallErrorNumber=) is restarted every few seconds; /healthz says down all along, not ok in between."""
    db_url = f"sqlite:///{tmp_path / 'mailfeed.sqlite3'}"
    store = open_store(db_url)
    add_feed(store)
    store.dispose()
    env = sandbox_env(serve_env(db_url, tmp_path), tmp_path / "sandbox", "setpriority", kill=True)
    died = "the processor died (killed by SIGSYS); starting it again"
    with serving(env, "--no-imap", "--no-digests") as served:
        wait_for(lambda: served.output().count(died) >= 2, timeout=60)  # a crash loop, not one death
        for _ in range(40):  # over more restarts (one every 2 s or so)
            code, body = served.healthz()
            processor = body["components"]["processor"]  # type: ignore[index]
            assert code == 200 and body["status"] == "degraded", body
            assert processor["status"] == "down" and processor["alive"] is False, body
            assert processor["error"].startswith("the processor died ") and "SIGSYS" in processor["error"], body
            time.sleep(0.1)
        # started again at once, then after waits that double: no fork and ERROR line every 2 s for ever
        wait_for(lambda: f"{died} in 4 s" in served.output(), timeout=60)
        log = served.output()
    waits = [line.rpartition(died)[2] for line in log.splitlines() if died in line]
    assert waits[:3] == ["", " in 2 s", " in 4 s"], log


def test_imap_urls_and_errors_are_for_admins_only(settings: Settings, store: Store) -> None:
    """Behind AUTH=proxy a load balancer sees each source's state; only an admin sees its URL and error."""

    feed_id = add_feed(store)
    with store.write() as session, session.begin():
        source_id = imap_state.add_source(
            session=session,
            feed_id=feed_id,
            url="imaps://team@mail.example.com/Entw%C3%BCrfe",
            password_file="",
            password_env="TEAM_PW",
            after="none",
        )
    imap_state.mark_error(store=store, source_id=source_id, error="LOGIN failed for team at mail.example.com")
    app = create_app(settings.model_copy(update={"auth": "proxy", "admins": "root@example.com"}), store)

    def source(user: str | None) -> dict[str, object]:
        client = TestClient(app, headers={"X-Forwarded-Email": user} if user else {}, client=("127.0.0.1", 40000))
        body = client.get("/healthz").json()
        [src] = body["components"]["imap"]["sources"]
        return src  # type: ignore[no-any-return]

    for outsider in (None, "alice@example.com"):
        src = source(outsider)
        assert src["state"] == "error" and src["last_error"] == ""
        assert "mail.example.com" not in json.dumps(src)
    admin = source("root@example.com")
    assert admin["label"] == f"IMAP source {source_id} (imaps://team@mail.example.com/Entwürfe) of feed team"
    assert admin["last_error"] == "LOGIN failed for team at mail.example.com"
