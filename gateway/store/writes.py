"""Writes for the ingest side: raw messages first, then what placing reads and updates.

Every function takes keyword arguments and runs inside the caller's
transaction; the caller commits. The rows placing derives are built and
written per batch by `derived`. Ingest, pipeline, place and cli import this (and
the web's moderation, for `refresh_thread`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gateway.message import Address
from gateway.store import search
from gateway.store.db import for_driver, insert_ignore
from gateway.store.models import (
    Attachment,
    Entry,
    Feed,
    ForwardRecord,
    MessageRef,
    RawMessage,
    Thread,
)
from gateway.thread import Child, Known, SubjectThread


@dataclass(frozen=True)
class NewRaw:
    """Bytes to store for one feed, with where they came from."""

    feed_id: int
    data: bytes
    source: str
    envelope_from: str = ""
    envelope_to: str = ""
    client_ip: str = ""  # SMTP only: the connecting IP and its HELO name, for SPF
    helo: str = ""
    delivered_at: datetime | None = None  # imports and IMAP: when the mailbox got it, if it says


class FeedExists(Exception):
    """A feed with this slug or address is already there."""


def add_feed(*, session: Session, slug: str, address: str, title: str = "") -> Feed:
    clash = session.scalar(sa.select(Feed).where(sa.or_(Feed.slug == slug, Feed.address == address.lower())))
    if clash is not None:
        raise FeedExists(f"feed {clash.slug!r} <{clash.address}> exists already")
    feed = Feed(slug=slug, address=address.lower(), title=title or slug)
    session.add(feed)
    session.flush()
    return feed


def save_raw(*, session: Session | sa.Connection, items: Iterable[NewRaw]) -> list[int]:
    """Store raw bytes, content-addressed per feed; return the row id for each item.

    The same bytes for the same feed are stored once: a resend (an MTA that
    never saw our 250, an import run twice) returns the existing id. As
    driver SQL, since this is the hot path of SMTP acceptance and of import,
    where building SQLAlchemy statements cost more than running them (256
    against about 100 µs of CPU a message): on SQLite one INSERT run over
    every item, then one SELECT per feed; on PostgreSQL one INSERT …
    RETURNING per 500 items (a round trip fewer), then a SELECT only for
    bytes that were there already. SMTP's writer passes a Core connection,
    which skips the ORM session's bookkeeping too.
    """
    items = list(items)
    if not items:
        return []
    conn = session if isinstance(session, sa.Connection) else session.connection()
    sqlite_ = conn.dialect.name == "sqlite"
    when = _stamp(datetime.now(UTC), sqlite_)
    rows = [
        (
            item.feed_id,
            hashlib.sha256(item.data).hexdigest(),
            item.data,
            len(item.data),
            item.source,
            item.envelope_from,
            item.envelope_to,
            item.client_ip,
            item.helo[:255],
            when,
            _stamp(item.delivered_at, sqlite_),
        )
        for item in items
    ]
    found: dict[tuple[int, str], int] = {}
    one = f"({', '.join('?' * 11)}, 'pending', '')"
    if sqlite_:
        conn.exec_driver_sql(f"{_SAVE_RAW} VALUES {one} {_SAVE_RAW_END}", rows)
    else:
        for at in range(0, len(rows), 500):
            chunk = rows[at : at + 500]
            sql = f"{_SAVE_RAW} VALUES {', '.join([one] * len(chunk))} {_SAVE_RAW_END} RETURNING id, feed_id, sha256"
            for rid, feed_id, sha in conn.exec_driver_sql(for_driver(conn, sql), tuple(v for r in chunk for v in r)):
                found[(feed_id, sha)] = rid
    for feed_id in {r[0] for r in rows}:  # bytes stored before: their rows' ids
        shas = list(dict.fromkeys(r[1] for r in rows if r[0] == feed_id and (feed_id, r[1]) not in found))
        for at in range(0, len(shas), 500):
            part = shas[at : at + 500]
            sql = f"SELECT id, sha256 FROM raw_message WHERE feed_id = ? AND sha256 IN ({','.join('?' * len(part))})"
            for rid, sha in conn.exec_driver_sql(for_driver(conn, sql), (feed_id, *part)):
                found[(feed_id, sha)] = rid
    return [found[(r[0], r[1])] for r in rows]


SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy's SQLite DateTime stores a value
_SAVE_RAW = (
    "INSERT INTO raw_message (feed_id, sha256, data, size, source, envelope_from, envelope_to, client_ip,"
    " helo, received_at, delivered_at, status, reason)"
)
_SAVE_RAW_END = "ON CONFLICT (feed_id, sha256) DO NOTHING"


def _stamp(when: datetime | None, sqlite_: bool) -> object:
    """An aware datetime as `save_raw`'s driver SQL stores it: naive UTC, as UTCDateTime does."""
    if when is None:
        return None
    naive = when.astimezone(UTC).replace(tzinfo=None)
    return naive.strftime(SQLITE_DATETIME) if sqlite_ else naive


