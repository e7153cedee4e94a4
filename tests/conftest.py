"""Fixtures: a database per test on SQLite and on a real PostgreSQL, settings, the app.

Every test that takes `store` runs twice, once per backend. The PostgreSQL
server is started once per session; each test gets a fresh database copied
from a migrated template, which is much faster than migrating each time.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from gateway.config import Settings
from gateway.store.db import Store, open_store
from tests.servers import Postgres, start_postgres

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
_counter = itertools.count()


def corpus_dir() -> Path:
    """The shared corpus, from MAILFEED_CORPUS; tests that need it skip, saying why, when absent."""
    path = Path(os.environ.get("MAILFEED_CORPUS", ROOT.parent / "shared" / "corpus"))
    if not path.is_dir():
        pytest.skip(f"corpus not found at {path} (set MAILFEED_CORPUS; CI sets it to ../shared/corpus)")
    return path


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    server = start_postgres()
    try:
        template = open_store(server.url("postgres"), upgrade=False)
        with template.writer.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("CREATE DATABASE mailfeed_template")
        template.dispose()
        migrated = open_store(server.url("mailfeed_template"))
        migrated.dispose()
        yield server
    finally:
        server.stop()


def new_postgres_db(server: Postgres) -> str:
    name = f"t{os.getpid()}_{next(_counter)}"
    engine = sa.create_engine(server.url("postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE mailfeed_template")
    engine.dispose()
    return server.url(name)


@pytest.fixture(scope="session")
def sqlite_template() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="mailfeed-sqlite-"))
    store = open_store(f"sqlite:///{d}/template.sqlite3")
    store.dispose()
    yield d / "template.sqlite3"
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, migrated database URL on each backend."""
    if request.param == "sqlite":
        target = tmp_path / "mailfeed.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    return new_postgres_db(request.getfixturevalue("postgres"))


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=db_url, workers=1, sqlite_synchronous="NORMAL")


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    s = open_store(settings.db_url, synchronous=settings.sqlite_synchronous)
    yield s
    s.dispose()
