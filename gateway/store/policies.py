"""Reads and writes of feed posting policies (see gateway/policy.py)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gateway.config import Settings
from gateway.policy import Policy, effective
from gateway.store.models import Feed
from gateway.store.models_policy import FeedPolicy
from gateway.store.models_web import FeedMember


def feed_policies(session: Session, settings: Settings) -> dict[int, Policy]:
    """The effective policy of every feed."""
    rows = {p.feed_id: p for p in session.scalars(sa.select(FeedPolicy))}
    members: dict[int, list[str]] = {}
    for feed_id, pattern in session.execute(sa.select(FeedMember.feed_id, FeedMember.pattern)):
        members.setdefault(feed_id, []).append(pattern)
    out = {}
    for feed_id in session.scalars(sa.select(Feed.id)):
        row = rows.get(feed_id) or FeedPolicy(feed_id=feed_id)
        out[feed_id] = effective(
            senders=row.senders,
            members=members.get(feed_id, []),
            members_only=row.members_only,
            unknown=row.unknown,
            default_allowed=settings.allowed,
            default_unknown=settings.unknown_senders,
        )
    return out


def set_policy(session: Session, *, feed_id: int, senders: str, members_only: bool, unknown: str) -> None:
    row = session.get(FeedPolicy, feed_id)
    if row is None:
        row = FeedPolicy(feed_id=feed_id)
        session.add(row)
    row.senders, row.members_only, row.unknown = senders, members_only, unknown
