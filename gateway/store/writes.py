"""Writes for the ingest side: raw messages first, then the rows derived from them.

Every function takes keyword arguments and runs inside the caller's
transaction; the caller commits. Only ingest, pipeline and cli import this.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from gateway.store import search
from gateway.store.db import for_driver
from gateway.store.models import (
    Attachment,
    Blob,
    Entry,
    Feed,
    ForwardRecord,
    MessageRef,
    RawMessage,
    Thread,
    UTCDateTime,
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


class FeedExists(Exception):
    """A feed with this slug or address is already there."""


def _insert_ignore(session: Session, table: sa.Table, index: Sequence[str]):  # type: ignore[no-untyped-def]
    """INSERT … ON CONFLICT DO NOTHING, built once per dialect and table (building costs more than running)."""
    name = session.get_bind().dialect.name
    key = (name, table.name, tuple(index))
    stmt = _INSERT_IGNORE.get(key)
    if stmt is None:
        dialect = postgresql if name == "postgresql" else sqlite
        stmt = _INSERT_IGNORE[key] = dialect.insert(table).on_conflict_do_nothing(index_elements=list(index))
    return stmt


_INSERT_IGNORE: dict[tuple[str, str, tuple[str, ...]], sa.Insert] = {}


def add_feed(*, session: Session, slug: str, address: str, title: str = "") -> Feed:
    clash = session.scalar(
        sa.select(Feed).where(sa.or_(Feed.slug == slug, Feed.address == address.lower()))
    )
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
    now = datetime.now(UTC).replace(tzinfo=None)  # stored as naive UTC, as UTCDateTime does
    when: object = now.strftime(SQLITE_DATETIME) if sqlite_ else now
    rows = [
        (item.feed_id, hashlib.sha256(item.data).hexdigest(), item.data, len(item.data), item.source,
         item.envelope_from, item.envelope_to, item.client_ip, item.helo[:255], when)
        for item in items
    ]
    found: dict[tuple[int, str], int] = {}
    one = f"({', '.join('?' * 10)}, 'pending', '')"
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
_SAVE_RAW = ("INSERT INTO raw_message (feed_id, sha256, data, size, source, envelope_from, envelope_to, client_ip,"
             " helo, received_at, status, reason)")
_SAVE_RAW_END = "ON CONFLICT (feed_id, sha256) DO NOTHING"


def set_raw_status(
    *, session: Session, raw_id: int, status: str, reason: str = "", message_id: str | None = None
) -> None:
    set_raw_statuses(session=session, rows=[raw_status(raw_id=raw_id, status=status, reason=reason,
                                                       message_id=message_id)])


def raw_status(*, raw_id: int, status: str, reason: str = "", message_id: str | None = None) -> dict[str, object]:
    """One row for `set_raw_statuses`."""
    return {"rid": raw_id, "st": status, "why": reason[:2000], "mid": message_id}


def set_raw_statuses(*, session: Session, rows: Sequence[dict[str, object]]) -> None:
    """Set the outcome of several raw messages in one statement run over every row."""
    if rows:
        session.connection().execute(_SET_STATUS, list(rows))


# Statements run for every message, built once (building one costs more than running it).
_RAW, _REF, _ENTRY = RawMessage.__table__, MessageRef.__table__, Entry.__table__  # type: ignore[attr-defined]
_ATTACHMENT, _FORWARD = Attachment.__table__, ForwardRecord.__table__  # type: ignore[attr-defined]
_THREAD, _BLOB = Thread.__table__, Blob.__table__  # type: ignore[attr-defined]
_SET_STATUS = _RAW.update().where(_RAW.c.id == sa.bindparam("rid")).values(
    status=sa.bindparam("st"), reason=sa.bindparam("why"), message_id=sa.bindparam("mid")
)
_KNOWN = (f"SELECT r.message_id, r.thread_id, r.entry_id, e.message_id FROM {_REF.name} r"
          f" LEFT OUTER JOIN {_ENTRY.name} e ON e.id = r.entry_id WHERE r.feed_id = ? AND r.message_id IN ")


def known_ids(*, session: Session, feed_id: int, ids: Sequence[str]) -> dict[str, Known]:
    """Which of `ids` the feed has seen: as a post or comment, or only named in references.

    Driver SQL, run once per message: the expanding IN of the Core statement
    was rendered again at every call, 0.4 ms of the import's main process a message.
    """
    if not ids:
        return {}
    conn = session.connection()
    rows = conn.exec_driver_sql(for_driver(conn, f"{_KNOWN}({','.join('?' * len(ids))})"), (feed_id, *ids))
    return {m: Known(m, t, e is not None, em if em != m else None) for m, t, e, em in rows}


def subject_thread(*, session: Session, feed_id: int, subject_key: str) -> SubjectThread | None:
    if not subject_key:
        return None
    row = session.execute(
        sa.select(Thread.id, Thread.last_activity_at)
        .where(Thread.feed_id == feed_id, Thread.subject_key == subject_key)
        .order_by(Thread.last_activity_at.desc(), Thread.id.desc())  # type: ignore[attr-defined]
        .limit(1)
    ).first()
    return SubjectThread(row[0], row[1]) if row else None


def thread_children(*, session: Session, thread_ids: Sequence[int]) -> list[Child]:
    rows = session.execute(
        sa.select(Entry.message_id, Entry.chain, Entry.parent_message_id).where(
            Entry.thread_id.in_(thread_ids)  # type: ignore[attr-defined]
        )
    )
    return [Child(m, tuple(c.split()), p) for m, c, p in rows]


def set_parents(*, session: Session, feed_id: int, parents: dict[str, str]) -> None:
    for child, parent in parents.items():
        session.execute(
            sa.update(Entry).where(Entry.feed_id == feed_id, Entry.message_id == child).values(parent_message_id=parent)
        )


def thread_in_feed(*, session: Session, thread_id: int, feed_id: int) -> bool:
    return session.scalar(sa.select(Thread.id).where(Thread.id == thread_id, Thread.feed_id == feed_id)) is not None


def post_message_id(*, session: Session, thread_id: int) -> str | None:
    return session.scalar(
        sa.select(Entry.message_id)
        .join(Thread, Thread.post_entry_id == Entry.id)  # type: ignore[arg-type]
        .where(Thread.id == thread_id)
    )


def thread_row(*, thread_id: int, feed_id: int, subject: str, subject_key: str, when: datetime,
               post_entry_id: int | None = None) -> dict[str, Any]:
    """A new thread's row: empty, or already counting its post `post_entry_id` (what `touch_row` would make of it)."""
    return {
        "id": thread_id, "feed_id": feed_id, "subject": subject, "subject_key": subject_key,
        "created_at": when, "last_activity_at": when, "entry_count": 0 if post_entry_id is None else 1,
        "post_entry_id": post_entry_id,
    }


