"""Reads for pages and feeds: thread lists with who replied, threads, authors, raw bytes.

Web side only (never imported by ingest). Entries an admin hid or deleted
(`moderation`) are left out here, so nothing downstream can forget to; a
thread whose post is hidden is hidden as a whole.

The reads every page and feed request makes (a feed with its access flag, a
page of threads, a thread) are plain SQL on the session's own DB-API
connection, inside its transaction, and return slotted dataclasses
(view_rows.py): through SQLAlchemy's result processing and ORM objects the
same rows cost several times the query itself (bench/web.py). The rest uses
Core selects.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gateway.store.db import Store, for_driver
from gateway.store.models import Entry, Feed, RawMessage, Thread
from gateway.store.models_web import Moderation
from gateway.store.queries import BadCursor, decode_cursor, encode_cursor
from gateway.store.view_rows import (
    AttachmentRow,
    EntryRow,
    FeedHead,
    FeedRow,
    ForwardRow,
    ThreadHead,
    ThreadRow,
    ThreadView,
)

__all__ = ["BadCursor", "FeedHead", "FeedRow", "ThreadRow", "ThreadView", "feeds", "threads", "thread_view"]

_moderated = sa.select(Moderation.entry_id)
# an entry of a thread whose post an admin hid or deleted: hidden with it, as in digest/collect.py
_in_hidden_thread = (
    sa.select(Thread.id).where(Thread.id == Entry.thread_id, Thread.post_entry_id.in_(_moderated)).exists()  # type: ignore[union-attr]
)
MAX_ID = 2**31 - 1  # ids are `integer` on PostgreSQL: a cursor naming a larger one was not handed out
Db = Session | sa.Connection  # the hot reads take either; a plain connection skips the ORM session


@contextmanager
def reading(store: Store) -> Iterator[sa.Connection]:
    """A connection for one request's reads, outside any transaction (as the baseline reads).

    Each statement sees the latest commit (PostgreSQL's READ COMMITTED gives no more
    inside a transaction either); PostgreSQL runs them in autocommit, so a page costs
    no BEGIN and ROLLBACK round trips.
    """
    with store.reader.connect() as conn:
        if conn.dialect.name != "sqlite":
            conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


def _fetch(db: Db, sql: str, args: Sequence[Any] = ()) -> list[Any]:
    """Rows of `sql` (qmark placeholders, no `%`) on the DB-API connection under `db`.

    Callers build rows with `Row(*r[:n], …)`; mypy takes a starred slice as filling every
    field, hence their `type: ignore[call-arg]`.

    A driver error comes out as SQLAlchemy's, as from `session.execute`: outside a
    transaction by running the statement once more through SQLAlchemy, which also
    invalidates the pool when the connection was lost (the database restarted).
    """
    conn = db if isinstance(db, sa.Connection) else db.connection()
    sql = for_driver(conn, sql)
    try:
        return conn.connection.driver_connection.execute(sql, args).fetchall()  # type: ignore[union-attr]
    except conn.dialect.loaded_dbapi.Error as exc:
        if conn.in_transaction():
            lost = conn.dialect.is_disconnect(exc, None, None)
            if lost:
                conn.invalidate(exc)
            raise sa.exc.DBAPIError.instance(
                sql, args, exc, conn.dialect.loaded_dbapi.Error, connection_invalidated=lost, dialect=conn.dialect
            ) from exc
        return list(conn.exec_driver_sql(sql, tuple(args)).all())


def _utc(value: Any) -> Any:
    """A stored time (naive UTC; text on SQLite) as an aware datetime, as `UTCDateTime` reads it."""
    if value is None:
        return None
    return (value if isinstance(value, datetime) else datetime.fromisoformat(value)).replace(tzinfo=UTC)


def _bind_time(session: Db, when: datetime) -> Any:
    """An aware datetime as `UTCDateTime` stores it (SQLite: SQLAlchemy's text format)."""
    naive = when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when
    sqlite = (session if isinstance(session, sa.Connection) else session.get_bind()).dialect.name == "sqlite"
    return naive.isoformat(" ", "microseconds") if sqlite else naive


def _marks(n: int) -> str:
    return ",".join("?" * n)


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
    if "\x00" in slug:  # no slug has one, and PostgreSQL refuses NUL in text parameters
        return None
    return session.scalar(sa.select(Feed).where(Feed.slug == slug))


_FEED_HEAD = (
    "SELECT f.id, f.slug, f.title, f.address, a.private FROM feed f LEFT JOIN feed_access a ON a.feed_id = f.id "
    "WHERE f.slug = ?"
)


def feed_head(*, session: Db, slug: str) -> FeedHead | None:
    """The feed called `slug`, and whether it is private (see `feed_members`)."""
    if "\x00" in slug:  # no slug has one, and PostgreSQL refuses NUL in text parameters
        return None
    rows = _fetch(session, _FEED_HEAD, (slug,))
    return FeedHead(*rows[0][:4], bool(rows[0][4])) if rows else None  # type: ignore[call-arg]


def feed_members(*, session: Db, feed_id: int) -> list[str]:
    """The member patterns (addresses, domains) of a private feed."""
    return [r[0] for r in _fetch(session, "SELECT pattern FROM feed_member WHERE feed_id = ?", (feed_id,))]


_THREADS = (
    "SELECT t.id, t.feed_id, t.subject, t.created_at, t.last_activity_at, t.entry_count - 1, t.post_entry_id, "
    "e.author_name, e.author_address, e.snippet{body} FROM thread t LEFT JOIN entry e ON e.id = t.post_entry_id "
    "WHERE t.feed_id = ? AND t.post_entry_id NOT IN (SELECT entry_id FROM moderation){after} "
    "ORDER BY t.last_activity_at DESC, t.id DESC LIMIT ?"
)
_AFTER = " AND (t.last_activity_at < ? OR (t.last_activity_at = ? AND t.id < ?))"


_STAMP = "SELECT count(*), max(last_activity_at), sum(entry_count) FROM thread WHERE feed_id = ?"
_MODERATION_STAMP = (
    "SELECT count(*), coalesce(max(entry_id), 0), coalesce(sum(entry_id), 0),"
    " sum(CASE WHEN action = 'hidden' THEN 1 ELSE 0 END) FROM moderation"
)


def feed_stamp(*, session: Db, feed_id: int) -> tuple[Any, ...]:
    """What changes whenever a feed's syndicated threads can change.

    A new entry or comment moves a thread's count (and usually its activity),
    a merge or deletion the number of threads or entries, and a moderation
    decision anywhere the moderation figures. Cheap: one indexed aggregate.
    """
    return (*_fetch(session, _STAMP, (feed_id,))[0], *_fetch(session, _MODERATION_STAMP)[0])


def threads(
    *,
    session: Db,
    feed_id: int,
    limit: int,
    cursor: str | None = None,
    details: bool = False,
    with_body: bool = False,
) -> tuple[list[ThreadRow], str | None]:
    """Threads by last activity, newest first, with their post; and the next cursor.

    `details` adds who replied and the attachment count; `with_body` the post's text and HTML (feeds).
    """
    sql = _THREADS.format(body=", e.html, e.text" if with_body else "", after=_AFTER if cursor else "")
    args: tuple[Any, ...] = (feed_id,)
    if cursor:
        at, tid = _cursor_args(session, cursor)
        args += (at, at, tid)
    rows = _fetch(session, sql, (*args, limit + 1))
    page = [
        ThreadRow(
            r[0],
            r[1],
            r[2],
            _utc(r[3]),
            _utc(r[4]),
            max(0, r[5]),
            r[6],
            r[7] or "",
            r[8] or "",
            r[9] or "",
            *((r[10], r[11] or "") if with_body else ()),
        )
        for r in rows[:limit]
    ]
    if details and page:
        _add_details(session, page)
    nxt = encode_cursor(page[-1].last_activity_at, page[-1].id) if len(rows) > limit and page else None
    return page, nxt


def _cursor_args(session: Db, cursor: str) -> tuple[Any, int]:
    """The cursor's time and thread id as bound parameters; BadCursor for any the database cannot take.

    Cursors come back from clients, who can write their own: a thread id past the column's
    range overflowed the driver, and a time such as year 1 at +14:00 overflowed in UTC.
    """
    when, tid = decode_cursor(cursor)
    if not 0 <= tid <= MAX_ID:
        raise BadCursor(f"invalid cursor {cursor!r}")
    try:
        return _bind_time(session, when), tid
    except OverflowError as exc:
        raise BadCursor(f"invalid cursor {cursor!r}") from exc


def _add_details(session: Db, page: list[ThreadRow]) -> None:
    by_id = {t.id: t for t in page}
    ids = tuple(by_id)
    marks = _marks(len(ids))
    for tid, name, address in _fetch(
        session,
        f"SELECT thread_id, author_name, author_address FROM entry WHERE thread_id IN ({marks}) "
        "AND id NOT IN (SELECT entry_id FROM moderation) GROUP BY thread_id, author_name, author_address "
        "ORDER BY min(date)",
        ids,
    ):
        t = by_id[tid]
        if address != t.author_address:
            t.repliers.append(name or address)
    for tid, n in _fetch(
        session,
        f"SELECT e.thread_id, count(a.id) FROM entry e JOIN attachment a ON a.entry_id = e.id "
        f"WHERE e.thread_id IN ({marks}) AND a.inline = ? GROUP BY e.thread_id",
        (*ids, False),
    ):
        by_id[tid].attachments = n


_THREAD_HEAD = (
    "SELECT t.id, t.subject, t.post_entry_id, f.id, f.slug, f.title, f.address, a.private FROM thread t "
    "JOIN feed f ON f.id = t.feed_id LEFT JOIN feed_access a ON a.feed_id = f.id WHERE t.id = ?"
)
_ENTRIES = (
    "SELECT e.id, e.feed_id, e.thread_id, e.raw_id, e.message_id, e.parent_message_id, e.author_name, "
    "e.author_address, e.date, e.tz_offset, e.subject, e.text, e.quoted_text, e.signature, e.html, e.snippet, "
    "e.forwarded_by_name, e.forwarded_by_address, e.auth, m.entry_id FROM entry e "
    "LEFT JOIN moderation m ON m.entry_id = e.id WHERE e.thread_id = ? ORDER BY e.date, e.id"
)
_ATTACHMENTS = (
    "SELECT a.entry_id, a.position, a.filename, a.content_type, a.size, a.content_id, a.inline FROM attachment a "
    "{where} ORDER BY a.entry_id, a.position"
)
_FORWARDS = (
    "SELECT w.entry_id, w.by_name, w.by_address, w.date, w.note FROM forward w JOIN entry e ON e.id = w.entry_id "
    "WHERE e.thread_id = ? ORDER BY w.id"
)


def thread_view(*, session: Db, thread_id: int, include_hidden: bool = False) -> ThreadView | None:
    """A thread with its entries; None when missing or its post is moderated (unless `include_hidden`)."""
    head = _fetch(session, _THREAD_HEAD, (thread_id,))
    if not head:
        return None
    tid, subject, post_id, *feed = head[0]
    entries, moderated = [], set()
    for r in _fetch(session, _ENTRIES, (thread_id,)):
        entries.append(EntryRow(*r[:8], _utc(r[8]), *r[9:18], r[18] or ""))  # type: ignore[call-arg]
        if r[19] is not None:
            moderated.add(r[0])
    if not entries or (post_id in moderated and not include_hidden):
        return None
    if not include_hidden:
        entries = [e for e in entries if e.id not in moderated]
    post = next((e for e in entries if e.id == post_id), entries[0])
    forwards: dict[int, list[ForwardRow]] = {}
    for r in _fetch(session, _FORWARDS, (thread_id,)):
        forwards.setdefault(r[0], []).append(ForwardRow(*r[:3], _utc(r[3]), r[4]))  # type: ignore[call-arg]
    where = "JOIN entry e ON e.id = a.entry_id WHERE e.thread_id = ?"
    return ThreadView(
        thread=ThreadHead(tid, subject, post_id),
        feed=FeedHead(*feed[:4], bool(feed[4])),  # type: ignore[call-arg]
        entries=[post, *(e for e in entries if e.id != post.id)],
        attachments=_attachments(session, _ATTACHMENTS.format(where=where), (thread_id,)),
        forwards=forwards,
        hidden=moderated if include_hidden else set(),
    )


def _attachments(session: Db, sql: str, args: Sequence[Any]) -> dict[int, list[AttachmentRow]]:
    out: dict[int, list[AttachmentRow]] = {}
    for r in _fetch(session, sql, args):
        out.setdefault(r[0], []).append(AttachmentRow(*r[:6], bool(r[6])))  # type: ignore[call-arg]
    return out


def attachments_of(*, session: Db, entry_ids: Sequence[int]) -> dict[int, list[AttachmentRow]]:
    if not entry_ids:
        return {}
    sql = _ATTACHMENTS.format(where=f"WHERE a.entry_id IN ({_marks(len(entry_ids))})")
    return _attachments(session, sql, tuple(entry_ids))


def _visible(in_hidden_threads: bool) -> sa.ColumnElement[bool]:
    """Entries not moderated, nor in a thread whose post is (unless `in_hidden_threads`: an admin's reads)."""
    own = Entry.id.not_in(_moderated)
    return own if in_hidden_threads else sa.and_(own, ~_in_hidden_thread)


def entries_by_author(
    *, session: Session, address: str, feed_ids: Collection[int], limit: int = 100, in_hidden_threads: bool = False
) -> list[sa.Row]:
    """An author's visible entries in the given feeds, newest first: id, thread_id, subject, date, snippet, name.

    `in_hidden_threads` keeps the comments of a thread whose post is hidden (an admin sees that thread).
    """
    if not feed_ids or "\x00" in address:  # PostgreSQL refuses NUL in text parameters; no address has one
        return []
    return list(
        session.execute(
            sa.select(Entry.id, Entry.thread_id, Entry.subject, Entry.date, Entry.snippet, Entry.author_name)
            .where(
                sa.func.lower(Entry.author_address) == address.lower(),
                Entry.feed_id.in_(list(feed_ids)),
                _visible(in_hidden_threads),
            )
            .order_by(Entry.date.desc(), Entry.id.desc())
            .limit(limit)
        ).all()
    )


_MOVED = (
    "SELECT e.thread_id FROM entry e LEFT JOIN moderation m ON m.entry_id = e.id "
    "WHERE e.id = ? AND m.entry_id IS NULL AND NOT EXISTS (SELECT 1 FROM thread t WHERE t.id = ?)"
)


def thread_moved(*, session: Db, thread_id: int) -> int | None:
    """Where a thread id no thread has any more now leads: the thread of the entry that started it.

    A thread's id is the id of the message that started it, so that entry
    names its thread still, once merged into another (a message linked the
    two), or renumbered by `mailfeed reprocess --all` where a retry placed it
    before `raw_message.seq` kept the order (migration 0008).
    """
    rows = _fetch(session, _MOVED, (thread_id, thread_id))
    return int(rows[0][0]) if rows else None


def entry_place(*, session: Session, entry_id: int, in_hidden_threads: bool = False) -> tuple[int, int] | None:
    """(feed id, thread id) of a visible entry (see `entries_by_author` for `in_hidden_threads`)."""
    row = session.execute(
        sa.select(Entry.feed_id, Entry.thread_id).where(Entry.id == entry_id, _visible(in_hidden_threads))
    ).first()
    return (row[0], row[1]) if row else None


def raw_of_entry(*, session: Session, entry_id: int, in_hidden_threads: bool = False) -> tuple[int, bytes] | None:
    """(feed id, raw bytes) of a visible entry (see `entries_by_author` for `in_hidden_threads`)."""
    row = session.execute(
        sa.select(Entry.feed_id, RawMessage.data)
        .join(RawMessage, RawMessage.id == Entry.raw_id)
        .where(Entry.id == entry_id, _visible(in_hidden_threads))
    ).first()
    return (row[0], row[1]) if row else None


def attachment_feed(*, session: Session, entry_id: int, in_hidden_threads: bool = False) -> int | None:
    """The feed of a visible entry (for access checks on its attachments)."""
    place = entry_place(session=session, entry_id=entry_id, in_hidden_threads=in_hidden_threads)
    return place[0] if place else None
