"""The rows placing derives from a message, built here and written per batch (steps 7–8).

`place` builds them one message at a time and keeps them in a `Derived`
until something reads the batch's rows; `insert_derived` writes each kind in
one statement run over every row. Reads and the updates that need a written
row first (merges, aliases, adoption, recounts) are `writes`'.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gateway.store.db import insert_ignore
from gateway.store.models import Attachment, Blob, Entry, ForwardRecord, MessageRef, Thread, UTCDateTime

_THREAD, _ENTRY, _REF = Thread.__table__, Entry.__table__, MessageRef.__table__
_BLOB, _ATTACHMENT, _FORWARD = Blob.__table__, Attachment.__table__, ForwardRecord.__table__


def thread_row(
    *,
    thread_id: int,
    feed_id: int,
    subject: str,
    subject_key: str,
    when: datetime,
    post_entry_id: int | None = None,
    active: datetime | None = None,
) -> dict[str, Any]:
    """A new thread's row: empty, or already counting its post `post_entry_id` (what `touch_row` would make of it).

    `active` is when the message came to the feed, if later than its date `when`: a forward's arrival.
    """
    return {
        "id": thread_id,
        "feed_id": feed_id,
        "subject": subject,
        "subject_key": subject_key,
        "created_at": when,
        "last_activity_at": max(when, active) if active else when,
        "entry_count": 0 if post_entry_id is None else 1,
        "post_entry_id": post_entry_id,
    }


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
        rows.append(
            {
                "entry_id": entry_id,
                "position": position,
                "filename": filename,
                "content_type": ctype,
                "size": len(data),
                "sha256": sha,
                "content_id": cid,
                "inline": inline,
            }
        )
    return blobs, rows


def forward_row(
    *, entry_id: int, raw_id: int, by_name: str, by_address: str, date: datetime | None, note: str
) -> dict[str, Any]:
    return {
        "entry_id": entry_id,
        "raw_id": raw_id,
        "by_name": by_name,
        "by_address": by_address,
        "date": date,
        "note": note,
    }


def touch_row(
    *, thread_id: int, entry_id: int, when: datetime, subject: str, root: bool, active: datetime | None = None
) -> dict[str, Any]:
    """Count a new entry in its thread; it becomes the post when it is a root older than the post.

    The thread's last activity becomes `active` (a forward's arrival), else the
    entry's date `when`, when that is later. The cheap path for the common
    case, run by `insert_derived`; `refresh_thread` recomputes from all
    entries when a message adopted earlier replies or merged threads.
    """
    at = max(when, active) if active else when
    return {"tid": thread_id, "eid": entry_id, "at": when, "active": at, "subject": subject, "root": root}


def activity_row(*, thread_id: int, when: datetime) -> dict[str, Any]:
    """Move the thread's last activity on to `when` (a later forward of its post), unless it is later already."""
    return {"tid": thread_id, "active": when}


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
    activity: list[dict[str, Any]] = field(default_factory=list)


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
        (insert_ignore(session, _REF, ["feed_id", "message_id"]), rows.refs),
        (insert_ignore(session, _BLOB, ["sha256"]), rows.blobs),
        (_ATTACHMENT.insert(), rows.attachments),
        (_FORWARD.insert(), rows.forwards),
        (_TOUCH[conn.dialect.name == "sqlite"], rows.touches),
        (_ACTIVE[conn.dialect.name == "sqlite"], rows.activity),
    ):
        if batch:
            conn.execute(stmt, batch)


_BECOMES_POST = "post_entry_id IS NULL OR (:root AND (created_at > :at OR (created_at = :at AND post_entry_id > :eid)))"
# One UPDATE (every SET reads the row as it was); SQLite's max() of two values is scalar.
_TOUCH = {
    sqlite_: sa.text(
        "UPDATE thread SET entry_count = entry_count + 1, "
        f"last_activity_at = {'max' if sqlite_ else 'greatest'}(last_activity_at, :active), "
        f"post_entry_id = CASE WHEN {_BECOMES_POST} THEN :eid ELSE post_entry_id END, "
        f"created_at = CASE WHEN {_BECOMES_POST} THEN :at ELSE created_at END, "
        f"subject = CASE WHEN {_BECOMES_POST} THEN :subject ELSE subject END "
        "WHERE id = :tid"
    ).bindparams(
        sa.bindparam("at", type_=UTCDateTime()),
        sa.bindparam("active", type_=UTCDateTime()),
        sa.bindparam("root", type_=sa.Boolean()),
    )
    for sqlite_ in (True, False)
}
_ACTIVE = {
    sqlite_: sa.text(
        f"UPDATE thread SET last_activity_at = {'max' if sqlite_ else 'greatest'}(last_activity_at, :active) "
        "WHERE id = :tid"
    ).bindparams(sa.bindparam("active", type_=UTCDateTime()))
    for sqlite_ in (True, False)
}
