"""The digest ledger: claim a (subscription, period) before sending, mark it after.

A claim is an INSERT that a unique (subscription_id, period) lets succeed once,
across every instance. A claim left behind by a crash (status "claimed" older
than the lease) or a temporary failure (status "retry", due again) is taken
back by an UPDATE that only one instance can win. Marking sent moves the
subscription's cursor in the same transaction.

A subscription has at most one digest on its way at a time, so no two of its
digests hold the same message: a new period's run starts at the cursor (what
the reader last got) and takes over an earlier run still waiting for a retry
(that one becomes "superseded" and is never sent: the reader gets one digest
with everything, not the old news twice and out of order); while an earlier
run is being sent (claimed), the new one waits for a later pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gateway.store import digest_writes
from gateway.store.models_digest import DigestRun, Subscription

LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 8


_RUN = DigestRun.__table__
_SUB = Subscription.__table__


@dataclass(frozen=True)
class Due:
    sub: Subscription
    period: str
    due_at: datetime


@dataclass(frozen=True)
class Claimed:
    ids: list[int]  # the runs this call won
    superseded: int  # earlier runs waiting for a retry that these took over
    waiting: int  # due runs left for a later pass: an earlier run of theirs is being sent


PENDING = ("claimed", "retry")
SUPERSEDED = "superseded"


def claim(session: Session, *, due: list[Due], now: datetime, instance: str, cursor_to: int) -> Claimed:
    """Claim each (subscription, period), in the caller's transaction; what this call won.

    One multi-row INSERT … ON CONFLICT DO NOTHING RETURNING: a pair another
    instance claimed first returns nothing. Then, for the runs won: an earlier
    run of the same subscription waiting for a retry is superseded (a
    conditional UPDATE, so an instance reclaiming it at the same moment and
    this one never both win); where an earlier run is still claimed (being
    sent, or left by a crash until the lease ends), the new run is dropped
    again and waits; the others start at their subscription's cursor as
    committed now, read after those checks, so a run marked sent meanwhile is
    not covered twice.
    """
    if not due:
        return Claimed([], 0, 0)
    won = _insert(session, due=due, now=now, instance=instance, cursor_to=cursor_to)
    if not won:
        return Claimed([], 0, 0)
    earlier = sa.and_(_RUN.c.subscription_id.in_(set(won.values())), _RUN.c.id.not_in(list(won)))
    superseded = session.execute(
        _RUN.update()
        .where(earlier, _RUN.c.status == "retry")
        .values(status=SUPERSEDED, last_error="superseded: a later digest took over what it held")
    ).rowcount
    busy = set(session.scalars(sa.select(_RUN.c.subscription_id).where(earlier, _RUN.c.status.in_(PENDING))))
    waiting = [run_id for run_id, sub_id in won.items() if sub_id in busy]
    if waiting:
        session.execute(_RUN.delete().where(_RUN.c.id.in_(waiting)))
    ids = sorted(run_id for run_id, sub_id in won.items() if sub_id not in busy)
    if ids:
        cursor = sa.select(_SUB.c.cursor).where(_SUB.c.id == _RUN.c.subscription_id).scalar_subquery()
        session.execute(
            _RUN.update()
            .where(_RUN.c.id.in_(ids))
            .values(cursor_from=cursor, cursor_to=sa.case((cursor > _RUN.c.cursor_to, cursor), else_=_RUN.c.cursor_to))
        )
    return Claimed(ids, int(superseded or 0), len(waiting))


def _insert(session: Session, *, due: list[Due], now: datetime, instance: str, cursor_to: int) -> dict[int, int]:
    """INSERT the claims, skipping pairs claimed before; run id → subscription id of those inserted."""
    rows = [
        {
            "subscription_id": d.sub.id,
            "reader_id": d.sub.reader_id,
            "feed_id": d.sub.feed_id,
            "period": d.period,
            "due_at": d.due_at,
            "status": "claimed",
            "claimed_by": instance,
            "claimed_at": now,
            "attempts": 0,
            "cursor_from": d.sub.cursor,  # as read; claim() sets it again, from the cursor as committed
            "cursor_to": max(cursor_to, d.sub.cursor),
            "entry_count": 0,
            "message_id": "",
            "last_error": "",
        }
        for d in due
    ]
    stmt = (
        digest_writes.dialect(session)
        .insert(DigestRun)
        .on_conflict_do_nothing(index_elements=["subscription_id", "period"])
        .returning(DigestRun.id, DigestRun.subscription_id)
    )
    return {run_id: sub_id for run_id, sub_id in session.execute(stmt, rows)}


def reclaimable(session: Session, *, now: datetime) -> list[int]:
    """Runs a crash left claimed past the lease, and temporary failures due again."""
    return list(
        session.scalars(
            sa.select(DigestRun.id)
            .where(
                sa.or_(
                    sa.and_(DigestRun.status == "claimed", DigestRun.claimed_at < now - LEASE),
                    sa.and_(DigestRun.status == "retry", DigestRun.next_attempt_at <= now),
                )
            )
            .order_by(DigestRun.id)
        )
    )


def reclaim(session: Session, *, run_id: int, now: datetime, instance: str) -> bool:
    """Take a reclaimable run; only one instance's UPDATE matches."""
    result = session.execute(
        sa.update(DigestRun)
        .where(
            DigestRun.id == run_id,
            sa.or_(
                sa.and_(DigestRun.status == "claimed", DigestRun.claimed_at < now - LEASE),
                sa.and_(DigestRun.status == "retry", DigestRun.next_attempt_at <= now),
            ),
        )
        .values(status="claimed", claimed_by=instance, claimed_at=now)
    )
    return result.rowcount == 1