def set_raw_status(
    *, session: Session, raw_id: int, status: str, reason: str = "", message_id: str | None = None
) -> None:
    set_raw_statuses(
        session=session, rows=[raw_status(raw_id=raw_id, status=status, reason=reason, message_id=message_id)]
    )


def raw_status(*, raw_id: int, status: str, reason: str = "", message_id: str | None = None) -> dict[str, object]:
    """One row for `set_raw_statuses`."""
    return {"rid": raw_id, "st": status, "why": reason[:2000], "mid": message_id}


def set_raw_statuses(*, session: Session, rows: Sequence[dict[str, object]]) -> None:
    """Set the outcome of several raw messages in one statement run over every row."""
    if rows:
        session.connection().execute(_SET_STATUS, list(rows))


def number_raw(*, session: Session, raw_ids: Sequence[int]) -> None:
    """Record that these raw messages were processed now, in this order (`RawMessage.seq`)."""
    _number(session, raw_ids, _TOP_SEQ, _SET_SEQ)


def number_posted(*, session: Session, raw_ids: Sequence[int]) -> None:
    """Record that these raw messages became posts or comments now, in this order (`posted_seq`).

    Numbers go on in commit order, so a digest that read up to the highest one
    committed never finds a lower one committed later: one processor at a time
    commits (`pipeline._one_processor`). A message posted before (a rebuild)
    keeps its number.
    """
    _number(session, raw_ids, TOP_POSTED, _SET_POSTED)


def _number(session: Session, raw_ids: Sequence[int], top_of: sa.Select[Any], set_: sa.Update) -> None:
    """Number `raw_ids` on from the highest number `top_of` finds, in their order, by `set_`."""
    if not raw_ids:
        return
    conn = session.connection()
    top = conn.execute(top_of).scalar() or 0
    conn.execute(set_, [{"rid": rid, "n": top + k} for k, rid in enumerate(raw_ids, 1)])


# Statements run for every message, built once (building one costs more than running it).
_RAW, _REF, _ENTRY = RawMessage.__table__, MessageRef.__table__, Entry.__table__
_SET_STATUS = (
    _RAW.update()
    .where(_RAW.c.id == sa.bindparam("rid"))
    .values(status=sa.bindparam("st"), reason=sa.bindparam("why"), message_id=sa.bindparam("mid"))
)
_TOP_SEQ = sa.select(sa.func.max(_RAW.c.seq)).where(_RAW.c.seq.is_not(None))  # ix_raw_seq
_SET_SEQ = _RAW.update().where(_RAW.c.id == sa.bindparam("rid")).values(seq=sa.bindparam("n"))
TOP_POSTED = sa.select(sa.func.max(_RAW.c.posted_seq)).where(_RAW.c.posted_seq.is_not(None))  # ix_raw_posted_seq
_SET_POSTED = (
    _RAW.update()
    .where(_RAW.c.id == sa.bindparam("rid"), _RAW.c.posted_seq.is_(None))
    .values(posted_seq=sa.bindparam("n"))
)
_KNOWN = (
    f"SELECT r.message_id, r.thread_id, r.entry_id, e.message_id FROM {_REF.name} r"
    f" LEFT OUTER JOIN {_ENTRY.name} e ON e.id = r.entry_id WHERE r.feed_id = ? AND r.message_id IN "
)


