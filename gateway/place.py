"""Steps 7 and 8 for one message: place it in its thread and save what analysis found.

`commit.commit_one` calls `place_and_save` for each message of a batch that
is to be posted, in the batch's order, inside its transaction; the rows it
derives wait in a `Later` and are written together, each kind in one statement.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from gateway import thread
from gateway.config import Settings
from gateway.store import derived, search, writes

if TYPE_CHECKING:
    from gateway.analysis import Analysis
    from gateway.message import Forward

log = logging.getLogger("gateway.pipeline")  # one logger for the whole way a message takes

FUTURE_SLACK = timedelta(days=1)


@dataclass
class Later:
    """What a batch writes together instead of statement by statement for each message.

    The rows placing derives (threads, entries, refs, attachments, forwards,
    counts) wait in `waiting` until something reads or updates rows of the
    batch: `flush` writes them first. `known` answers from the rows still
    waiting and from the store, which `read_ahead` asks once for the whole
    batch; until the first flush nothing has changed there. So the common
    message (a new post, a reply to a known one) costs no statement of its
    own, where it cost four (on PostgreSQL, four round trips). The raw
    messages' outcomes and the search rows are written at the batch's end
    (nothing in the batch reads them).
    """

    waiting: derived.Derived = field(default_factory=derived.Derived)
    statuses: list[dict[str, object]] = field(default_factory=list)
    index: list[dict[str, object]] = field(default_factory=list)
    reindex: list[dict[str, object]] = field(default_factory=list)  # later forwarders of indexed entries
    _refs: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)  # the first waiting row for an id
    _entries: dict[int, str] = field(default_factory=dict)  # waiting entries' Message-IDs by entry id
    _read: dict[int, dict[str, thread.Known]] | None = None  # `read_ahead`'s answers by feed, until a flush

    def read_ahead(self, session: sa.orm.Session, ids: dict[int, list[str]]) -> None:
        """Ask the store once about every id the batch's messages name, by feed."""
        self._read = {
            feed_id: writes.known_ids(session=session, feed_id=feed_id, ids=wanted) for feed_id, wanted in ids.items()
        }

    def known(self, session: sa.orm.Session, feed_id: int, ids: list[str]) -> dict[str, thread.Known]:
        """`writes.known_ids`, with the ids of rows still waiting (a row in the store wins, as on insert)."""
        read = self._read.get(feed_id) if self._read is not None else None
        if read is None:
            found = writes.known_ids(session=session, feed_id=feed_id, ids=ids)
        else:
            found = {m: read[m] for m in ids if m in read}
        for m in ids:
            ref = self._refs.get((feed_id, m))
            if ref is not None and m not in found:
                entry_id = ref["entry_id"]
                em = self._entries.get(entry_id) if entry_id is not None else None
                found[m] = thread.Known.of_ref(m, ref["thread_id"], entry_id, em)
        return found

    def add_entry(self, entry: dict[str, Any], refs: list[dict[str, Any]]) -> None:
        self.waiting.entries.append(entry)
        self._entries[entry["id"]] = entry["message_id"]
        self.waiting.refs.extend(refs)
        for ref in refs:
            self._refs.setdefault((ref["feed_id"], ref["message_id"]), ref)

    def flush(self, session: sa.orm.Session) -> None:
        """Write the waiting derived rows: before anything reads or updates rows of the batch."""
        derived.insert_derived(session=session, rows=self.waiting)
        self.waiting = derived.Derived()
        self._refs.clear()
        self._entries.clear()
        self._read = None  # what follows the flush may change the store

    def write(self, session: sa.orm.Session) -> None:
        self.flush(session)
        writes.set_raw_statuses(session=session, rows=self.statuses)
        search.insert_rows(session=session, rows=self.index)
        search.add_authors(session=session, rows=self.reindex)


