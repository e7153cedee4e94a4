"""Tables for IMAP sources: where to follow (ImapSource) and how far we got (ImapCursor).

A source stores where its password is (a file path or an environment
variable's name), never the password itself. The cursor is moved only in the
transaction that commits the raw messages it covers. The lease columns say
which instance follows the source (ingest/imap_lease.py).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from gateway.store.models import UTCDateTime, utcnow


class ImapSource(SQLModel, table=True):
    """One IMAP folder followed into one feed."""

    __tablename__ = "imap_source"
    # AUTOINCREMENT: SQLite would give a removed source's id to the next one, which the follower of
    # the removed one (let go within 10 s) would take for it. PostgreSQL's sequence never does.
    __table_args__ = (sa.UniqueConstraint("feed_id", "url"), {"sqlite_autoincrement": True})

    id: int | None = Field(default=None, primary_key=True)
    feed_id: int = Field(foreign_key="feed.id")
    url: str = Field(max_length=2000)  # imaps://user@host:port/FOLDER, no password
    password_file: str = ""
    password_env: str = Field(default="", max_length=255)
    after: str = Field(default="none", max_length=255)  # none | seen | move:FOLDER
    created_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False))
    last_ok_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=True))
    last_error: str = ""
    last_error_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=True))
    lease_holder: str = Field(default="", max_length=255)  # instance id; "" = free
    lease_expires_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=True))
    # UIDs at or below the cursor not stored (refused, with their sizes; flagged \Deleted), JSON;
    # NULL = not known (a source from before it). Written with the cursor (ingest/imap_refusals.py).
    skipped: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))


class ImapCursor(SQLModel, table=True):
    """How far a source's folder has been committed: every UID <= last_uid under this UIDVALIDITY."""

    __tablename__ = "imap_cursor"

    source_id: int = Field(primary_key=True, foreign_key="imap_source.id", sa_column_kwargs={"autoincrement": False})
    # UIDs and UIDVALIDITY are unsigned 32-bit (RFC 3501 2.3.1.1): too big for a signed INTEGER.
    uidvalidity: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    last_uid: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False))
