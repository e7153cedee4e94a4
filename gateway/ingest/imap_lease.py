"""Which instance follows an IMAP source: a lease in the source's row.

Several `mailfeed serve` instances (and `mailfeed imap sync` from cron) may
share one database; each source is followed by the one instance that holds
its lease. A lease is taken, and renewed, by one conditional UPDATE that
succeeds only when the lease is free, expired, or already ours: PostgreSQL's
row lock (and SQLite's single writer) let exactly one of several instances
trying at once match it. Expiry is judged by the database's clock on
PostgreSQL, so instances on hosts whose clocks differ agree on it.

A holder renews every third of IMAP_LEASE_SECONDS and releases the lease when
it stops cleanly, so another instance takes over at its next rescan; after a
crash, once the lease has expired. Each batch commit re-takes the lease in its
own transaction (`hold`), so only the holder moves the cursor.
"""

from __future__ import annotations

import functools
import logging
import os
import secrets
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gateway.store.db import Store
from gateway.store.models import utcnow
from gateway.store.models_imap import ImapSource

log = logging.getLogger(__name__)

RETRY_SECONDS = 1.0  # a renewal that could not reach the database is tried again this soon


def instance_id() -> str:
    """This process's name as a lease holder: host, pid and a random suffix (pids are reused)."""
    return _instance(os.getpid())


@functools.cache
def _instance(pid: int) -> str:
    return f"{socket.gethostname()}:{pid}:{secrets.token_hex(3)}"


@dataclass(frozen=True)
class Claim:
    """The outcome of taking a lease: ours, or whose it is and until when."""

    ok: bool
    holder: str
    until: datetime | None

    def __str__(self) -> str:
        until = self.until.isoformat(timespec="seconds") if self.until else "?"
        return f"held by {self.holder} until {until}" if self.holder else "lease just released"


class LeaseLost(Exception):
    """Another instance holds the source's lease now (`claim` says who), or ours ran out unrenewed."""

    def __init__(self, message: str, claim: Claim | None = None) -> None:
        super().__init__(message)
        self.claim = claim


def _clock(session: Session, seconds: float) -> tuple[Any, Any]:
    """(now, now + seconds) as SQL values: the database's clock on PostgreSQL, ours on SQLite (same host)."""
    if session.get_bind().dialect.name == "postgresql":
        db_now = sa.func.timezone("UTC", sa.func.now(), type_=sa.DateTime())  # naive UTC, as UTCDateTime stores
        return db_now, db_now + sa.literal(timedelta(seconds=seconds), sa.Interval())
    now = utcnow()
    return now, now + timedelta(seconds=seconds)


def take(*, session: Session, source_id: int, holder: str, seconds: float) -> Claim:
    """Take or renew the lease for `seconds` if it is free, expired or `holder`'s; in the caller's transaction.

    UPDATE imap_source SET lease_holder = :holder, lease_expires_at = now + :seconds
     WHERE id = :source_id
       AND (lease_holder = '' OR lease_holder = :holder OR lease_expires_at < now)
    """
    c = ImapSource.__table__.c  # type: ignore[attr-defined]
    now, until = _clock(session, seconds)
    taken = session.execute(
        sa.update(ImapSource.__table__)  # type: ignore[attr-defined]
        .where(c.id == source_id, sa.or_(c.lease_holder == "", c.lease_holder == holder, c.lease_expires_at < now))
        .values(lease_holder=holder, lease_expires_at=until)
    )
    if taken.rowcount == 1:  # type: ignore[attr-defined]
        return Claim(True, holder, None)
    row = session.execute(sa.select(c.lease_holder, c.lease_expires_at).where(c.id == source_id)).first()
    return Claim(False, row[0] if row else "", row[1] if row else None)


def hold(*, session: Session, source_id: int, holder: str, seconds: float) -> None:
    """Renew the lease inside a commit that needs it; raises LeaseLost (roll back) when another instance has it."""
    claim = take(session=session, source_id=source_id, holder=holder, seconds=seconds)
    if not claim.ok:
        raise LeaseLost(str(claim), claim)


def release(*, session: Session, source_id: int, holder: str) -> None:
    """Free the lease if `holder` has it, so another instance can take over at once."""
    c = ImapSource.__table__.c  # type: ignore[attr-defined]
    session.execute(
        sa.update(ImapSource.__table__)  # type: ignore[attr-defined]
        .where(c.id == source_id, c.lease_holder == holder)
        .values(lease_holder="", lease_expires_at=None)
    )


class Lease:
    """One source's lease as its holder sees it: taken, renewed when due, released.

    `keep()` renews when a third of the lease has passed. When the database
    cannot be reached it tries again each second and raises LeaseLost only
    once the lease has run out, since another instance may then follow the
    source.
    """

    def __init__(self, store: Store, source_id: int, holder: str, seconds: float) -> None:
        self.store = store
        self.source_id = source_id
        self.holder = holder
        self.seconds = seconds
        self.renew_every = seconds / 3
        self._valid_until = 0.0  # monotonic: when the lease we last got runs out
        self._renew_at = 0.0

    def take(self) -> Claim:
        started = time.monotonic()
        with self.store.write() as session, session.begin():
            claim = take(session=session, source_id=self.source_id, holder=self.holder, seconds=self.seconds)
        if claim.ok:
            self._valid_until = started + self.seconds
            self._renew_at = started + self.renew_every
        return claim

    def keep(self) -> None:
        """Renew if due; raises LeaseLost when another instance has the lease, or ours ran out."""
        now = time.monotonic()
        if now < self._renew_at:
            return
        try:
            claim = self.take()
        except Exception as exc:  # the database is away: we may still hold the lease for a while
            if time.monotonic() >= self._valid_until:
                raise LeaseLost(f"lease not renewed in {self.seconds:g} s ({type(exc).__name__}: {exc})") from None
            log.warning("IMAP source %s: cannot renew its lease yet: %s", self.source_id, exc)
            self._renew_at = now + RETRY_SECONDS
            return
        if not claim.ok:
            raise LeaseLost(str(claim), claim)

    def hold(self, session: Session) -> None:
        hold(session=session, source_id=self.source_id, holder=self.holder, seconds=self.seconds)

    def release(self) -> None:
        try:
            with self.store.write() as session, session.begin():
                release(session=session, source_id=self.source_id, holder=self.holder)
        except Exception:  # the lease then expires by itself
            log.exception("IMAP source %s: cannot release its lease", self.source_id)