def place_and_save(
    session: sa.orm.Session, row: sa.Row, a: Analysis, settings: Settings, reply_thread: int | None, later: Later
) -> str:
    """Steps 7 and 8 for one message, inside the caller's savepoint.

    `reply_thread` is the thread a digest's reply link named (a verified token).
    The raw message's outcome and the search row go to `later`, for the caller to write.
    """
    c = a.content
    key = a.index_key
    known = later.known(session, row.feed_id, a.named)
    chain, missing, known = thread.by_thread_index(a.chain, a.index_key, a.index_chain, known)
    chain, known, event_alias = thread.by_event(a.event_key, chain, known)
    own = known.get(a.message_id)
    by_key = known.get(key) if key else None
    named_by_key = by_key is not None and not by_key.received  # earlier replies' Thread-Index named this message
    if own is not None and own.received:
        if own.entry_message_id is None and not _copy_of(session, row, a, later):
            return place_and_save(session, row, _reused(row, a), settings, reply_thread, later)
        writes.set_raw_status(session=session, raw_id=row.id, status="duplicate", message_id=a.message_id)
        return "duplicate"
    if a.forward_key:
        later.flush(session)
        forwarded = writes.entry_for_ref(session=session, feed_id=row.feed_id, message_id=a.forward_key)
        if forwarded is None and c.date is not None:  # the original may have come in itself, not forwarded
            forwarded = writes.entry_for_original(
                session=session,
                feed_id=row.feed_id,
                subject_key=thread.normalize_subject(c.subject),
                author=c.author,
                minute=c.date.replace(second=0, microsecond=0),
            )
        if forwarded is not None:
            return _another_forward(session, row, a, *forwarded, later)
    when = effective_date(c.date, row.received_at, row.delivered_at)
    arrived = forward_arrival(row, c.forward) if c.forward is not None else None
    subject_key = thread.normalize_subject(c.subject)
    if reply_thread is not None:
        later.flush(session)
        if not writes.thread_in_feed(session=session, thread_id=reply_thread, feed_id=row.feed_id):
            reply_thread = None  # merged away or deleted since the digest went out
    by_subject = None
    if reply_thread is None and not chain and not known and thread.is_reply_subject(c.subject):
        later.flush(session)
        by_subject = writes.subject_thread(session=session, feed_id=row.feed_id, subject_key=subject_key)
    # Only a message that earlier replies named can close a cycle or adopt them.
    children: list[thread.Child] = []
    if own or named_by_key:
        later.flush(session)
        named_in = {k.thread_id for k in (own, by_key if named_by_key else None) if k is not None}
        children = writes.thread_children(session=session, thread_ids=sorted(named_in))
    spot = thread.place(
        message_id=a.message_id,
        chain=chain,
        known=known,
        subject=c.subject,
        date=when,
        subject_thread=by_subject,
        window=timedelta(days=settings.thread_subject_window_days),
        parent_of={ch.message_id: ch.parent for ch in children},
        reply_to_thread=reply_thread,
    )
    thread_id = spot.thread_id if spot.thread_id is not None else row.id
    # parents changed or threads joined: recount from every entry
    recount = own is not None or named_by_key or bool(spot.merge)
    starts = spot.thread_id is None and not recount  # a new thread whose first entry is this one
    if spot.thread_id is None:
        later.waiting.threads.append(
            derived.thread_row(
                thread_id=thread_id,
                feed_id=row.feed_id,
                subject=c.subject,
                subject_key=subject_key,
                when=when,
                post_entry_id=row.id if starts else None,
                active=arrived,
            )
        )
    if spot.merge:
        later.flush(session)
        writes.merge_threads(session=session, into=thread_id, others=spot.merge)
    parent = spot.parent_message_id
    if spot.by_subject:
        later.flush(session)
        parent = writes.post_message_id(session=session, thread_id=thread_id)
    aliases = [k for k in (a.forward_key, a.index_key, event_alias) if k]
    entry = _entry(row, a, a.chain or a.index_chain, thread_id=thread_id, parent=parent, when=when)
    later.add_entry(entry, derived.ref_rows(entry=entry, chain=[*chain, *missing], aliases=aliases))
    for mid in (a.message_id, *aliases):
        if mid in known and not known[mid].received:  # recorded before, only referenced: now it stands for this entry
            later.flush(session)
            writes.add_alias(session=session, feed_id=row.feed_id, message_id=mid, thread_id=thread_id, entry_id=row.id)
    parents = thread.adopt(a.message_id, parent, children)
    if named_by_key:
        later.flush(session)
        key_of = writes.index_keys(session=session, thread_ids=[thread_id], prefix=thread.INDEX_KEY_PREFIX)
        parents.update(thread.adopt(a.message_id, parent, children, named=key, key_of=key_of))
    if parents:
        later.flush(session)
        writes.set_parents(session=session, feed_id=row.feed_id, parents=parents)
    blobs, files = derived.attachment_rows(
        entry_id=row.id,
        items=[(x.filename, x.content_type, x.data, x.content_id, x.inline) for x in c.attachments],
        max_bytes=settings.max_attachment_bytes,
    )
    later.waiting.blobs.extend(blobs)
    later.waiting.attachments.extend(files)
    if c.forward is not None:
        later.waiting.forwards.append(
            derived.forward_row(
                entry_id=row.id,
                raw_id=row.id,
                by_name=c.forward.by.name,
                by_address=c.forward.by.address,
                date=arrived,
                note=c.forward.note,
            )
        )
    later.index.append(
        search.index_row(
            entry_id=row.id,
            subject=c.subject,
            text=c.text,
            author=" ".join((c.author.name, c.author.address, *_forwarder(c.forward))),
            attachments=[x.filename for x in c.attachments],
        )
    )
    if recount:
        later.flush(session)
        writes.refresh_thread(session=session, thread_id=thread_id)
    elif not starts:  # a new thread counts its post already
        later.waiting.touches.append(
            derived.touch_row(
                thread_id=thread_id,
                entry_id=row.id,
                when=when,
                subject=c.subject,
                root=parent is None and not spot.by_subject,
                active=arrived,
            )
        )
    later.statuses.append(writes.raw_status(raw_id=row.id, status="posted", message_id=a.message_id))
    log.debug(
        "<%s> placed in thread %s",
        a.message_id,
        thread_id,
        extra=log_fields(row, a.message_id),
    )
    return "posted"


