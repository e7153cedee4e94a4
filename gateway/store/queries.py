"""Reads for the web side (API, pages, feeds). Never writes; never imported by ingest."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gateway.store.models import Attachment, Blob, Entry, Feed, ForwardRecord, RawMessage, Thread


@dataclass(frozen=True)
class FeedSummary:
    slug: str
    address: str
    title: str
    thread_count: int


@dataclass(frozen=True)
class ThreadSummary:
    thread: Thread
    post: Entry | None


@dataclass(frozen=True)
class ThreadDetail:
    thread: Thread
    feed: Feed
    post: Entry
    comments: list[Entry]
    attachments: dict[int, list[Attachment]]
    forwards: dict[int, list[ForwardRecord]]


class BadCursor(ValueError):
    """A pagination cursor that mailfeed did not hand out."""


def list_feeds(*, session: Session) -> list[FeedSummary]:
    counts = sa.select(Thread.feed_id, sa.func.count().label("n")).group_by(Thread.feed_id).subquery()
    rows = session.execute(
        sa.select(Feed, sa.func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.feed_id == Feed.id)
        .order_by(Feed.slug)
    ).all()
    return [FeedSummary(f.slug, f.address, f.title, n) for f, n in rows]


def feed_by_slug(*, session: Session, slug: str) -> Feed | None:
    return session.scalar(sa.select(Feed).where(Feed.slug == slug))


def encode_cursor(when: datetime, thread_id: int) -> str:
    return base64.urlsafe_b64encode(f"{when.isoformat()}|{thread_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, _, tid = raw.partition("|")
        return datetime.fromisoformat(when), int(tid)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadCursor(f"invalid cursor {cursor!r}") from exc


def list_threads(
    *, session: Session, feed_id: int, limit: int, cursor: str | None = None
) -> tuple[list[ThreadSummary], str | None]:
    """Threads by last activity, newest first; returns the page and the next cursor."""
    q = sa.select(Thread).where(Thread.feed_id == feed_id)
    if cursor:
        when, tid = decode_cursor(cursor)
        q = q.where(
            sa.or_(
                Thread.last_activity_at < when,
                sa.and_(Thread.last_activity_at == when, Thread.id < tid),
            )
        )
    threads = list(session.scalars(q.order_by(Thread.last_activity_at.desc(), Thread.id.desc()).limit(limit + 1)))
    more = len(threads) > limit
    threads = threads[:limit]
    post_ids = [t.post_entry_id for t in threads if t.post_entry_id is not None]
    posts = {e.id: e for e in session.scalars(sa.select(Entry).where(Entry.id.in_(post_ids)))}
    page = [ThreadSummary(t, posts.get(t.post_entry_id or -1)) for t in threads]
    nxt = encode_cursor(threads[-1].last_activity_at, threads[-1].id) if more and threads else None
    return page, nxt


def thread_detail(*, session: Session, thread_id: int) -> ThreadDetail | None:
    thread = session.get(Thread, thread_id)
    if thread is None:
        return None
    feed = session.get(Feed, thread.feed_id)
    entries = list(session.scalars(sa.select(Entry).where(Entry.thread_id == thread_id).order_by(Entry.date, Entry.id)))
    if feed is None or not entries:
        return None
    post = next((e for e in entries if e.id == thread.post_entry_id), entries[0])
    ids = [e.id for e in entries]
    return ThreadDetail(
        thread=thread,
        feed=feed,
        post=post,
        comments=[e for e in entries if e.id != post.id],
        attachments=_grouped(session, Attachment, ids, Attachment.position),
        forwards=_grouped(session, ForwardRecord, ids, ForwardRecord.id),
    )


def _grouped(session: Session, model: Any, entry_ids: Sequence[int], order: object) -> dict:
    out: dict[int, list] = {}
    for row in session.scalars(sa.select(model).where(model.entry_id.in_(entry_ids)).order_by(order)):
        out.setdefault(row.entry_id, []).append(row)
    return out


def attachment_file(*, session: Session, entry_id: int, position: int) -> tuple[Attachment, bytes | None] | None:
    """The attachment and its stored bytes (None when too large to keep apart from the raw message)."""
    att = session.scalar(sa.select(Attachment).where(Attachment.entry_id == entry_id, Attachment.position == position))
    if att is None:
        return None
    return att, session.scalar(sa.select(Blob.data).where(Blob.sha256 == att.sha256))


def raw_bytes(*, session: Session, raw_id: int) -> bytes | None:
    return session.scalar(sa.select(RawMessage.data).where(RawMessage.id == raw_id))


def raw_status(*, session: Session, raw_id: int) -> sa.Row | None:
    """(status, reason) of stored message `raw_id`, None when there is none."""
    return session.execute(sa.select(RawMessage.status, RawMessage.reason).where(RawMessage.id == raw_id)).one_or_none()


KEPT_BACK = ("quarantined", "deferred", "held")


def quarantined(*, session: Session, limit: int = 1000, statuses: Sequence[str] = KEPT_BACK) -> list[sa.Row]:
    """The latest `limit` messages of these statuses (id, status, received_at, message_id, reason), oldest
    first, without their bytes: by default what was kept back; ("ignored",) the auto-replies and bounces."""
    rows = session.execute(
        sa.select(RawMessage.id, RawMessage.status, RawMessage.received_at, RawMessage.message_id, RawMessage.reason)
        .where(RawMessage.status.in_(statuses))
        .order_by(RawMessage.id.desc())  # type: ignore[union-attr]
        .limit(limit)
    ).all()
    return list(rows)[::-1]


def raw_counts(*, session: Session) -> dict[str, int]:
    rows = session.execute(sa.select(RawMessage.status, sa.func.count()).group_by(RawMessage.status))
    return {status: n for status, n in rows}
