"""Reads for pages and feeds: thread lists with who replied, threads, authors, raw bytes.

Web side only (never imported by ingest). Lists use Core selects, not ORM
objects: they are the hot path of every page and feed. Entries an admin hid
or deleted (`moderation`) are left out here, so nothing downstream can forget
to; a thread whose post is hidden is hidden as a whole.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gateway.store.models import Attachment, Entry, Feed, ForwardRecord, RawMessage, Thread
from gateway.store.models_web import Moderation
from gateway.store.queries import BadCursor, decode_cursor, encode_cursor

__all__ = ["BadCursor", "FeedRow", "ThreadRow", "ThreadView", "feeds", "threads", "thread_view"]

_moderated = sa.select(Moderation.entry_id)


@dataclass
class FeedRow:
    id: int
    slug: str
    address: str
    title: str
    thread_count: int
    last_activity_at: datetime | None


@dataclass
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


@dataclass
class ThreadView:
    thread: Thread
    feed: Feed
    entries: list[Entry]  # the post first, then comments in date order
    attachments: dict[int, list[Attachment]]
    forwards: dict[int, list[ForwardRecord]]
    hidden: set[int]  # ids in `entries` an admin hid (only admins get them at all)


def feeds(*, session: Session, feed_ids: Collection[int]) -> list[FeedRow]:
    """The given feeds by slug, with thread count and last activity."""
    if not feed_ids:
        return []
    stats = (
        sa.select(Thread.feed_id, sa.func.count().label("n"), sa.func.max(Thread.last_activity_at).label("last"))
        .group_by(Thread.feed_id)
        .subquery()
    )
    rows = session.execute(
        sa.select(Feed.id, Feed.slug, Feed.address, Feed.title, sa.func.coalesce(stats.c.n, 0), stats.c.last)
        .outerjoin(stats, stats.c.feed_id == Feed.id)
        .where(Feed.id.in_(list(feed_ids)))  # type: ignore[union-attr]
        .order_by(Feed.slug)
    ).all()
    return [FeedRow(*r) for r in rows]


def feed_by_slug(*, session: Session, slug: str) -> Feed | None:
    return session.scalar(sa.select(Feed).where(Feed.slug == slug))


def threads(
    *,
    session: Session,
    feed_id: int,
    limit: int,
    cursor: str | None = None,
    details: bool = False,
    with_body: bool = False,
) -> tuple[list[ThreadRow], str | None]:
    """Threads by last activity, newest first, with their post; and the next cursor.

    `details` adds who replied and the attachment count; `with_body` the post's text and HTML (feeds).
    """
    cols = [Thread.id, Thread.feed_id, Thread.subject, Thread.created_at, Thread.last_activity_at,
            Thread.entry_count - 1, Thread.post_entry_id, Entry.author_name, Entry.author_address, Entry.snippet]
    if with_body:
        cols += [Entry.html, Entry.text]
    q = (
        sa.select(*cols)
        .outerjoin(Entry, Entry.id == Thread.post_entry_id)
        .where(Thread.feed_id == feed_id, Thread.post_entry_id.not_in(_moderated))  # type: ignore[union-attr]
    )
    if cursor:
        when, tid = decode_cursor(cursor)
        q = q.where(sa.or_(Thread.last_activity_at < when, sa.and_(Thread.last_activity_at == when, Thread.id < tid)))
    rows = session.execute(
        q.order_by(Thread.last_activity_at.desc(), Thread.id.desc()).limit(limit + 1)  # type: ignore[attr-defined]
    ).all()
    more = len(rows) > limit
    page = [ThreadRow(*(r[:10]), **({"html": r[10], "text": r[11]} if with_body else {})) for r in rows[:limit]]
    for t in page:
        t.comment_count = max(0, t.comment_count)
        t.author_name = t.author_name or ""
        t.author_address = t.author_address or ""
        t.snippet = t.snippet or ""
    if details and page:
        _add_details(session, page)
    nxt = encode_cursor(page[-1].last_activity_at, page[-1].id) if more and page else None
    return page, nxt


def _add_details(session: Session, page: list[ThreadRow]) -> None:
    by_id = {t.id: t for t in page}
    rows = session.execute(
        sa.select(Entry.thread_id, Entry.author_name, Entry.author_address, sa.func.min(Entry.date))
        .where(Entry.thread_id.in_(list(by_id)), Entry.id.not_in(_moderated))  # type: ignore[attr-defined]
        .group_by(Entry.thread_id, Entry.author_name, Entry.author_address)
        .order_by(sa.func.min(Entry.date))
    ).all()
    for tid, name, address, _ in rows:
        t = by_id[tid]
        if address != t.author_address:
            t.repliers.append(name or address)
    counts = session.execute(
        sa.select(Entry.thread_id, sa.func.count(Attachment.id))
        .join(Attachment, Attachment.entry_id == Entry.id)
        .where(Entry.thread_id.in_(list(by_id)), Attachment.inline.is_(False))  # type: ignore[attr-defined]
        .group_by(Entry.thread_id)
    ).all()
    for tid, n in counts:
        by_id[tid].attachments = n


def thread_view(*, session: Session, thread_id: int, include_hidden: bool = False) -> ThreadView | None:
    """A thread with its entries; None when missing or its post is moderated (unless `include_hidden`)."""
    thread = session.get(Thread, thread_id)
    if thread is None:
        return None
    feed = session.get(Feed, thread.feed_id)
    entries = list(session.scalars(sa.select(Entry).where(Entry.thread_id == thread_id).order_by(Entry.date, Entry.id)))
    ids = [e.id for e in entries]
    moderated = set(session.scalars(sa.select(Moderation.entry_id).where(Moderation.entry_id.in_(ids))))  # type: ignore[attr-defined]
    if feed is None or not entries or (thread.post_entry_id in moderated and not include_hidden):
        return None
    if not include_hidden:
        entries = [e for e in entries if e.id not in moderated]
    post = next((e for e in entries if e.id == thread.post_entry_id), entries[0])
    ordered = [post, *(e for e in entries if e.id != post.id)]
    return ThreadView(
        thread=thread,
        feed=feed,
        entries=ordered,
        attachments=_grouped(session, Attachment, ids, Attachment.position),
        forwards=_grouped(session, ForwardRecord, ids, ForwardRecord.id),
        hidden=moderated & set(ids) if include_hidden else set(),
    )


def _grouped(session: Session, model: type, entry_ids: Sequence[int], order: object) -> dict:  # type: ignore[type-arg]
    out: dict[int, list] = {}  # type: ignore[type-arg]
    for row in session.scalars(sa.select(model).where(model.entry_id.in_(entry_ids)).order_by(order)):  # type: ignore[attr-defined]
        out.setdefault(row.entry_id, []).append(row)
    return out


def entries_by_author(
    *, session: Session, address: str, feed_ids: Collection[int], limit: int = 100
) -> list[sa.Row]:  # type: ignore[type-arg]
    """An author's entries in the given feeds, newest first: id, thread_id, subject, date, snippet, name."""
    if not feed_ids:
        return []
    return list(
        session.execute(
            sa.select(Entry.id, Entry.thread_id, Entry.subject, Entry.date, Entry.snippet, Entry.author_name)
            .where(
                sa.func.lower(Entry.author_address) == address.lower(),
                Entry.feed_id.in_(list(feed_ids)),  # type: ignore[attr-defined]
                Entry.id.not_in(_moderated),  # type: ignore[attr-defined]
            )
            .order_by(Entry.date.desc(), Entry.id.desc())  # type: ignore[attr-defined]
            .limit(limit)
        ).all()
    )


