"""Step 8 for one message: what its analysis becomes once committed.

A post or a comment (`place.place_and_save`), or a status with its reason:
ignored, held, quarantined, deferred (DNS could not answer: tried again later),
or mail to a digest's own addresses (a bounce, an unsubscribe request, a reply),
or mail to postmaster, which is kept in quarantine for the admin (ingest/smtp.py).
`pipeline._commit_batch` runs it for each message of a batch, in one transaction.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa

from gateway import keys
from gateway.analysis import Analysis, Failure
from gateway.config import Settings
from gateway.place import Later, log_fields, place_and_save
from gateway.store import digest_writes, writes
from gateway.store.models import Feed, utcnow

log = logging.getLogger("gateway.pipeline")  # one logger for the whole way a message takes

# A message whose sender's DNS cannot answer (DMARC's record: a timeout, SERVFAIL)
# is "deferred": processors try it again every RETRY_DEFERRED_SECONDS, for
# DEFER_FOR after it came, and then quarantine it with the reason.
DEFER_FOR, DEFER_FOR_WORDS = timedelta(days=1), "a day"
RETRY_DEFERRED_SECONDS = 300
POSTMASTER = "addressed to postmaster"


class PlaceFailed(Exception):
    """Placing one message of a batch failed: do the batch again, each message on its own savepoint."""


def commit_one(
    session: sa.orm.Session,
    row: sa.Row,
    result: Analysis | Failure,
    settings: Settings,
    key: str,
    status: str | None,
    isolate: bool,
    later: Later,
) -> str:
    """Commit what `result` makes of `row` (its `status` as read under lock); return the outcome counted.

    Outside `isolate`, a post's rows wait in `later` and a placing error raises PlaceFailed (the
    batch is done again isolated); isolated, all of one message's writes sit in a savepoint, and
    a placing error quarantines that message alone.
    """
    if status != "pending":
        return "skipped"
    if _for_postmaster(session, row):
        return _quarantine(session, row.id, POSTMASTER, getattr(result, "message_id", None))
    if isinstance(result, Failure):
        reason = f"{result.step}: {result.reason}"
        mid = result.message_id
        if not result.retry:
            return _quarantine(session, row.id, reason, mid)
        if utcnow() - row.received_at < DEFER_FOR:
            return _defer(session, row.id, reason, mid)
        return _quarantine(session, row.id, f"{reason}, still {DEFER_FOR_WORDS} after it came", mid)
    tag = _tag(row.envelope_to, key)
    if tag is not None and tag[0] in ("b", "u", "d"):
        return _digest_mail(session, row, result, tag)
    if result.verdict.action != "post":
        status = "ignored" if result.verdict.action == "ignore" else "held"
        writes.set_raw_status(
            session=session, raw_id=row.id, status=status, reason=result.verdict.reason, message_id=result.message_id
        )
        log.info(
            "<%s> %s: %s",
            result.message_id,
            status,
            result.verdict.reason,
            extra=log_fields(row, result.message_id),
        )
        return status
    reply_thread = int(tag[1]) if tag is not None and tag[0] == "r" else None
    if not isolate:
        try:
            return place_and_save(session, row, result, settings, reply_thread, later)
        except Exception as exc:  # the whole batch, `later` too, is done again isolated
            raise PlaceFailed from exc
    try:  # isolated: everything of this message inside its savepoint
        with session.begin_nested():
            mine = Later()
            outcome = place_and_save(session, row, result, settings, reply_thread, mine)
            mine.write(session)
            return outcome
    except Exception as exc:
        log.exception(
            "<%s> place/commit failed",
            result.message_id,
            extra=log_fields(row, result.message_id),
        )
        return _quarantine(session, row.id, f"place: {type(exc).__name__}: {exc}")


def to_postmaster(address: str) -> bool:
    """True for `postmaster` and postmaster@ any domain, in any case (RFC 5321 4.5.1)."""
    local, at, domain = address.strip().lower().rpartition("@")
    return (local if at else domain) == "postmaster"


def _for_postmaster(session: sa.orm.Session, row: sa.Row) -> bool:
    """SMTP mail for postmaster alone, which is nobody's post. Decided here, not when it is saved, so
    that `reprocess` keeps it back again; a feed whose own address is postmaster@… posts it as any."""
    to = [a.strip().lower() for a in row.envelope_to.split(",") if a.strip()]
    if row.source != "smtp" or not to or not all(map(to_postmaster, to)):
        return False
    feed = session.get(Feed, row.feed_id)
    return feed is None or feed.address not in to


def _tag(envelope_to: str, key: str) -> tuple[str, str] | None:
    """The first valid mailfeed token among the envelope recipients (team+r-12-…@…)."""
    for address in envelope_to.split(","):
        _, tag = keys.split_sub_address(address)
        parsed = keys.parse(key, tag) if tag else None
        if parsed is not None:
            return parsed
    return None


def _digest_mail(session: sa.orm.Session, row: sa.Row, a: Analysis, tag: tuple[str, str]) -> str:
    """Mail to a digest's own addresses: a bounce, an unsubscribe request, or a reply to the digest.

    None of it is posted. A person replying to a digest as a whole gets one
    polite explanation per day (queued here, sent by the digest side); an
    auto-reply or a bounce gets none.
    """
    kind, payload = tag
    if kind == "b":
        digest_writes.record_bounce(session, reader_id=int(payload), reason="bounce to the digest return path")
        reason = f"bounce of a digest to reader {payload}"
    elif kind == "u":
        digest_writes.turn_off(session, subscription_id=int(payload))
        reason = f"unsubscribe request (subscription {payload})"
    elif a.verdict.action == "ignore":
        reason = f"reply to a digest, {a.verdict.reason}: not posted, no notice"
    else:
        day = row.received_at.date().isoformat()
        queued = digest_writes.queue_notice(
            session, kind="digest-reply", recipient=a.content.author.address, day=day, feed_id=row.feed_id
        )
        reason = "reply to a digest: not posted; " + ("notice queued" if queued else "notice already sent today")
    writes.set_raw_status(session=session, raw_id=row.id, status="ignored", reason=reason, message_id=a.message_id)
    log.info(
        "<%s> %s",
        a.message_id,
        reason,
        extra=log_fields(row, a.message_id),
    )
    return "ignored"


def _quarantine(session: sa.orm.Session, raw_id: int, reason: str, message_id: str | None = None) -> str:
    writes.set_raw_status(session=session, raw_id=raw_id, status="quarantined", reason=reason, message_id=message_id)
    log.warning("raw %s quarantined: %s", raw_id, reason, extra={"raw_id": raw_id})
    return "quarantined"


def _defer(session: sa.orm.Session, raw_id: int, reason: str, message_id: str | None) -> str:
    reason = f"{reason}; tried again every {RETRY_DEFERRED_SECONDS // 60} minutes for {DEFER_FOR_WORDS} after it came"
    writes.set_raw_status(session=session, raw_id=raw_id, status="deferred", reason=reason, message_id=message_id)
    log.warning("raw %s deferred: %s", raw_id, reason, extra={"raw_id": raw_id})
    return "deferred"
