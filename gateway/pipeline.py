"""The way a message takes, written once, in order.

    deliver:  1. precheck   2. save raw            (at SMTP time, before the 250)
    process:  3. parse      4. classify   5. unwrap   6. extract   (pure: analysis.py, in worker processes)
              7. place      8. commit                (in raw-id order, one transaction per batch;
                                                      one message's part is commit.py's and place.py's)

Raw bytes are committed before anything is derived from them; a message that
fails a step stays in `raw_message` with status "quarantined" and the reason,
and `mailfeed reprocess` runs it again. New mail is processed in raw-id order;
each message's turn is kept (`raw_message.seq`), and mail processed before (a
retry, a rebuild) goes again in that order, which makes a rebuild give the same
ids and threads even where a retry placed a message after later ones.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa

from gateway.analysis import Analysis, Failure, Job, analyse
from gateway.commit import RETRY_DEFERRED_SECONDS, PlaceFailed, commit_one
from gateway.config import Settings
from gateway.limits import Limits, check_structure
from gateway.place import Later
from gateway.store import digest_writes, writes
from gateway.store.db import Store
from gateway.store.models import RawMessage
from gateway.store.policies import feed_policies

log = logging.getLogger(__name__)

# Messages a batch takes, at most. Every batch costs a few statements, a commit
# and the workers' round trips whatever its size: at 64 a 1,500-message import
# took 13.7-14.6 s of CPU against 15.0-16.4 at 16, and ran 206-222 messages/s
# against 183-201. serve's processor takes 64 too: it commits only when incoming
# mail pauses, or once a second under a steady stream, so a batch is what that
# commit gets done (1,500 bench messages sent through SMTP were processed in
# 9.2 s at 64 against 10.1-10.7 s at 16).
BATCH = 64
AHEAD = 2  # batches in the workers' hands besides the one being committed
# About the raw bytes one batch holds: AHEAD + 1 batches are in memory at once (while
# serve reads on, the queue's other batches stop at BATCH_BYTES together), and a
# batch of 64 messages of 25 MB would be 1.6 GB. The first batch takes at most
# FIRST_BATCH messages; each next one as many as the last one's average size
# allows within BATCH_BYTES (at least one, at most the caller's batch).
BATCH_BYTES = 32 * 1024 * 1024
FIRST_BATCH = 16
WAITING_MESSAGES = 512  # analysed ahead, at most, while incoming mail holds the commits back
DEFAULT_LIMITS = Limits()


class Rejected(Exception):
    """Refused at the door (precheck); `reply` is the SMTP reply to give."""

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = reply


# 1–2 -------------------------------------------------------------------------


def deliver(
    *,
    store: Store,
    data: bytes,
    feed_ids: Sequence[int],
    source: str,
    envelope_from: str = "",
    envelope_to: str = "",
    max_bytes: int,
) -> list[int]:
    """Steps 1 and 2: check the message may enter, then commit its raw bytes.

    Returns one raw id per feed. Raises Rejected with the SMTP reply when the
    message may not enter. Processing happens later (`process_pending`).
    """
    precheck(data, max_bytes=max_bytes)
    items = [writes.NewRaw(f, data, source, envelope_from, envelope_to) for f in feed_ids]
    with store.write() as session, session.begin():
        return writes.save_raw(session=session, items=items)


def precheck(data: bytes, *, max_bytes: int, limits: Limits = DEFAULT_LIMITS) -> None:
    """Step 1: size, emptiness and structure limits (header count and size, MIME parts and depth, attachments)."""
    if len(data) > max_bytes:
        raise Rejected(f"552 5.3.4 Message too big: this feed takes at most {max_bytes} bytes")
    if not data.strip():
        raise Rejected("554 5.6.0 Empty message")
    breach = check_structure(data, limits)
    if breach is not None:
        raise Rejected(breach.reply)


# 7–8 -------------------------------------------------------------------------


Mapper = Callable[[Callable[[Job], Analysis | Failure], Iterable[Job]], Iterator[Analysis | Failure]]


def process_pending(
    *,
    store: Store,
    settings: Settings,
    run: Mapper = map,
    batch: int = BATCH,
    before_write: Callable[[Callable[[], None]], None] = lambda meanwhile: None,
) -> Counter[str]:
    """Process every pending raw message in id order; return counts by outcome.

    `run` maps `analyse` over jobs (the builtin map, or a process pool's).
    Each batch is one transaction (see `_commit_batch`), so one that fails to
    place is quarantined without taking the others along. `before_write` runs
    before each batch's transaction (`serve` lets incoming mail go first there).
    """
    counts: Counter[str] = Counter()
    with _one_processor(store) as mine:
        if mine:
            _process(store, settings, run, batch, counts, before_write)
    return counts


@contextmanager
def _one_processor(store: Store) -> Iterator[bool]:
    """On PostgreSQL, one instance at a time processes (an advisory lock), keeping raw-id order.

    Other instances go on accepting mail and wait their turn here; by then the
    holder has usually processed what they stored. SQLite has one host and
    serialises writers itself.
    """
    if store.is_sqlite:
        yield True
        return
    with store.writer.connect() as conn:
        conn.exec_driver_sql("SELECT pg_advisory_lock(727275)")
        conn.commit()
        try:
            yield True
        finally:
            conn.exec_driver_sql("SELECT pg_advisory_unlock(727275)")
            conn.commit()


def _process(
    store: Store,
    settings: Settings,
    run: Mapper,
    batch: int,
    counts: Counter[str],
    before_write: Callable[[Callable[[], None]], None],
) -> None:
    """Analyse the next batches in the workers while batch k is placed and committed here.

    AHEAD batches are handed to the workers before batch k commits, so they
    never wait for the commit (with one, the slower worker's tail left a core
    idle at every batch). While `before_write` holds the commit back (serve
    lets incoming mail go first), the workers read on, up to WAITING_MESSAGES
    or BATCH_BYTES queued, so the core SMTP leaves free analyses what the
    commits will need once mail pauses; from then on each commit hands them
    the next batch within those limits, so they do not idle while that queue
    is committed. A pool's map starts at once; the builtin map is lazy and the
    order of work is the plain one. Analysis is pure, so reading later batches
    before this one commits changes nothing.
    """
    queue: deque[tuple[list[sa.Row], Iterator[Analysis | Failure]]] = deque()
    last, take = (-1, 0), min(batch, FIRST_BATCH)

    def hand_out() -> None:
        nonlocal last, take
        rows = _pending(store, last, take)
        if rows:
            last = (rows[-1].seq, last[1]) if rows[-1].seq is not None else (last[0], rows[-1].id)
            average = sum(len(r.data) for r in rows) / len(rows)
            take = max(1, min(batch, int(BATCH_BYTES // max(1.0, average))))
            queue.append((rows, run(analyse, _jobs(store, settings, rows))))

    def read_on() -> None:
        if (
            sum(len(rows) for rows, _ in queue) < WAITING_MESSAGES
            and sum(len(r.data) for rows, _ in queue for r in rows) < BATCH_BYTES
        ):
            hand_out()

    for _ in range(AHEAD):
        hand_out()
    key = ""  # the signing key, read by the first batch that commits: it never changes once made
    while queue:
        rows, results = queue.popleft()
        done = list(results)
        if len(queue) < AHEAD:
            hand_out()
        else:  # only a wait that read on leaves this many: the workers go on while that queue is committed
            read_on()
        before_write(read_on)
        key = _commit_batch(store, settings, rows, done, counts, key)


def _commit_batch(
    store: Store,
    settings: Settings,
    rows: list[sa.Row],
    results: list[Analysis | Failure],
    counts: Counter[str],
    key: str,
) -> str:
    """The batch in one transaction: first without a savepoint per message (two statements fewer
    each) and with the rows placing derives written together (`place.Later`); when one fails
    to place, again with a savepoint per message holding all of its writes, so only that one is
    quarantined."""
    raw = RawMessage.__table__
    for isolate in (False, True):
        got: Counter[str] = Counter()
        try:
            with store.write() as session, session.begin():
                made = key or digest_writes.signing_key(session, settings.secret_key)
                # FOR UPDATE: a second processor waits here for the first's commit, then sees these done
                status: dict[int, str] = dict(
                    session.connection()
                    .execute(
                        sa.select(raw.c.id, raw.c.status).where(raw.c.id.in_([r.id for r in rows])).with_for_update()
                    )
                    .all()
                )
                later = Later()
                if not isolate:
                    later.read_ahead(session, _named(rows, results))
                posted = []
                for row, result in zip(rows, results, strict=True):
                    outcome = commit_one(session, row, result, settings, made, status.get(row.id), isolate, later)
                    got[outcome] += 1
                    if outcome == "posted":
                        posted.append(row.id)
                writes.number_raw(session=session, raw_ids=[r.id for r in rows if status.get(r.id) == "pending"])
                try:
                    later.write(session)  # empty when isolated: each message wrote its own in its savepoint
                except Exception as exc:
                    raise PlaceFailed from exc
                writes.number_posted(session=session, raw_ids=posted)
        except PlaceFailed:
            continue
        counts.update(got)
        return made  # committed now, so later batches may skip reading it
    raise AssertionError("the isolated pass quarantines what fails instead of raising PlaceFailed")


def _named(rows: list[sa.Row], results: list[Analysis | Failure]) -> dict[int, list[str]]:
    """Every Message-ID the batch's messages name (their own and their chains'), by feed."""
    ids: dict[int, list[str]] = {}
    for row, result in zip(rows, results, strict=True):
        if isinstance(result, Analysis):
            ids.setdefault(row.feed_id, []).extend(result.named)
    return ids


_ROW = (
    RawMessage.id,
    RawMessage.feed_id,
    RawMessage.data,
    RawMessage.envelope_from,
    RawMessage.envelope_to,
    RawMessage.source,
    RawMessage.received_at,
    RawMessage.delivered_at,
    RawMessage.client_ip,
    RawMessage.helo,
    RawMessage.seq,
)


def _pending(store: Store, after: tuple[int, int], batch: int) -> list[sa.Row]:
    """The next pending rows after `after` (seq, id): first those processed before (retries, a
    rebuild) in the order they were, then new ones in raw-id order."""
    after_seq, after_id = after
    with store.read() as session:
        again = session.execute(
            sa.select(*_ROW)
            .where(
                RawMessage.status == "pending",
                RawMessage.seq.is_not(None),  # type: ignore[union-attr]
                RawMessage.seq > after_seq,
            )
            .order_by(RawMessage.seq)
            .limit(batch)  # ix_raw_status_seq
        ).all()
        if again:
            return list(again)
        return list(
            session.execute(
                sa.select(*_ROW)
                .where(
                    RawMessage.status == "pending",
                    RawMessage.seq.is_(None),  # type: ignore[union-attr]
                    RawMessage.id > after_id,
                )
                .order_by(RawMessage.id)
                .limit(batch)
            ).all()
        )


def _jobs(store: Store, settings: Settings, rows: list[sa.Row]) -> list[Job]:
    if not rows:
        return []
    with store.read() as session:
        policies = feed_policies(session, settings)
    trusted, automated, lists = settings.trusted, settings.automated, settings.lists
    return [
        Job(
            r.id,
            r.data,
            _envelope_sender(r.source, r.envelope_from),
            policies[r.feed_id].allowed if r.feed_id in policies else settings.allowed,
            trusted,
            settings.verify_dkim,
            settings.dns_resolver,
            r.client_ip,
            r.helo,
            automated,
            lists,
        )
        for r in rows
    ]


def _envelope_sender(source: str, envelope_from: str) -> str | None:
    """The SMTP envelope sender ("" is the null sender of a bounce); None when unknown."""
    return envelope_from if source == "smtp" else None


def retry_deferred(store: Store, due: float) -> float:
    """Once the monotonic clock passes `due`, mark deferred messages pending again; return the next due time.

    A processor's loop calls it before each round, starting with due 0.0.
    """
    if time.monotonic() < due:
        return due
    if n := requeue(store=store, which="deferred"):
        log.info("%s deferred messages to try again", n)
    return time.monotonic() + RETRY_DEFERRED_SECONDS


def requeue(*, store: Store, which: str) -> int:
    """Mark raw messages pending again: "deferred" ones, "quarantined" ones (deferred too), or "all"
    (clearing derived rows); return how many.

    Deferred ones keep their reason while pending: they are retries, not a backlog
    (`health.pending_raw` leaves them out of the oldest pending message's age).
    """
    return len(requeued(store=store, which=which))


def requeued(*, store: Store, which: str) -> list[int]:
    """`requeue`, returning the ids of the rows marked pending (`mailfeed reprocess` counts what became
    of them, whichever processor took them)."""
    with store.write() as session, session.begin():
        if which == "all":
            writes.clear_derived(session=session)
            q = sa.update(RawMessage).where(RawMessage.status != "deleted")  # erased by an admin: stays erased
        elif which == "deferred":
            q = sa.update(RawMessage).where(RawMessage.status == "deferred")
        else:
            q = sa.update(RawMessage).where(RawMessage.status.in_(("quarantined", "deferred")))
        cleared = {} if which == "deferred" else {"reason": ""}  # a retry keeps the reason it is tried again for
        q = q.values(status="pending", **cleared).returning(RawMessage.id)
        return list(session.scalars(q, execution_options={"synchronize_session": False}))