def entry_place(*, session: Session, entry_id: int) -> tuple[int, int] | None:
    """(feed id, thread id) of a visible entry."""
    row = session.execute(
        sa.select(Entry.feed_id, Entry.thread_id).where(Entry.id == entry_id, Entry.id.not_in(_moderated))  # type: ignore[attr-defined]
    ).first()
    return (row[0], row[1]) if row else None


def raw_of_entry(*, session: Session, entry_id: int) -> tuple[int, bytes] | None:
    """(feed id, raw bytes) of a visible entry."""
    row = session.execute(
        sa.select(Entry.feed_id, RawMessage.data)
        .join(RawMessage, RawMessage.id == Entry.raw_id)  # type: ignore[arg-type]
        .where(Entry.id == entry_id, Entry.id.not_in(_moderated))  # type: ignore[attr-defined]
    ).first()
    return (row[0], row[1]) if row else None


def thread_feed_entries(*, session: Session, thread_id: int) -> tuple[Thread, Feed, list[Entry]] | None:
    view = thread_view(session=session, thread_id=thread_id)
    return None if view is None else (view.thread, view.feed, view.entries)


def attachments_of(*, session: Session, entry_ids: Sequence[int]) -> dict[int, list[Attachment]]:
    return _grouped(session, Attachment, entry_ids, Attachment.position) if entry_ids else {}


def attachment_feed(*, session: Session, entry_id: int) -> int | None:
    """The feed of a visible entry (for access checks on its attachments)."""
    place = entry_place(session=session, entry_id=entry_id)
    return place[0] if place else None
