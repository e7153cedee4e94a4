"""Tables of the digest side: readers, their subscriptions, and each digest sent.

`DigestRun` is the exactly-once ledger: one row per (subscription, period),
claimed before sending and marked sent after, so two instances (or a restart
after a crash) never send the same digest twice.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from gateway.store.models import UTCDateTime, utcnow


def _when(nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(UTCDateTime(), nullable=nullable)


class Reader(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True, max_length=320)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    disabled: bool = False
    disabled_reason: str = ""
    hard_bounces: int = 0


class Subscription(SQLModel, table=True):
    """One reader's digest of one feed: schedule, options, and the cursor over posting order."""

    __table_args__ = (sa.UniqueConstraint("reader_id", "feed_id"),)

    id: int | None = Field(default=None, primary_key=True)
    reader_id: int = Field(foreign_key="reader.id")
    feed_id: int = Field(foreign_key="feed.id")
    every: str = Field(default="daily", max_length=8)  # daily | weekly | off
    weekday: int = 0  # for weekly: 0 = Monday
    at: str = Field(default="08:00", max_length=5)  # local time HH:MM
    tz: str = Field(default="UTC", max_length=64)  # IANA zone
    skip_empty: bool = True
    only_mine: bool = False  # only threads the reader took part in
    cursor: int = 0  # the last RawMessage.posted_seq a digest covered
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())


class MutedThread(SQLModel, table=True):
    __tablename__ = "muted_thread"

    reader_id: int = Field(primary_key=True)
    thread_id: int = Field(primary_key=True)


class DigestRun(SQLModel, table=True):
    """One digest: claimed, then sent (or skipped, retried, bounced)."""

    __tablename__ = "digest_run"
    __table_args__ = (
        sa.UniqueConstraint("subscription_id", "period"),
        sa.Index("ix_digest_run_status", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="subscription.id")
    reader_id: int
    feed_id: int
    period: str = Field(max_length=16)  # 2026-03-02 (daily) or 2026-W10 (weekly)
    due_at: datetime = Field(sa_column=_when())
    status: str = Field(default="claimed", max_length=10)  # claimed | sent | skipped | retry | bounced
    claimed_by: str = ""
    claimed_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    cursor_from: int = 0
    cursor_to: int = 0
    entry_count: int = 0  # the messages this digest replaced
    message_id: str = ""
    sent_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    last_error: str = ""


class Notice(SQLModel, table=True):
    """An automatic notice sent to someone (e.g. "replies to a digest are not posted"), for rate limits."""

    __table_args__ = (sa.UniqueConstraint("kind", "recipient", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    recipient: str = Field(max_length=320)
    day: str = Field(max_length=10)
    feed_id: int
    status: str = Field(default="pending", max_length=10)  # pending | sent | failed
    sent_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))


class Secret(SQLModel, table=True):
    """mailfeed's signing key when SECRET_KEY is not set: made once, shared by every instance."""

    name: str = Field(primary_key=True, max_length=32)
    value: str
