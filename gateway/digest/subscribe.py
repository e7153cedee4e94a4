"""Subscriptions: who gets which feed's digest, when; and what digests have saved them.

Used by the CLI, the preferences page and mailed unsubscribe requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gateway.digest.collect import safe_upper_bound
from gateway.digest.schedule import EVERY, WEEKDAYS, ScheduleError, parse_at, zone
from gateway.store.models import Feed
from gateway.store.models_digest import DigestRun, Reader, Subscription


@dataclass(frozen=True)
class Schedule:
    every: str = "daily"
    weekday: str = "mon"
    at: str = "08:00"
    tz: str = "UTC"
    skip_empty: bool = True
    only_mine: bool = False

    def check(self) -> None:
        if self.every not in EVERY:
            raise ScheduleError(f"--every {self.every!r}: use daily, weekly or off")
        if self.weekday not in WEEKDAYS:
            raise ScheduleError(f"--weekday {self.weekday!r}: use one of {', '.join(WEEKDAYS)}")
        parse_at(self.at)
        zone(self.tz)


def reader_for(session: Session, email: str) -> Reader:
    email = email.strip().lower()
    reader = session.scalar(sa.select(Reader).where(Reader.email == email))
    if reader is None:
        reader = Reader(email=email)
        session.add(reader)
        session.flush()
    return reader


def subscribe(session: Session, *, email: str, feed: Feed, schedule: Schedule, now: datetime) -> Subscription:
    """Create or update a subscription; a new one starts with what arrives from now on."""
    schedule.check()
    reader = reader_for(session, email)
    sub = session.scalar(
        sa.select(Subscription).where(Subscription.reader_id == reader.id, Subscription.feed_id == feed.id)
    )
    if sub is None:
        top = safe_upper_bound(session)
        sub = Subscription(reader_id=reader.id or 0, feed_id=feed.id or 0, cursor=top, created_at=now)
        session.add(sub)
    sub.every = schedule.every
    sub.weekday = WEEKDAYS.index(schedule.weekday)
    sub.at = parse_at(schedule.at).strftime("%H:%M")  # " 8:30" is kept as the page shows it: 08:30
    sub.tz = schedule.tz
    sub.skip_empty = schedule.skip_empty
    sub.only_mine = schedule.only_mine
    if reader.disabled:  # subscribing again is a fresh start after bounces
        reader.disabled, reader.disabled_reason, reader.hard_bounces = False, "", 0
    session.flush()
    return sub


def unsubscribe(session: Session, *, email: str, feed: Feed | None = None) -> int:
    """Turn digests off for `email` (one feed or all); returns how many subscriptions changed."""
    reader = session.scalar(sa.select(Reader).where(Reader.email == email.strip().lower()))
    if reader is None:
        return 0
    q = sa.update(Subscription).where(Subscription.reader_id == reader.id, Subscription.every != "off")
    if feed is not None:
        q = q.where(Subscription.feed_id == feed.id)
    return int(session.execute(q.values(every="off")).rowcount or 0)


def why_no_digest(session: Session, *, email: str) -> str | None:
    """Why `email` would get no digest at all (no subscription, all turned off, disabled); None if they would."""
    email = email.strip().lower()
    reader = session.scalar(sa.select(Reader).where(Reader.email == email))
    subs = (
        []
        if reader is None
        else list(session.scalars(sa.select(Subscription.every).where(Subscription.reader_id == reader.id)))
    )
    if reader is None or not subs:
        return f"{email} has no digest subscription (add one with: mailfeed subscribe {email})"
    if all(every == "off" for every in subs):
        return f"{email} has turned off every digest (mailfeed subscribe {email} turns one on again)"
    if reader.disabled:
        return (
            f"{email} gets no digests: disabled ({reader.disabled_reason or 'hard bounces'});"
            f" mailfeed subscribe {email} starts afresh"
        )
    return None


@dataclass(frozen=True)
class Saved:
    email: str
    feed: str
    replaced: int  # messages the reader would have received
    digests: int  # digests they got instead


def emails_saved(session: Session, *, email: str | None = None) -> list[Saved]:
    """Per reader and feed: messages replaced by digests, and the digests sent."""
    q = (
        sa.select(Reader.email, Feed.slug, sa.func.coalesce(sa.func.sum(DigestRun.entry_count), 0), sa.func.count())
        .join(Reader, Reader.id == DigestRun.reader_id)
        .join(Feed, Feed.id == DigestRun.feed_id)
        .where(DigestRun.status == "sent")
        .group_by(Reader.email, Feed.slug)
        .order_by(Reader.email, Feed.slug)
    )
    if email:
        q = q.where(Reader.email == email.strip().lower())
    return [Saved(e, f, int(r), int(n)) for e, f, r, n in session.execute(q).all()]
