"""Writes to the digest tables that the ingest side makes too.

Mail that comes back to a tagged address (gateway/keys.py) acts on digests:
a bounce counts against a reader, an unsubscribe request turns a subscription
off, a reply to a digest queues one polite notice per sender and day. The
signing key behind those tags is kept here so ingest and digest share it.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from gateway.store.models_digest import Notice, Reader, Secret, Subscription

HARD_BOUNCES_TO_DISABLE = 3


def dialect(session: Session):
    """The dialect module whose insert() knows ON CONFLICT (PostgreSQL's or SQLite's)."""
    return postgresql if session.get_bind().dialect.name == "postgresql" else sqlite


def signing_key(session: Session, configured: str) -> str:
    """SECRET_KEY, or a random key made once and kept in the database for every instance."""
    if configured:
        return configured
    session.execute(
        dialect(session)
        .insert(Secret)
        .values(name="signing", value=secrets.token_hex(32))
        .on_conflict_do_nothing(index_elements=["name"])
    )
    return str(session.scalar(sa.select(Secret.value).where(Secret.name == "signing")))


def record_bounce(session: Session, *, reader_id: int, reason: str) -> None:
    """Count a hard bounce; enough of them disable the reader's digests."""
    session.execute(sa.update(Reader).where(Reader.id == reader_id).values(hard_bounces=Reader.hard_bounces + 1))
    session.execute(
        sa.update(Reader)
        .where(Reader.id == reader_id, Reader.hard_bounces >= HARD_BOUNCES_TO_DISABLE, Reader.disabled.is_(False))
        .values(disabled=True, disabled_reason=f"{HARD_BOUNCES_TO_DISABLE} hard bounces, last: {reason[:200]}")
    )


def turn_off(session: Session, *, subscription_id: int) -> bool:
    result = session.execute(
        sa.update(Subscription)
        .where(Subscription.id == subscription_id, Subscription.every != "off")
        .values(every="off")
    )
    return bool(result.rowcount)


def queue_notice(session: Session, *, kind: str, recipient: str, day: str, feed_id: int) -> bool:
    """Queue a notice unless one of this kind went to this recipient today; True when queued."""
    inserted = session.scalar(
        dialect(session)
        .insert(Notice)
        .values(kind=kind, recipient=recipient.lower(), day=day, feed_id=feed_id, status="pending")
        .on_conflict_do_nothing(index_elements=["kind", "recipient", "day"])
        .returning(Notice.id)
    )
    return inserted is not None