def known_ids(*, session: Session, feed_id: int, ids: Sequence[str]) -> dict[str, Known]:
    """Which of `ids` the feed has seen: as a post or comment, or only named in references.

    Driver SQL, run once per message (or once per batch, for all of its ids, 500 at a
    time): the expanding IN of the Core statement was rendered again at every call,
    0.4 ms of the import's main process a message.
    """
    conn = session.connection()
    found: dict[str, Known] = {}
    ids = list(dict.fromkeys(ids))
    for at in range(0, len(ids), 500):
        part = ids[at : at + 500]
        rows = conn.exec_driver_sql(for_driver(conn, f"{_KNOWN}({','.join('?' * len(part))})"), (feed_id, *part))
        found.update({m: Known.of_ref(m, t, e, em) for m, t, e, em in rows})
    return found


def subject_thread(*, session: Session, feed_id: int, subject_key: str) -> SubjectThread | None:
    if not subject_key:
        return None
    row = session.execute(
        sa.select(Thread.id, Thread.last_activity_at)
        .where(Thread.feed_id == feed_id, Thread.subject_key == subject_key)
        .order_by(Thread.last_activity_at.desc(), Thread.id.desc())
        .limit(1)
    ).first()
    return SubjectThread(row[0], row[1]) if row else None


def thread_children(*, session: Session, thread_ids: Sequence[int]) -> list[Child]:
    rows = session.execute(
        sa.select(Entry.message_id, Entry.chain, Entry.parent_message_id).where(Entry.thread_id.in_(thread_ids))
    )
    return [Child(m, tuple(c.split()), p) for m, c, p in rows]


def index_keys(*, session: Session, thread_ids: Sequence[int], prefix: str) -> dict[str, str]:
    """Message-ID → Thread-Index key (an alias starting with `prefix`) of the entries in these threads."""
    rows = session.execute(
        sa.select(Entry.message_id, MessageRef.message_id)
        .join(Entry, Entry.id == MessageRef.entry_id)
        .where(MessageRef.thread_id.in_(thread_ids), _REF.c.message_id.startswith(prefix, autoescape=True))
    )
    return {m: key for m, key in rows}


def set_parents(*, session: Session, feed_id: int, parents: dict[str, str]) -> None:
    for child, parent in parents.items():
        session.execute(
            sa.update(Entry).where(Entry.feed_id == feed_id, Entry.message_id == child).values(parent_message_id=parent)
        )


def thread_in_feed(*, session: Session, thread_id: int, feed_id: int) -> bool:
    return session.scalar(sa.select(Thread.id).where(Thread.id == thread_id, Thread.feed_id == feed_id)) is not None


def post_message_id(*, session: Session, thread_id: int) -> str | None:
    return session.scalar(
        sa.select(Entry.message_id).join(Thread, Thread.post_entry_id == Entry.id).where(Thread.id == thread_id)
    )


def merge_threads(*, session: Session, into: int, others: Sequence[int]) -> None:
    """Fold `others` into thread `into` (a message showed they are one conversation)."""
    if not others:
        return
    for model in (Entry, MessageRef):
        session.execute(sa.update(model).where(model.thread_id.in_(others)).values(thread_id=into))
    session.execute(sa.delete(Thread).where(Thread.id.in_(others)))


def add_alias(*, session: Session, feed_id: int, message_id: str, thread_id: int, entry_id: int) -> None:
    """Make `message_id` stand for entry `entry_id` (a reply to it lands in that thread)."""
    session.execute(
        insert_ignore(session, MessageRef.__table__, ["feed_id", "message_id"]).values(
            feed_id=feed_id, message_id=message_id, thread_id=thread_id, entry_id=entry_id
        )
    )
    session.execute(
        sa.update(MessageRef)
        .where(MessageRef.feed_id == feed_id, MessageRef.message_id == message_id)
        .values(entry_id=entry_id, thread_id=thread_id)
    )


