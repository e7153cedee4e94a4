"""Tables. `raw_message` is the source of truth; everything else is derived from it
and can be rebuilt by `mailfeed reprocess --all`.

Entry ids equal the id of the raw message they came from, and a thread's id is
the id of the first entry placed in it, so a rebuild in the order the messages
were first processed (`raw_message.seq`) gives the same ids and the same threads
(permalinks survive reprocessing).
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Aware datetimes stored as naive UTC, read back as UTC (SQLite keeps no offset)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _when(nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(UTCDateTime(), nullable=nullable)


class Feed(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(unique=True, max_length=64)
    address: str = Field(unique=True, max_length=320)
    title: str = ""
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())


class RawMessage(SQLModel, table=True):
    """One delivery of bytes to one feed; `status` says how far processing got."""

    __tablename__ = "raw_message"
    __table_args__ = (
        sa.UniqueConstraint("feed_id", "sha256"),
        sa.Index("ix_raw_status_id", "status", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    feed_id: int = Field(foreign_key="feed.id")
    sha256: str = Field(max_length=64)
    data: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    size: int
    source: str = Field(max_length=16)
    envelope_from: str = ""
    envelope_to: str = ""
    client_ip: str = Field(default="", max_length=64)  # the SMTP client, for SPF; empty from imports and IMAP
    helo: str = ""  # its HELO/EHLO name, for SPF when MAIL FROM is empty
    received_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    # When the mailbox it came from got it (an mbox From_ line, a Maildir name, IMAP's INTERNALDATE):
    # the date of a message without a readable Date or Received stamp. NULL from SMTP (migration 0009).
    delivered_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    status: str = Field(default="pending", max_length=16)
    reason: str = ""
    message_id: str | None = Field(default=None, max_length=998)
    # The order the processor took it in (its last time): `reprocess --all` goes in this order,
    # so a message placed late by a retry is placed late again and thread ids stay. NULL until
    # processed. Partial indexes ix_raw_seq, ix_raw_status_seq (migration 0008).
    seq: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger, nullable=True))
    # The order messages first became posts or comments in, which the digests' cursor follows:
    # a retry posted a day late is news then, though its id is old; a rebuild keeps it, so
    # nothing is news twice. NULL until posted. Partial index ix_raw_posted_seq (migration 0010).
    posted_seq: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger, nullable=True))


class Thread(SQLModel, table=True):
    __table_args__ = (
        sa.Index("ix_thread_feed_activity", "feed_id", "last_activity_at", "id"),
        sa.Index("ix_thread_feed_subject", "feed_id", "subject_key"),
    )

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    feed_id: int = Field(foreign_key="feed.id")
    subject: str = ""
    subject_key: str = Field(default="", max_length=255)
    post_entry_id: int | None = None
    created_at: datetime = Field(sa_column=_when())
    last_activity_at: datetime = Field(sa_column=_when())
    entry_count: int = 0


class Entry(SQLModel, table=True):
    """A post or a comment: what one message contributes to a thread."""

    __table_args__ = (
        sa.UniqueConstraint("feed_id", "message_id"),
        sa.Index("ix_entry_thread_date", "thread_id", "date", "id"),
    )

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    feed_id: int = Field(foreign_key="feed.id")
    thread_id: int = Field(index=False)
    raw_id: int = Field(foreign_key="raw_message.id")
    message_id: str = Field(max_length=998)
    parent_message_id: str | None = Field(default=None, max_length=998)
    chain: str = ""  # the reply chain, space-separated: In-Reply-To, then References newest first
    author_name: str = ""
    author_address: str = ""
    date: datetime = Field(sa_column=_when())
    tz_offset: int = 0
    subject: str = ""
    text: str = ""
    quoted_text: str = ""
    signature: str = ""
    html: str | None = None
    snippet: str = ""
    forwarded_by_name: str | None = None
    forwarded_by_address: str | None = None
    auth: str = ""  # what was verified about the sender (DMARC/DKIM/SPF), empty when nothing was


class MessageRef(SQLModel, table=True):
    """Every Message-ID a thread knows, received or only referenced.

    Replies that share a parent we never received still meet here, and a reply
    that came before its parent is found when the parent arrives.
    """

    __tablename__ = "message_ref"
    __table_args__ = (sa.Index("ix_ref_thread", "thread_id"),)

    feed_id: int = Field(primary_key=True)
    message_id: str = Field(primary_key=True, max_length=998)
    thread_id: int
    entry_id: int | None = None


class Attachment(SQLModel, table=True):
    __table_args__ = (sa.Index("ix_attachment_entry", "entry_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    entry_id: int
    position: int
    filename: str
    content_type: str
    size: int
    sha256: str = Field(max_length=64)
    content_id: str = ""
    inline: bool = False


class Blob(SQLModel, table=True):
    """Attachment bytes, stored once by content hash."""

    sha256: str = Field(primary_key=True, max_length=64)
    data: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    size: int


class ForwardRecord(SQLModel, table=True):
    """One forward of a post: who forwarded it, when, and their note."""

    __tablename__ = "forward"
    __table_args__ = (sa.Index("ix_forward_entry", "entry_id"),)

    id: int | None = Field(default=None, primary_key=True)
    entry_id: int
    raw_id: int
    by_name: str = ""
    by_address: str = ""
    date: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    note: str = ""
