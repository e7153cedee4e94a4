"""Collect: what is new for one reader since their last digest.

New means posted after the subscription's cursor (`RawMessage.posted_seq`:
the order messages became posts or comments in, so mail with an old Date, or
posted late by a retry, is not missed). The reader's own messages (their
forwards included) are not news and do not count; muted threads are left out; "only mine" keeps the
threads the reader wrote in. Reads the store; the ledger is runs.py's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gateway.store import writes
from gateway.store.models import Attachment, Entry, ForwardRecord, RawMessage, Thread
from gateway.store.models_web import Moderation

MAX_THREADS = 25


@dataclass(frozen=True)
class NewEntry:
    id: int
    thread_id: int
    is_post: bool
    author_name: str
    author_address: str
    snippet: str
    date: datetime
    subject: str
    has_attachments: bool
    forwarded_by: str = ""  # who forwarded it, when it is a forward: their own message too
    forwarded_by_name: str = ""
    forward_note: str = ""  # what the forwarder wrote above the forward


@dataclass
class Item:
    """One thread in a digest: a new thread, or new comments on an older one."""

    thread_id: int
    subject: str
    new_thread: bool
    author: str
    snippet: str
    comments: int
    who: list[str] = field(default_factory=list)
    has_attachments: bool = False
    last_activity: datetime | None = None
    forwarded_by: str = ""  # a new thread's forwarder: the author is the original's
    forward_note: str = ""  # their words above it, on one line: often all the reason to read it


@dataclass
class Collected:
    items: list[Item]
    more: int  # threads left out past MAX_THREADS
    entry_count: int  # the messages this digest replaces
    new_threads: int | None = None  # of all its threads, shown or left out: new ones (None: those shown)


def safe_upper_bound(session: Session) -> int:
    """The highest posting number a digest may cover: the highest committed.

    Numbers are given in commit order (`writes.number_posted`), so none below it
    can be committed later; a message still pending gets a higher one.
    """
    return int(session.scalar(writes.TOP_POSTED) or 0)


_MODERATED = sa.select(Moderation.entry_id)
# the note of the forward that made the entry (its own raw message), not of those forwarded again later
_OWN_FORWARD_NOTE = (
    sa.select(ForwardRecord.note)
    .where(ForwardRecord.entry_id == Entry.id, ForwardRecord.raw_id == Entry.raw_id)
    .limit(1)
    .scalar_subquery()
)


def new_entries(session: Session, *, feed_id: int, after: int, upto: int) -> list[NewEntry]:
    """Entries of a feed posted after `after` up to `upto`, in that order, none an admin hid."""
    with_files = sa.select(Attachment.entry_id).where(Attachment.entry_id == Entry.id).exists()
    rows = session.execute(
        sa.select(
            Entry.id,
            Entry.thread_id,
            Thread.post_entry_id,
            Entry.author_name,
            Entry.author_address,
            Entry.snippet,
            Entry.date,
            Thread.subject,
            with_files,
            Entry.forwarded_by_address,
            Entry.forwarded_by_name,
            _OWN_FORWARD_NOTE,
        )
        .join(RawMessage, RawMessage.id == Entry.raw_id)
        .join(Thread, Thread.id == Entry.thread_id)
        .where(Entry.feed_id == feed_id, RawMessage.posted_seq > after, RawMessage.posted_seq <= upto)
        # what an admin hid (an entry, or a thread by its post) is in no digest, as on no page
        .where(Entry.id.not_in(_MODERATED))
        .where(sa.or_(Thread.post_entry_id.is_(None), Thread.post_entry_id.not_in(_MODERATED)))  # type: ignore[union-attr]
        .order_by(RawMessage.posted_seq)
    ).all()
    return [
        NewEntry(
            r[0], r[1], r[2] == r[0], r[3], r[4], r[5], r[6], r[7], bool(r[8]), r[9] or "", r[10] or "", r[11] or ""
        )
        for r in rows
    ]


def threads_written_by(session: Session, *, feed_id: int, address: str, thread_ids: Sequence[int]) -> set[int]:
    if not thread_ids:
        return set()
    return set(
        session.scalars(
            sa.select(Entry.thread_id)
            .distinct()
            .where(
                Entry.feed_id == feed_id,
                Entry.author_address == address,
                Entry.thread_id.in_(thread_ids),
            )
        )
    )


def select(entries: Sequence[NewEntry], *, reader: str, muted: set[int], only: set[int] | None) -> Collected:
    """The reader's digest out of the feed's new entries (pure)."""
    by_thread: dict[int, list[NewEntry]] = {}
    for e in entries:
        own = reader in (e.author_address, e.forwarded_by)  # a forward is its forwarder's message too
        if own or e.thread_id in muted or (only is not None and e.thread_id not in only):
            continue
        by_thread.setdefault(e.thread_id, []).append(e)
    items = [_item(group) for group in by_thread.values()]
    # new threads first, then threads with new comments; each by latest activity, ties by the newest
    # thread first (the highest id), as the web lists them: Date has whole seconds, and a burst of mail
    # shares one, so the newest must not be the ones left out past MAX_THREADS
    items.sort(key=lambda i: (not i.new_thread, -(i.last_activity.timestamp() if i.last_activity else 0), -i.thread_id))
    count = sum(len(g) for g in by_thread.values())
    new = sum(1 for i in items if i.new_thread)
    return Collected(items[:MAX_THREADS], max(0, len(items) - MAX_THREADS), count, new)


def _item(group: list[NewEntry]) -> Item:
    post = next((e for e in group if e.is_post), None)
    comments = [e for e in group if not e.is_post]
    # the newest by date: a comment posted late (a retry, a reprocess) is not the thread's latest word
    latest = max(reversed(group), key=lambda e: e.date)
    who = list(dict.fromkeys(e.author_name or e.author_address for e in comments))
    return Item(
        thread_id=latest.thread_id,
        subject=latest.subject or "(no subject)",
        new_thread=post is not None,
        author=(post or latest).author_name or (post or latest).author_address,
        snippet=(post or latest).snippet,
        comments=len(comments),
        who=who,
        has_attachments=any(e.has_attachments for e in group),
        last_activity=max(e.date for e in group),
        forwarded_by=(post.forwarded_by_name or post.forwarded_by) if post else "",
        forward_note=" ".join(post.forward_note.split()) if post else "",
    )
