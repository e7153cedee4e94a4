"""Engines and schema: one writer engine, one reader engine, migrations at start.

SQLite runs in WAL mode; write transactions start with `BEGIN IMMEDIATE` so a
read-then-write transaction waits its turn instead of failing with
SQLITE_BUSY_SNAPSHOT, and readers use plain deferred transactions so they never
queue behind the writer. PostgreSQL needs neither trick.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
READ_POOL = 16  # connections kept for concurrent reads (the web's worker threads)


@dataclass
class Store:
    """The database handle passed around: `write()` and `read()` give sessions."""

    url: str
    writer: sa.Engine
    reader: sa.Engine

    def __post_init__(self) -> None:
        self._write = sessionmaker(self.writer, expire_on_commit=False)
        self._read = sessionmaker(self.reader, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.writer.dialect.name == "sqlite"

    def write(self) -> Session:
        return self._write()

    def read(self) -> Session:
        return self._read()

    def dispose(self) -> None:
        self.writer.dispose()
        if self.reader is not self.writer:
            self.reader.dispose()


def insert_ignore(session: Session, table: sa.Table, index: Sequence[str]):
    """INSERT … ON CONFLICT DO NOTHING, built once per dialect and table (building costs more than running)."""
    name = session.get_bind().dialect.name
    key = (name, table.name, tuple(index))
    stmt = _INSERT_IGNORE.get(key)
    if stmt is None:
        dialect = postgresql if name == "postgresql" else sqlite
        stmt = _INSERT_IGNORE[key] = dialect.insert(table).on_conflict_do_nothing(index_elements=list(index))
    return stmt


_INSERT_IGNORE: dict[tuple[str, str, tuple[str, ...]], sa.Insert] = {}


def for_driver(conn: sa.Connection, sql: str) -> str:
    """`sql`, written with qmark placeholders and no "%", in the connection's driver's paramstyle.

    The driver SQL of the hot reads and writes is written once, for SQLite,
    and PostgreSQL's psycopg gets it with "%s"; each text is converted once.
    """
    if conn.dialect.paramstyle == "qmark":
        return sql
    return _PYFORMAT.get(sql) or _PYFORMAT.setdefault(sql, sql.replace("?", "%s"))


_PYFORMAT: dict[str, str] = {}


def _sqlite_engine(url: str, *, synchronous: str, immediate: bool, pool_size: int = 5) -> sa.Engine:
    path = sa.engine.make_url(url).database
    pool: dict[str, Any] = {}
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        # Connections past pool_size are closed when returned: sized for the web's
        # concurrent readers, so a busy page does not open (and set up) one per request.
        pool = {"pool_size": pool_size, "max_overflow": pool_size}
    engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **pool)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # stop pysqlite's implicit BEGIN
        dbapi_conn.execute("pragma journal_mode=wal")
        dbapi_conn.execute(f"pragma synchronous={synchronous}")
        dbapi_conn.execute("pragma busy_timeout=30000")

    @event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def open_store(url: str, *, synchronous: str = "FULL", upgrade: bool = True) -> Store:
    """Connect to the database at `url`; bring its schema up to date unless told not to."""
    if url.startswith("sqlite"):
        writer = _sqlite_engine(url, synchronous=synchronous, immediate=True)
        reader = _sqlite_engine(url, synchronous=synchronous, immediate=False, pool_size=READ_POOL)
    else:
        # Readers skip the ping before each checkout (a round trip per request): a
        # connection the server dropped fails its statement, SQLAlchemy invalidates
        # the pool, and the web reads run once more (pages.once_more_if_lost). The
        # writer pings: ingest must come back by itself after a database restart.
        # pool_recycle outlives idle-timeouts of firewalls and poolers in between.
        writer = sa.create_engine(url, pool_size=8, max_overflow=8, pool_recycle=1800, pool_pre_ping=True)
        reader = sa.create_engine(url, pool_size=READ_POOL, max_overflow=8, pool_recycle=1800)
    store = Store(url=url, writer=writer, reader=reader)
    if upgrade:
        upgrade_schema(store)
    return store


def alembic_config(store: Store) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", store.url.replace("%", "%%"))
    return cfg


def upgrade_schema(store: Store) -> None:
    """Apply every pending alembic migration (idempotent; safe with several instances).

    A schema already at the heads is the common case at start: it is told from
    the version rows without importing alembic, which costs a CLI command a
    third of a second. Anything else (a new database, pending migrations, a
    version table we cannot read) goes through alembic.
    """
    if at_heads(store):
        return
    from alembic import command

    cfg = alembic_config(store)
    with store.writer.connect() as conn:
        if conn.dialect.name == "postgresql":
            # Two instances starting together must not both create the tables.
            conn.exec_driver_sql("SELECT pg_advisory_lock(727274)")
        cfg.attributes["connection"] = conn
        try:
            command.upgrade(cfg, "heads")
        finally:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SELECT pg_advisory_unlock(727274)")
                conn.commit()


_REVISION = re.compile(r"""^(down_revision|revision)\s*=\s*(?:['"]([^'"]+)['"]|None)""", re.MULTILINE)


def migration_heads() -> set[str]:
    """The revisions no migration builds on, read from the files' `revision =` lines (no import)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for name, value in _REVISION.findall(path.read_text(encoding="utf-8")):
            if value:
                (revisions if name == "revision" else parents).add(value)
    return revisions - parents


def at_heads(store: Store) -> bool:
    """Whether the schema is at the newest migrations (a new database is not)."""
    try:
        with store.reader.connect() as conn:
            current = {r[0] for r in conn.exec_driver_sql("SELECT version_num FROM alembic_version")}
    except sa.exc.DBAPIError:
        return False  # no version table yet: a new database
    return bool(current) and current == migration_heads()
