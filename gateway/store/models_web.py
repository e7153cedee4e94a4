"""Tables of the web side: who may read what, sign-in, secret feed URLs, moderation.

None of these are derived from raw mail, so `mailfeed reprocess` leaves them
alone. They are keyed by entry id where they concern an entry, and entry ids
survive reprocessing, so a hidden entry stays hidden through a rebuild.
Secrets (session cookies, sign-in links, feed URLs) are stored only as their
SHA-256, so a copy of the database does not let anyone in.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from gateway.store.models import UTCDateTime, utcnow


def _when(nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(UTCDateTime(), nullable=nullable)


class FeedAccess(SQLModel, table=True):
    """A feed marked private: only its members (and admins) see it."""

    __tablename__ = "feed_access"

    feed_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    private: bool = True


class FeedMember(SQLModel, table=True):
    """One member of a private feed: an address (`ann@example.com`) or a domain (`example.com`)."""

    __tablename__ = "feed_member"

    feed_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    pattern: str = Field(primary_key=True, max_length=320)


class ReaderSession(SQLModel, table=True):
    """A signed-in browser (email sign-in); the cookie holds the secret, we keep its hash."""

    __tablename__ = "reader_session"

    token_hash: str = Field(primary_key=True, max_length=64)
    email: str = Field(max_length=320)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    expires_at: datetime = Field(sa_column=_when())


class SigninToken(SQLModel, table=True):
    """A mailed sign-in link: single use, expiring."""

    __tablename__ = "signin_token"

    token_hash: str = Field(primary_key=True, max_length=64)
    email: str = Field(max_length=320)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    expires_at: datetime = Field(sa_column=_when())
    used_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))


class FeedToken(SQLModel, table=True):
    """A secret feed URL for a feed reader: reads as `email` would, until revoked."""

    __tablename__ = "feed_token"
    __table_args__ = (sa.Index("ix_feed_token_email", "email"),)

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    email: str = Field(max_length=320)
    label: str = ""
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    revoked_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))


class Moderation(SQLModel, table=True):
    """An admin's decision on an entry: "hidden" (reversible) or "deleted" (raw erased too)."""

    __tablename__ = "moderation"

    entry_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    action: str = Field(max_length=16)
    by: str = ""
    at: datetime = Field(default_factory=utcnow, sa_column=_when())
