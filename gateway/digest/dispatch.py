"""Dispatch: the digest steps in order — claim, collect, render, send, mark.

`send_due` is what the scheduler in `mailfeed serve` and `mailfeed digest send`
call. Claims are one short transaction; then, batch by batch, digests are
composed and sent over a few connections at once, each relay answer committed
before its connection sends the next digest (recorder.py).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import formataddr

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gateway import keys
from gateway.config import Settings
from gateway.digest import collect, runs
from gateway.digest.notices import send_notices
from gateway.digest.recorder import Group, GroupRecorder
from gateway.digest.render import BlockCache, Envelope, Links, Rendered, render
from gateway.digest.schedule import Due, latest_due, zone
from gateway.digest.send import Outcome, Outgoing, RelayRefused, relay_from_url, run_sync, send_parallel
from gateway.store import access, digest_writes
from gateway.store.db import Store
from gateway.store.models import Feed
from gateway.store.models_digest import DigestRun, MutedThread, Reader, Subscription

log = logging.getLogger(__name__)
BATCH = 200


@dataclass
class Report:
    counts: Counter[str] = field(default_factory=Counter)
    previews: list[bytes] = field(default_factory=list)


@dataclass(frozen=True)
class Job:
    run: DigestRun
    sub: Subscription
    reader: Reader
    feed: Feed


def send_due(
    *,
    store: Store,
    settings: Settings,
    now: datetime,
    instance: str,
    force: bool = False,
    dry_run: bool = False,
    only: str | None = None,
    send: Callable[..., object] = send_parallel,
) -> Report:
    """Send every digest due at `now` (or, with force, every reader's now); return what happened."""
    started = time.monotonic()
    report = Report()
    cache: Cache = {}
    with store.write() as session, session.begin():
        key = digest_writes.signing_key(session, settings.secret_key)
    if dry_run:
        with store.read() as session:
            for sub, reader, feed in _subscriptions(session, only):
                due = _due(sub, now, force)
                if due is not None:
                    run = DigestRun(
                        id=0,
                        subscription_id=sub.id,
                        reader_id=reader.id,
                        feed_id=feed.id,
                        period=due.period,
                        due_at=due.due_at,
                        cursor_from=sub.cursor,
                        cursor_to=collect.safe_upper_bound(session),
                    )
                    context = _Context.load(session, [Job(run, sub, reader, feed)])
                    found = _compose(session, Job(run, sub, reader, feed), settings, key, now, cache, context)
                    if found is not None:
                        report.previews.append(found[0].data)
        return report
    jobs = _claim(store, now=now, instance=instance, force=force, only=only, report=report)
    report.counts["claimed"] = len(jobs)
    _send_all(store, settings, key, now, jobs, report, send, cache, instance=instance, started=started)
    report.counts["notices"] = send_notices(
        store=store, settings=settings, now=now, base_url=settings.public_url, send=send
    )
    return report


def _subscriptions(session: Session, only: str | None) -> list[tuple[Subscription, Reader, Feed]]:
    q = (
        sa.select(Subscription, Reader, Feed)
        .join(Reader, Reader.id == Subscription.reader_id)
        .join(Feed, Feed.id == Subscription.feed_id)
        .where(Subscription.every != "off", Reader.disabled.is_(False))
        .order_by(Subscription.id)
    )
    if only:
        q = q.where(Reader.email == only.lower())
    return [tuple(r) for r in session.execute(q).all()]  # type: ignore[misc]


def _due(sub: Subscription, now: datetime, force: bool) -> Due | None:
    if force:
        return Due(f"now-{now:%Y%m%d%H%M}", now)
    due = latest_due(every=sub.every, weekday=sub.weekday, at=sub.at, tz=sub.tz, now=now)
    # a period that fell due before the reader subscribed is not theirs
    return due if due is not None and due.due_at >= sub.created_at else None


def _claim(store: Store, *, now: datetime, instance: str, force: bool, only: str | None, report: Report) -> list[Job]:
    """Claim what is due; `report` counts, as "already", what another run claimed for the same period
    (an instance beside this one, or `--now` run twice within a minute), as "waiting" what waits for
    an earlier digest of the same reader still being sent, and as "superseded" the earlier digests
    waiting for a retry that a new one took over (runs.claim)."""
    with store.write() as session, session.begin():
        upto = collect.safe_upper_bound(session)
        due = [
            runs.Due(sub, d.period, d.due_at)
            for sub, _reader, _feed in _subscriptions(session, only)
            if (d := _due(sub, now, force)) is not None
        ]
        claimed = runs.claim(session, due=due, now=now, instance=instance, cursor_to=upto)
        ids = list(claimed.ids)
        report.counts["already"] += len(due) - len(ids) - claimed.waiting
        report.counts["waiting"] += claimed.waiting
        report.counts["superseded"] += claimed.superseded
        ids += [
            r for r in runs.reclaimable(session, now=now) if runs.reclaim(session, run_id=r, now=now, instance=instance)
        ]
    with store.read() as session:
        rows = session.execute(
            sa.select(DigestRun, Subscription, Reader, Feed)
            .join(Subscription, Subscription.id == DigestRun.subscription_id)
            .join(Reader, Reader.id == DigestRun.reader_id)
            .join(Feed, Feed.id == DigestRun.feed_id)
            .where(DigestRun.id.in_(ids))  # type: ignore[union-attr]
            .order_by(DigestRun.id)
        ).all()
    return [Job(*r) for r in rows]


@dataclass
class _Context:
    """Per-reader facts for a batch of jobs, read in two queries instead of two per reader."""

    muted: dict[int, set[int]]
    replaced: dict[int, int]
    blocks: BlockCache = field(default_factory=dict)
    replies: dict[tuple[str, int], str] = field(default_factory=dict)  # a thread's reply address, same for all
    private_feeds: dict[int, list[str]] | None = None  # private feeds' members, read once a batch

    def private(self, session: Session) -> dict[int, list[str]]:
        if self.private_feeds is None:
            self.private_feeds = access.private_members(session=session)
        return self.private_feeds

    def reply_address(self, key: str, feed: Feed, thread_id: int) -> str:
        found = self.replies.get((feed.address, thread_id))
        if found is None:
            found = keys.sub_address(feed.address, keys.sign(key, "r", str(thread_id)))
            self.replies[(feed.address, thread_id)] = found
        return found

    @classmethod
    def load(cls, session: Session, jobs: list[Job]) -> _Context:
        ids = [j.reader.id for j in jobs]
        muted: dict[int, set[int]] = {}
        for reader_id, thread_id in session.execute(
            sa.select(MutedThread.reader_id, MutedThread.thread_id).where(MutedThread.reader_id.in_(ids))
        ):
            muted.setdefault(reader_id, set()).add(thread_id)
        replaced = {
            reader_id: int(total or 0)
            for reader_id, total in session.execute(
                sa.select(DigestRun.reader_id, sa.func.sum(DigestRun.entry_count))
                .where(DigestRun.reader_id.in_(ids), DigestRun.status == "sent")
                .group_by(DigestRun.reader_id)
            )
        }
        return cls(muted, replaced)


Composed = list[tuple[Job, tuple[Rendered, int]]]


def _send_all(
    store: Store,
    settings: Settings,
    key: str,
    now: datetime,
    jobs: list[Job],
    report: Report,
    send: Callable[..., object],
    cache: Cache,
    *,
    instance: str,
    started: float,
) -> None:
    """Send the claimed runs batch by batch, renewing each batch's claims first (runs.renew)."""
    for start in range(0, len(jobs), BATCH):
        chunk = jobs[start : start + BATCH]
        at = now + timedelta(seconds=time.monotonic() - started)  # `now` runs on while we send
        with store.write() as session, session.begin():
            mine = runs.renew(session, run_ids=[j.run.id or 0 for j in chunk], now=at, instance=instance)
        if len(mine) < len(chunk):
            log.warning("%d digests were taken back by another instance after the lease", len(chunk) - len(mine))
        outgoing = _prepare(store, settings, key, now, [j for j in chunk if j.run.id in mine], report, cache)
        if outgoing:
            _deliver(store, settings, key, now, outgoing, report, send)


def _prepare(
    store: Store, settings: Settings, key: str, now: datetime, jobs: list[Job], report: Report, cache: Cache
) -> Composed:
    """Compose a batch; mark the runs with nothing to send skipped; the digests to send."""
    composed: list[tuple[Job, tuple[Rendered, int] | None]] = []
    with store.read() as session:
        context = _Context.load(session, jobs)
        for job in jobs:
            composed.append((job, _compose(session, job, settings, key, now, cache, context)))
    skipped = [job.run for job, found in composed if found is None]
    if skipped:
        with store.write() as session, session.begin():
            runs.mark_skipped(session, runs=skipped, now=now)
        report.counts["skipped"] += len(skipped)
    return [(job, found) for job, found in composed if found is not None]


def _deliver(
    store: Store,
    settings: Settings,
    key: str,
    now: datetime,
    outgoing: Composed,
    report: Report,
    send: Callable[..., object],
) -> None:
    """Send a composed batch, each outcome committed before its connection sends the next (recorder.py)."""

    def mark(group: Group) -> None:
        answered = [
            (job, found, outcome)
            for start, outcomes in group
            for (job, found), outcome in zip(outgoing[start:], outcomes, strict=False)
        ]
        sent = [
            runs.Sent(job.run, rendered.message_id, count)
            for job, (rendered, count), o in answered
            if o.status == "sent"
        ]
        with store.write() as session, session.begin():
            runs.mark_sent(session, sent=sent, now=now)
            for job, _, outcome in answered:
                if outcome.status != "sent":
                    _mark_failed(session, job, outcome, now)
        report.counts.update(o.status for _, _, o in answered)  # counted once committed

    if not settings.relay_url:
        mark([(0, [Outcome("temporary", 0, "MAILFEED_RELAY_URL is not set") for _ in outgoing])])
        return
    try:
        relay = relay_from_url(settings.relay_url)
    except RelayRefused as exc:  # nothing goes out; each digest waits for a relay it may use
        log.error("%s", exc)
        mark([(0, [Outcome("temporary", 0, str(exc)) for _ in outgoing])])
        return
    batch = [Outgoing(found[0].data, _return_path(key, job), job.reader.email) for job, found in outgoing]
    with GroupRecorder(mark) as recorder:
        run_sync(send(relay, batch, checkpoint=recorder.checkpoint))


def _mark_failed(session: Session, job: Job, outcome: Outcome, now: datetime) -> None:
    # the relay's reply, or what kept us from one (code 0: no connection, no reply to show)
    said = f"{outcome.code} {outcome.detail}" if outcome.code else outcome.detail
    if outcome.status == "temporary":
        runs.mark_retry(session, run=job.run, now=now, error=said)
        log.warning("digest %s to reader %s: will retry: %s", job.run.id, job.reader.id, said)
    else:
        runs.mark_bounced(session, run=job.run, error=said)
        log.warning("digest %s to reader %s bounced: %s", job.run.id, job.reader.id, said)


def _return_path(key: str, job: Job) -> str:
    """VERP: a bounce comes back to an address that names the reader (and is signed)."""
    return keys.sub_address(job.feed.address, keys.sign(key, "b", str(job.reader.id)))


Cache = dict[tuple[int, int, int], list[collect.NewEntry]]


def _compose(
    session: Session, job: Job, settings: Settings, key: str, now: datetime, cache: Cache, context: _Context
) -> tuple[Rendered, int] | None:
    """The digest for one claimed run and the count of emails it replaces; None when there is
    nothing new and the reader skips empty digests.

    Readers of a feed mostly share a cursor range, so its new entries are read once per run (`cache`).
    """
    run, sub, reader, feed = job.run, job.sub, job.reader, job.feed
    members = context.private(session).get(feed.id or 0)
    if members is not None and not access.matches(reader.email, [*members, *settings.admin_addresses]):
        return None  # a private feed's reader no longer a member (or never one): nothing of it is sent
    cache_key = (feed.id or 0, run.cursor_from, run.cursor_to)
    entries = cache.get(cache_key)
    if entries is None:
        entries = collect.new_entries(session, feed_id=feed.id or 0, after=run.cursor_from, upto=run.cursor_to)
        cache[cache_key] = entries
    muted = context.muted.get(reader.id or 0, set())
    only = None
    if sub.only_mine:
        only = collect.threads_written_by(
            session, feed_id=feed.id or 0, address=reader.email, thread_ids=list({e.thread_id for e in entries})
        )
    got = collect.select(entries, reader=reader.email, muted=muted, only=only)
    if not got.items and sub.skip_empty:
        return None
    url = settings.public_url
    domain = (settings.digest_from or feed.address).rpartition("@")[2]
    rendered = render(
        feed={"slug": feed.slug, "title": feed.title, "address": feed.address},
        collected=got,
        reply_address={i.thread_id: context.reply_address(key, feed, i.thread_id) for i in got.items},
        mute_url={i.thread_id: f"{url}/mute/{keys.sign(key, 'm', f'{reader.id}.{i.thread_id}')}" for i in got.items},
        links=Links(
            base_url=url,
            feed_url=f"{url}/f/{feed.slug}",
            prefs_url=f"{url}/prefs/{keys.sign(key, 'p', str(sub.id))}",
            unsubscribe_url=f"{url}/unsubscribe/{keys.sign(key, 'u', str(sub.id))}",
            unsubscribe_mailto="mailto:" + keys.sub_address(feed.address, keys.sign(key, "u", str(sub.id))),
        ),
        env=Envelope(
            sender=formataddr((feed.title, settings.digest_from or feed.address)),
            return_path=_return_path(key, job),
            to=reader.email,
            reply_to=keys.sub_address(feed.address, keys.sign(key, "d", str(reader.id))),
            message_id=f"<digest.{sub.id}.{run.period}@{domain}>",
            list_id=formataddr((feed.title, f"{feed.slug}.{domain}")),
        ),
        period_label=_label(run.period, sub.tz),
        total_replaced=context.replaced.get(reader.id or 0, 0) + got.entry_count,
        now=now,
        cache=context.blocks,
    )
    return rendered, got.entry_count


def _label(period: str, tz: str) -> str:
    """A day, a week, or for a digest sent on demand its moment in the reader's time zone."""
    if period.startswith("now-"):
        at = datetime.strptime(period, "now-%Y%m%d%H%M").replace(tzinfo=UTC).astimezone(zone(tz))
        return at.strftime("%A %-d %B %Y, %H:%M")
    if "-W" in period:
        year, week = period.split("-W")
        return f"week {int(week)}, {year}"
    return datetime.fromisoformat(period).strftime("%A %-d %B %Y")
