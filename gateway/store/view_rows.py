"""The rows the web side reads (store/views.py) and renders: slotted dataclasses.

Plain data with no queries, so templates, feeds and the API can name them
without reaching into the reads themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(slots=True)
class FeedRow:
    id: int
    slug: str
    address: str
    title: str
    thread_count: int
    last_activity_at: datetime | None


@dataclass(slots=True)
class FeedHead:
    """A feed as pages show it, with what its access check needs."""

    id: int
    slug: str
    title: str
    address: str
    private: bool


@dataclass(slots=True)
class ThreadRow:
    id: int
    feed_id: int
    subject: str
    created_at: datetime
    last_activity_at: datetime
    comment_count: int
    post_id: int | None
    author_name: str
    author_address: str
    snippet: str
    html: str | None = None
    text: str = ""
    repliers: list[str] = field(default_factory=list)
    attachments: int = 0


@dataclass(slots=True)
class ThreadHead:
    id: int
    subject: str
    post_entry_id: int | None


@dataclass(slots=True)
class EntryRow:
    """An entry as pages, feeds and the API show it (the `entry` columns they read)."""

    id: int
    feed_id: int
    thread_id: int
    raw_id: int
    message_id: str
    parent_message_id: str | None
    author_name: str
    author_address: str
    date: datetime
    tz_offset: int
    subject: str
    text: str
    quoted_text: str
    signature: str
    html: str | None
    snippet: str
    forwarded_by_name: str | None
    forwarded_by_address: str | None
    auth: str = ""  # what was verified of the sender (authenticity.Verdict.summary), "" when nothing


@dataclass(slots=True)
class AttachmentRow:
    entry_id: int
    position: int
    filename: str
    content_type: str
    size: int
    content_id: str
    inline: bool


@dataclass(slots=True)
class ForwardRow:
    entry_id: int
    by_name: str
    by_address: str
    date: datetime | None
    note: str


@dataclass
class ThreadView:
    thread: ThreadHead
    feed: FeedHead
    entries: list[EntryRow]  # the post first, then comments in date order
    attachments: dict[int, list[AttachmentRow]]
    forwards: dict[int, list[ForwardRow]]
    hidden: set[int]  # ids in `entries` an admin hid (only admins get them at all)
