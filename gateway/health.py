"""What `/healthz` reports: the database and each part this instance runs.

`mailfeed serve` (the composition root) registers what it started in a
`Registry`; `create_app` gets it, and the route runs `Registry.report` in a
worker thread. A part this instance does not run reports "off". The checks
must stay cheap, since a monitor polls them every few seconds: pending raw
messages are counted through the (status, id) index, stuck digest claims
through digest_run's status index, and nothing else reads more than the
IMAP sources' rows.

Statuses: each component is "ok", "degraded", "down", "off", or "unknown" (it
needs the database, which is down). The whole is "down" only when the
database is (the web then answers 503), "degraded" when any part is degraded
or down, else "ok". The processor is "down" while it keeps dying (restarted
more than once within a minute), not only at the moment it is dead: between
two restarts it is up and processes nothing. The report carries no secrets:
no database URL, no IMAP password (a source's URL never holds one, see
ingest/imap.py).

IMAP sources are read from the store's tables directly rather than through
ingest/imap_state.py, so the web side keeps to reading the store.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from gateway.config import Settings
from gateway.digest.runs import LEASE
from gateway.ingest.imap_state import readable_url
from gateway.store.db import Store
from gateway.store.models import Feed, RawMessage
from gateway.store.models_digest import DigestRun
from gateway.store.models_imap import ImapSource

Alive = Callable[[], bool]
Trouble = Callable[[], str | None]  # why a running part cannot be counted on, or None
Report = dict[str, Any]


@dataclass
class Registry:
    """The parts `serve` runs here, each with a cheap "is it still running?" check."""

    smtp_listening: str | None = None  # host:port
    smtp_alive: Alive | None = None
    processor_alive: Alive | None = None
    processor_trouble: Trouble | None = None
    imap_alive: Alive | None = None
    digests_alive: Alive | None = None

    def smtp(self, listening: str, alive: Alive) -> None:
        self.smtp_listening, self.smtp_alive = listening, alive

    def processor(self, alive: Alive, trouble: Trouble | None = None) -> None:
        """`alive` is False while the processor keeps dying; `trouble` says why (ProcessorProcess has both)."""
        self.processor_alive, self.processor_trouble = alive, trouble

    def imap(self, alive: Alive) -> None:
        self.imap_alive = alive

    def digests(self, alive: Alive) -> None:
        self.digests_alive = alive

    def report(self, store: Store, settings: Settings) -> Report:
        """Every component's state, and the status of the whole (see the module docstring)."""
        now = datetime.now(UTC)
        database = check_database(store)
        reachable = database["status"] == "ok"
        components = {
            "database": database,
            "smtp": self._smtp(),
            "processor": self._guarded(reachable, lambda: self._processor(store, settings, now)),
            "imap": self._guarded(reachable, lambda: self._imap(store, now)),
            "digests": self._guarded(reachable, lambda: self._digests(store, now)),
            "disk": check_disk(settings.data_dir, settings.health_min_free_bytes),
        }
        return {"status": overall(components), "components": components}

    @staticmethod
    def _guarded(reachable: bool, check: Callable[[], Report]) -> Report:
        """A check that reads the database; "unknown" when it is down (or goes down meanwhile)."""
        if not reachable:
            return {"status": "unknown"}
        try:
            return check()
        except sa.exc.SQLAlchemyError:
            return {"status": "unknown"}

    def _smtp(self) -> Report:
        if self.smtp_alive is None:
            return {"status": "off", "listening": None}
        return {"status": "ok" if self.smtp_alive() else "down", "listening": self.smtp_listening}

    def _processor(self, store: Store, settings: Settings, now: datetime) -> Report:
        pending, oldest = pending_raw(store)
        held = held_raw(store)
        age = max(0.0, (now - oldest).total_seconds()) if oldest is not None else None
        alive = self.processor_alive() if self.processor_alive is not None else None
        error = self.processor_trouble() if self.processor_trouble is not None else None
        if alive is None:
            status = "off"
        elif not alive or error:
            status = "down"
        else:
            status = "degraded" if age is not None and age > settings.health_max_pending_seconds else "ok"
        return {
            "status": status,
            "alive": alive,
            "pending": pending,
            "oldest_pending_seconds": round(age, 1) if age is not None else None,
            "deferred": held["deferred"],
            "quarantined": held["quarantined"],
            "error": error,
        }

    def _imap(self, store: Store, now: datetime) -> Report:
        sources = imap_sources(store, now)
        if self.imap_alive is None:
            status = "off"
        elif not self.imap_alive():
            status = "down"
        else:
            status = "degraded" if any(s["state"] == "error" for s in sources) else "ok"
        return {"status": status, "sources": sources}

    def _digests(self, store: Store, now: datetime) -> Report:
        last, stuck = digest_ledger(store, now)
        if self.digests_alive is None:
            status, scheduler = "off", "off"
        elif not self.digests_alive():
            status, scheduler = "down", "stopped"
        else:
            status, scheduler = ("degraded" if stuck else "ok"), "running"
        return {"status": status, "scheduler": scheduler, "last_run_at": last, "stuck_claims": stuck}


def overall(components: dict[str, Report]) -> str:
    if components["database"]["status"] != "ok":
        return "down"
    if any(c["status"] in ("degraded", "down") for c in components.values()):
        return "degraded"
    return "ok"