REUSED_AFTER = timedelta(minutes=10)  # copies of one message share its Date; undated ones, about when they came


def _copy_of(session: sa.orm.Session, row: sa.Row, a: Analysis, later: Later) -> bool:
    """Whether `a` is a copy of the entry with its Message-ID (the same mail by another path, a list's
    copy with its footer), not another message whose sender reused the id.

    Broken mailers and scripts send every message under one Message-ID; taken for
    copies, all but the first were hidden as duplicates. Another message has both
    another date and other text; a copy keeps its date, and its text but for a
    footer (which reply extraction sets apart).
    """
    later.flush(session)
    found = writes.entry_date_and_text(session=session, feed_id=row.feed_id, message_id=a.message_id)
    if found is None:
        return True
    date, text = found
    when = effective_date(a.content.date, row.received_at, row.delivered_at)
    return abs(when - date) <= REUSED_AFTER or " ".join(text.split()) == " ".join(a.content.text.split())


def _reused(row: sa.Row, a: Analysis) -> Analysis:
    """`a` under an id of its own, derived from the reused one and its content: each copy of it gets the same."""
    c = a.content
    key = "\n".join((a.message_id, c.date.isoformat() if c.date else "", c.author.address, c.subject, c.text))
    message_id = f"{hashlib.sha256(key.encode()).hexdigest()[:32]}@reused.mailfeed.invalid"
    log.info(
        "<%s> reuses the Message-ID of another message: placed as <%s>",
        a.message_id,
        message_id,
        extra=log_fields(row, a.message_id),
    )
    return replace(a, message_id=message_id)