@dataclass(frozen=True)
class Sent:
    run: DigestRun
    message_id: str
    entry_count: int


# Built once: recording runs after every relay answer, and building and
# caching a statement costs more than executing it.
_SENT = (
    _RUN.update()
    .where(_RUN.c.id == sa.bindparam("run_id"))
    .values(
        status="sent",
        sent_at=sa.bindparam("now"),
        message_id=sa.bindparam("mid"),
        entry_count=sa.bindparam("n"),
        last_error="",
    )
)
_SKIPPED = (
    _RUN.update().where(_RUN.c.id == sa.bindparam("run_id")).values(status="skipped", sent_at=sa.bindparam("now"))
)
_ADVANCE = (
    _SUB.update()
    .where(_SUB.c.id == sa.bindparam("sub_id"), _SUB.c.cursor < sa.bindparam("upto"))
    .values(cursor=sa.bindparam("upto"))
)


def renew(session: Session, *, run_ids: list[int], now: datetime, instance: str) -> set[int]:
    """Renew this instance's claims on runs it is about to send; the ids that are still its own.

    All due runs are claimed at once and sent batch by batch; without this, a
    long send (many readers, a slow relay) could outlast the lease of the runs
    still waiting, another instance would take them back, and both would send.
    A run already taken back is left to the instance that took it.
    """
    if not run_ids:
        return set()
    stmt = (
        _RUN.update()
        .where(_RUN.c.id.in_(run_ids), _RUN.c.status == "claimed", _RUN.c.claimed_by == instance)
        .values(claimed_at=now)
        .returning(_RUN.c.id)
    )
    return set(session.scalars(stmt))


def mark_sent(session: Session, *, sent: list[Sent], now: datetime) -> None:
    """Mark runs sent and move their subscriptions' cursors, in the caller's transaction.

    Two executemany statements on the tables, not ORM updates (which cost more
    than the rest of recording): the relay's answers are recorded as they come.
    """
    if not sent:
        return
    session.execute(_SENT, [{"run_id": s.run.id, "mid": s.message_id, "n": s.entry_count, "now": now} for s in sent])
    _advance(session, [s.run for s in sent])


def mark_skipped(session: Session, *, runs: list[DigestRun], now: datetime) -> None:
    """Mark runs that had nothing to send; their cursors move as if sent."""
    if not runs:
        return
    session.execute(_SKIPPED, [{"run_id": r.id, "now": now} for r in runs])
    _advance(session, runs)


def _advance(session: Session, runs: list[DigestRun]) -> None:
    session.execute(_ADVANCE, [{"sub_id": r.subscription_id, "upto": r.cursor_to} for r in runs])


def mark_retry(session: Session, *, run: DigestRun, now: datetime, error: str) -> None:
    """A temporary failure: try again later, backing off; give up after MAX_ATTEMPTS."""
    attempts = run.attempts + 1
    status = "retry" if attempts < MAX_ATTEMPTS else "failed"
    delay = timedelta(minutes=min(2 ** (attempts - 1), 360))
    session.execute(
        sa.update(DigestRun)
        .where(DigestRun.id == run.id)
        .values(status=status, attempts=attempts, next_attempt_at=now + delay, last_error=error[:500])
    )


def mark_bounced(session: Session, *, run: DigestRun, error: str) -> None:
    """A permanent refusal: count a hard bounce; enough of them disable the reader."""
    session.execute(sa.update(DigestRun).where(DigestRun.id == run.id).values(status="bounced", last_error=error[:500]))
    digest_writes.record_bounce(session, reader_id=run.reader_id, reason=error)