def check_database(store: Store) -> Report:
    """A `SELECT 1` on a reader connection, timed; tried twice if the server restarted meanwhile."""
    backend = store.reader.dialect.name
    started = time.perf_counter()
    for attempt in (1, 2):
        try:
            with store.read() as session:
                session.execute(sa.text("SELECT 1"))
            break
        except sa.exc.DBAPIError as exc:  # a pooled connection the restart killed: once more, fresh
            if attempt == 2 or not exc.connection_invalidated:
                return {"status": "down", "backend": backend, "latency_ms": None, "error": type(exc).__name__}
        except sa.exc.SQLAlchemyError as exc:
            return {"status": "down", "backend": backend, "latency_ms": None, "error": type(exc).__name__}
    latency = (time.perf_counter() - started) * 1000
    return {"status": "ok", "backend": backend, "latency_ms": round(latency, 2), "error": None}


def pending_raw(store: Store) -> tuple[int, datetime | None]:
    """How many raw messages wait for the processor, and when the oldest arrived (both by the status index).

    A deferred message tried again is pending with its reason: it came hours ago,
    and its age would make the backlog look stuck every time it is retried.
    """
    raw = RawMessage.__table__  # type: ignore[attr-defined]
    with store.read() as session:
        count = session.execute(sa.select(sa.func.count()).select_from(raw).where(raw.c.status == "pending")).scalar()
        oldest = session.execute(
            sa.select(raw.c.received_at)
            .where(raw.c.status == "pending", raw.c.reason == "")
            .order_by(raw.c.id)
            .limit(1)
        ).scalar()
    return int(count or 0), oldest


def held_raw(store: Store) -> dict[str, int]:
    """Raw messages kept back, by the status index: `deferred` (DNS; tried again by itself) and `quarantined`.

    Neither makes the processor degraded: quarantine may hold old mail on
    purpose. A monitor that wants to hear of a new one watches the count.
    """
    raw = RawMessage.__table__  # type: ignore[attr-defined]
    with store.read() as session:
        rows = session.execute(
            sa.select(raw.c.status, sa.func.count())
            .where(raw.c.status.in_(("deferred", "quarantined")))
            .group_by(raw.c.status)
        ).all()
    counts = {"deferred": 0, "quarantined": 0}
    counts.update({status: int(n) for status, n in rows})
    return counts


def imap_sources(store: Store, now: datetime) -> list[Report]:
    """Each IMAP source as `mailfeed imap status` shows it: "ok", "error", or "idle" (no pass yet)."""
    src = ImapSource.__table__.c  # type: ignore[attr-defined]
    cols = [src.id, src.url, src.last_ok_at, src.last_error, src.last_error_at, Feed.slug]
    leased = "lease_holder" in src and "lease_expires_at" in src  # added by the IMAP lease (migration 0006)
    if leased:
        cols += [src.lease_holder, src.lease_expires_at]
    with store.read() as session:
        rows = session.execute(sa.select(*cols).join(Feed, Feed.id == src.feed_id).order_by(src.id)).all()
    out = []
    for r in rows:
        state = "error" if r.last_error else "ok" if r.last_ok_at else "idle"
        held = leased and r.lease_holder and r.lease_expires_at and r.lease_expires_at > now
        holder = r.lease_holder if held else None
        out.append(
            {
                "id": r.id,
                "feed": r.slug,
                "label": f"IMAP source {r.id} ({readable_url(r.url)}) of feed {r.slug}",
                "state": state,
                "last_ok_at": r.last_ok_at,
                "last_error": r.last_error,
                "last_error_at": r.last_error_at,
                "lease_holder": holder,
            }
        )
    return out


def without_details(report: Report) -> Report:
    """The report for someone who is not an admin: IMAP sources keep their state, lose URL, error and holder.

    A load balancer needs only the states; a source's URL names a user and a
    host, and its last error can say more.
    """
    imap = report["components"]["imap"]
    sources = [
        {**src, "label": f"IMAP source {src['id']} of feed {src['feed']}", "last_error": "", "lease_holder": None}
        for src in imap.get("sources", [])
    ]
    return {**report, "components": {**report["components"], "imap": {**imap, "sources": sources}}}


def digest_ledger(store: Store, now: datetime) -> tuple[datetime | None, int]:
    """When the latest digest was claimed (by any instance), and how many claims a crash left past their lease."""
    run = DigestRun.__table__.c  # type: ignore[attr-defined]
    with store.read() as session:
        last = session.execute(sa.select(run.claimed_at).order_by(run.id.desc()).limit(1)).scalar()
        stuck = session.execute(
            sa.select(sa.func.count())
            .select_from(DigestRun.__table__)  # type: ignore[attr-defined]
            .where(run.status == "claimed", run.claimed_at < now - LEASE)
        ).scalar()
    return last, int(stuck or 0)


def check_disk(data_dir: Path, min_free: int) -> Report:
    """Free bytes where DATA_DIR is (or would be: its nearest existing parent); degraded below `min_free`."""
    path = data_dir.resolve()
    while not path.exists() and path != path.parent:
        path = path.parent
    free = shutil.disk_usage(path).free
    return {"status": "ok" if free >= min_free else "degraded", "free_bytes": free, "min_free_bytes": min_free}