def _another_forward(
    session: sa.orm.Session, row: sa.Row, a: Analysis, entry_id: int, thread_id: int, later: Later
) -> str:
    """One more forward of an original that is already a post: list the forwarder on it."""
    fwd = a.content.forward
    assert fwd is not None
    arrived = forward_arrival(row, fwd)
    later.waiting.forwards.append(
        derived.forward_row(
            entry_id=entry_id,
            raw_id=row.id,
            by_name=fwd.by.name,
            by_address=fwd.by.address,
            date=arrived,
            note=fwd.note,
        )
    )
    later.waiting.activity.append(derived.activity_row(thread_id=thread_id, when=arrived))  # news again
    later.reindex.append(search.more_author_row(entry_id=entry_id, author=" ".join(_forwarder(fwd))))
    # replies to this forward belong to the post's thread
    writes.add_alias(
        session=session, feed_id=row.feed_id, message_id=a.message_id, thread_id=thread_id, entry_id=entry_id
    )
    writes.set_raw_status(
        session=session,
        raw_id=row.id,
        status="duplicate",
        message_id=a.message_id,
        reason=f"another forward of entry {entry_id}",
    )
    log.info(
        "<%s> another forward of entry %s",
        a.message_id,
        entry_id,
        extra=log_fields(row, a.message_id),
    )
    return "duplicate"


def effective_date(claimed: datetime | None, received_at: datetime, delivered_at: datetime | None = None) -> datetime:
    """The Date header (or Received stamp), unless missing or more than a day after we received
    the message; then when the mailbox it was imported from got it, else when we did.

    A spammer's year-2037 Date would otherwise pin a thread to the top forever. Our own
    clock is read to the whole second, as a Date header is written.
    """
    for when in (claimed, delivered_at):
        if when is not None and when <= received_at + FUTURE_SLACK:
            return when
    return received_at.replace(microsecond=0)


def forward_arrival(row: sa.Row, fwd: Forward) -> datetime:
    """When a forward came: its own Date (the forwarder's, not the original's), or when we got it.

    The thread's last activity: a forward of a months-old message is news
    today, though its post keeps the original's date. Stored as the forward's
    date, so `refresh_thread` and a rebuild from raw find the same.
    """
    return effective_date(fwd.date, row.received_at, row.delivered_at)


def _forwarder(fwd: Forward | None) -> tuple[str, ...]:
    """Who forwarded, as the search index's author column takes them."""
    return (fwd.by.name, fwd.by.address) if fwd is not None else ()


def log_fields(row: sa.Row, message_id: str) -> dict[str, object]:
    """What every log line about a raw message being processed carries."""
    return {"message_id": message_id, "feed": row.feed_id, "raw_id": row.id, "source": row.source}


def _entry(
    row: sa.Row, a: Analysis, chain: list[str], *, thread_id: int, parent: str | None, when: datetime
) -> dict[str, Any]:
    """The entry's row: its id is its raw message's (what makes a rebuild give the same ids).

    A plain dict for a Core insert: building the SQLModel object validated
    every field again, a tenth of the time placing took.
    """
    c = a.content
    offset = c.date.utcoffset() if c.date else None
    return {
        "id": row.id,
        "feed_id": row.feed_id,
        "thread_id": thread_id,
        "raw_id": row.id,
        "message_id": a.message_id,
        "parent_message_id": parent,
        "chain": " ".join(chain),
        "author_name": c.author.name,
        "author_address": c.author.address,
        "date": when,
        "tz_offset": int(offset.total_seconds() // 60) if offset else 0,
        "subject": c.subject,
        "text": c.text,
        "quoted_text": c.quoted_text,
        "signature": c.signature,
        "html": c.html,
        "snippet": c.snippet,
        "forwarded_by_name": c.forward.by.name if c.forward else None,
        "forwarded_by_address": c.forward.by.address if c.forward else None,
        "auth": a.auth,
    }