def entry_for_ref(*, session: Session, feed_id: int, message_id: str) -> tuple[int, int] | None:
    """(entry id, thread id) of the entry that `message_id` stands for, if one does."""
    row = session.execute(
        sa.select(MessageRef.entry_id, MessageRef.thread_id).where(
            MessageRef.feed_id == feed_id,
            MessageRef.message_id == message_id,
            MessageRef.entry_id.is_not(None),  # type: ignore[union-attr]
        )
    ).first()
    return (row[0], row[1]) if row else None


def entry_date_and_text(*, session: Session, feed_id: int, message_id: str) -> tuple[datetime, str] | None:
    """(date, text) of the entry whose own Message-ID is `message_id`, if one is."""
    row = session.execute(
        sa.select(Entry.date, Entry.text).where(Entry.feed_id == feed_id, Entry.message_id == message_id)
    ).first()
    return (row[0], row[1]) if row else None


def entry_for_original(
    *, session: Session, feed_id: int, subject_key: str, author: Address, minute: datetime
) -> tuple[int, int] | None:
    """(entry id, thread id) of a message received directly that an inline forward shows again.

    An inline forward carries no Message-ID: the same author, the same subject and
    a date within the minute its header names (Gmail writes no seconds) find it.
    """
    if not subject_key or not (author.address or author.name):
        return None
    by = Entry.author_address == author.address if author.address else Entry.author_name == author.name
    row = session.execute(
        sa.select(Entry.id, Entry.thread_id)
        .join(Thread, Thread.id == Entry.thread_id)
        .where(
            Thread.feed_id == feed_id,
            Thread.subject_key == subject_key,
            by,
            Entry.date >= minute,
            Entry.date < minute + timedelta(minutes=1),
        )
        .order_by(Entry.id)
        .limit(1)
    ).first()
    return (row[0], row[1]) if row else None


def refresh_thread(*, session: Session, thread_id: int) -> None:
    """Recompute the thread's post, count and last activity from its entries and their forwards.

    The post is the earliest entry whose parent is not in the thread; when a
    loop of references leaves no such entry, the earliest entry. The last
    activity is the latest entry's date or forward's arrival (a forward of an
    old message is news when it comes, though its post keeps the original's date).
    """
    rows = session.execute(
        sa.select(Entry.id, Entry.message_id, Entry.parent_message_id, Entry.date, Entry.subject)
        .where(Entry.thread_id == thread_id)
        .order_by(Entry.date, Entry.id)
    ).all()
    if not rows:
        session.execute(sa.delete(Thread).where(Thread.id == thread_id))
        return
    ids = {r.message_id for r in rows}
    roots = [r for r in rows if r.parent_message_id not in ids] or rows
    post = roots[0]
    last = max(r.date for r in rows)
    forwarded = session.scalar(
        sa.select(sa.func.max(ForwardRecord.date))
        .join(Entry, Entry.id == ForwardRecord.entry_id)
        .where(Entry.thread_id == thread_id)
    )
    session.execute(
        sa.update(Thread)
        .where(Thread.id == thread_id)
        .values(
            post_entry_id=post.id,
            subject=post.subject,
            entry_count=len(rows),
            created_at=post.date,
            last_activity_at=max(last, forwarded) if forwarded is not None else last,
        )
    )


def clear_derived(*, session: Session, feed_id: int | None = None) -> None:
    """Delete every derived row (all feeds, or one) so it can be rebuilt from raw."""
    search.clear_index(session=session, feed_id=feed_id)
    for owned in (Attachment, ForwardRecord):
        q = sa.delete(owned)
        if feed_id is not None:
            q = q.where(owned.entry_id.in_(sa.select(Entry.id).where(Entry.feed_id == feed_id)))
        session.execute(q)
    for model in (Entry, MessageRef, Thread):
        q = sa.delete(model)
        if feed_id is not None:
            q = q.where(model.feed_id == feed_id)
        session.execute(q)