def merge_threads(*, session: Session, into: int, others: Sequence[int]) -> None:
    """Fold `others` into thread `into` (a message showed they are one conversation)."""
    if not others:
        return
    for model in (Entry, MessageRef):
        session.execute(
            sa.update(model).where(model.thread_id.in_(others)).values(thread_id=into)  # type: ignore[attr-defined]
        )
    session.execute(sa.delete(Thread).where(Thread.id.in_(others)))  # type: ignore[attr-defined]


def ref_rows(*, entry: dict[str, Any], chain: Sequence[str], aliases: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The message_ref rows an entry brings: its id and its aliases (standing for it) and every id it names.

    Aliases are other ids that stand for this entry: the Message-ID of a
    forwarded original, or the key of an inline-forwarded one. Inserted with
    ON CONFLICT DO NOTHING: an id recorded before (only referenced so far) is
    made to stand for the entry by `add_alias`.
    """
    entry_id, feed_id, thread_id = entry["id"], entry["feed_id"], entry["thread_id"]
    own = [entry["message_id"], *aliases]
    return [
        {"feed_id": feed_id, "message_id": m, "thread_id": thread_id, "entry_id": entry_id if m in own else None}
        for m in dict.fromkeys([*own, *chain])
    ]


def add_alias(*, session: Session, feed_id: int, message_id: str, thread_id: int, entry_id: int) -> None:
    """Make `message_id` stand for entry `entry_id` (a reply to it lands in that thread)."""
    session.execute(
        _insert_ignore(session, MessageRef.__table__, ["feed_id", "message_id"]).values(  # type: ignore[attr-defined]
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
            MessageRef.feed_id == feed_id, MessageRef.message_id == message_id, MessageRef.entry_id.is_not(None)  # type: ignore[union-attr]
        )
    ).first()
    return (row[0], row[1]) if row else None


def attachment_rows(
    *, entry_id: int, items: Sequence[tuple[str, str, bytes, str, bool]], max_bytes: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(blob rows, attachment rows) for attachments given as (filename, content type, bytes, content id, inline).

    Bytes are stored once by hash; one larger than `max_bytes` is listed but its
    bytes stay only in the raw message, from where the web serves it.
    """
    rows, blobs = [], []
    for position, (filename, ctype, data, cid, inline) in enumerate(items):
        sha = hashlib.sha256(data).hexdigest()
        if len(data) <= max_bytes:
            blobs.append({"sha256": sha, "data": data, "size": len(data)})
        rows.append({"entry_id": entry_id, "position": position, "filename": filename, "content_type": ctype,
                     "size": len(data), "sha256": sha, "content_id": cid, "inline": inline})
    return blobs, rows


def forward_row(*, entry_id: int, raw_id: int, by_name: str, by_address: str, date: datetime | None,
                note: str) -> dict[str, Any]:
    return {"entry_id": entry_id, "raw_id": raw_id, "by_name": by_name, "by_address": by_address, "date": date,
            "note": note}


def save_forward(*, session: Session, entry_id: int, raw_id: int, by_name: str, by_address: str,
                 date: datetime | None, note: str) -> None:
    session.connection().execute(_FORWARD.insert(), forward_row(
        entry_id=entry_id, raw_id=raw_id, by_name=by_name, by_address=by_address, date=date, note=note))


def refresh_thread(*, session: Session, thread_id: int) -> None:
    """Recompute the thread's post, count and last activity from its entries.

    The post is the earliest entry whose parent is not in the thread; when a
    loop of references leaves no such entry, the earliest entry.
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
    session.execute(
        sa.update(Thread)
        .where(Thread.id == thread_id)
        .values(
            post_entry_id=post.id,
            subject=post.subject,
            entry_count=len(rows),
            created_at=post.date,
            last_activity_at=max(r.date for r in rows),
        )
    )


def touch_row(*, thread_id: int, entry_id: int, when: datetime, subject: str, root: bool) -> dict[str, Any]:
    """Count a new entry in its thread; it becomes the post when it is a root older than the post.

    The cheap path for the common case, run by `insert_derived`;
    `refresh_thread` recomputes from all entries when a message adopted
    earlier replies or merged threads.
    """
    return {"tid": thread_id, "eid": entry_id, "at": when, "subject": subject, "root": root}


@dataclass
class Derived:
    """Rows placing derived from messages, not yet written; `insert_derived` writes them in this order."""

    threads: list[dict[str, Any]] = field(default_factory=list)
    entries: list[dict[str, Any]] = field(default_factory=list)
    refs: list[dict[str, Any]] = field(default_factory=list)
    blobs: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    forwards: list[dict[str, Any]] = field(default_factory=list)
    touches: list[dict[str, Any]] = field(default_factory=list)


def insert_derived(*, session: Session, rows: Derived) -> None:
    """Write `rows`, each kind in one statement run over every row of it.

    Threads come before the touches that count entries in them; refs and
    blobs already there are kept (the first of equal ones wins, as when the
    rows were inserted one by one).
    """
    conn = session.connection()
    for stmt, batch in (
        (_THREAD.insert(), rows.threads),
        (_ENTRY.insert(), rows.entries),
        (_insert_ignore(session, _REF, ["feed_id", "message_id"]), rows.refs),
        (_insert_ignore(session, _BLOB, ["sha256"]), rows.blobs),
        (_ATTACHMENT.insert(), rows.attachments),
        (_FORWARD.insert(), rows.forwards),
        (_TOUCH[conn.dialect.name == "sqlite"], rows.touches),
    ):
        if batch:
            conn.execute(stmt, batch)


_BECOMES_POST = "post_entry_id IS NULL OR (:root AND (created_at > :at OR (created_at = :at AND post_entry_id > :eid)))"
# One UPDATE (every SET reads the row as it was); SQLite's max() of two values is scalar.
_TOUCH = {
    sqlite_: sa.text(
        "UPDATE thread SET entry_count = entry_count + 1, "
        f"last_activity_at = {'max' if sqlite_ else 'greatest'}(last_activity_at, :at), "
        f"post_entry_id = CASE WHEN {_BECOMES_POST} THEN :eid ELSE post_entry_id END, "
        f"created_at = CASE WHEN {_BECOMES_POST} THEN :at ELSE created_at END, "
        f"subject = CASE WHEN {_BECOMES_POST} THEN :subject ELSE subject END "
        "WHERE id = :tid"
    ).bindparams(sa.bindparam("at", type_=UTCDateTime()), sa.bindparam("root", type_=sa.Boolean()))
    for sqlite_ in (True, False)
}


def clear_derived(*, session: Session, feed_id: int | None = None) -> None:
    """Delete every derived row (all feeds, or one) so it can be rebuilt from raw."""
    search.clear_index(session=session, feed_id=feed_id)
    for model in (Attachment, ForwardRecord):
        q = sa.delete(model)
        if feed_id is not None:
            q = q.where(model.entry_id.in_(sa.select(Entry.id).where(Entry.feed_id == feed_id)))  # type: ignore[attr-defined]
        session.execute(q)
    for model in (Entry, MessageRef, Thread):
        q = sa.delete(model)
        if feed_id is not None:
            q = q.where(model.feed_id == feed_id)  # type: ignore[attr-defined]
        session.execute(q)
