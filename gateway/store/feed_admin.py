"""Changing and removing a feed (`mailfeed feed edit`, `mailfeed feed remove`).

A feed is removed with everything that belongs to it or to nothing else:
its raw messages, threads, entries and their search rows, attachments whose
bytes no other feed holds, forwards, moderation, muted threads, subscriptions
and their digests, IMAP sources and cursors, policy and members. Readers,
their sessions and feed keys stay: they read other feeds too. Every function
runs in the caller's transaction; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gateway.store import search
from gateway.store.models import Attachment, Blob, Entry, Feed, ForwardRecord, MessageRef, RawMessage, Thread
from gateway.store.models_digest import DigestRun, MutedThread, Notice, Subscription
from gateway.store.models_imap import ImapCursor, ImapSource
from gateway.store.models_policy import FeedPolicy
from gateway.store.models_web import FeedAccess, FeedMember, Moderation


class FeedInUse(Exception):
    """The feed cannot be changed or removed as asked; the message says why and what to do."""


def edit_feed(*, session: Session, feed: Feed, address: str | None, title: str | None) -> None:
    """A new address (another feed's is refused) and/or title; the slug stays, since URLs carry it."""
    if address is not None and address.lower() != feed.address:
        clash = session.scalar(sa.select(Feed).where(Feed.address == address.lower(), Feed.id != feed.id))
        if clash is not None:
            raise FeedInUse(f"<{address.lower()}> is the address of feed {clash.slug!r}")
        feed.address = address.lower()
    if title is not None:
        feed.title = title or feed.slug
    session.add(feed)


@dataclass(frozen=True)
class Removed:
    """What went with the feed, for the command to say."""

    messages: int
    threads: int
    subscriptions: int
    sources: int


def remove_feed(*, session: Session, feed: Feed, with_mail: bool) -> Removed:
    """Delete `feed`; its stored mail only `with_mail`, and never while some of it waits to be processed.

    A message still pending would be placed by a running processor into a
    feed that is gone; the admin tries again once `serve` has processed it.
    """
    assert feed.id is not None
    fid = feed.id
    held = session.scalar(sa.select(sa.func.count()).where(RawMessage.feed_id == fid)) or 0
    if held and not with_mail:
        raise FeedInUse(
            f"feed {feed.slug!r} holds {held} stored message{'s' if held != 1 else ''}; "
            f"`mailfeed feed remove {feed.slug} --delete-mail` deletes them with the feed, for good"
        )
    pending = session.scalar(
        sa.select(sa.func.count()).where(RawMessage.feed_id == fid, RawMessage.status == "pending")
    )
    if pending:
        raise FeedInUse(
            f"feed {feed.slug!r} has {pending} message{'s' if pending != 1 else ''} waiting to be processed; "
            "try again once `mailfeed serve` has processed them"
        )
    entries = sa.select(Entry.id).where(Entry.feed_id == fid)
    threads = sa.select(Thread.id).where(Thread.feed_id == fid)
    sources = sa.select(ImapSource.id).where(ImapSource.feed_id == fid)
    thread_count = session.scalar(sa.select(sa.func.count()).select_from(threads.subquery())) or 0
    search.clear_index(session=session, feed_id=fid)
    # bytes stored once for every feed that has them: those no other feed's attachment names go
    theirs = sa.select(Attachment.sha256).where(Attachment.entry_id.in_(entries))
    others = sa.select(Attachment.sha256).where(Attachment.entry_id.not_in(entries))
    session.execute(sa.delete(Blob).where(Blob.sha256.in_(theirs), Blob.sha256.not_in(others)))
    for owned in (Attachment, ForwardRecord, Moderation):
        session.execute(sa.delete(owned).where(owned.entry_id.in_(entries)))
    session.execute(sa.delete(MutedThread).where(MutedThread.thread_id.in_(threads)))
    session.execute(sa.delete(DigestRun).where(DigestRun.feed_id == fid))  # before the subscriptions they name
    subscription_count = session.execute(sa.delete(Subscription).where(Subscription.feed_id == fid)).rowcount
    session.execute(sa.delete(ImapCursor).where(ImapCursor.source_id.in_(sources)))
    source_count = session.execute(sa.delete(ImapSource).where(ImapSource.feed_id == fid)).rowcount
    for model in (Entry, MessageRef, Thread, RawMessage, Notice, FeedPolicy, FeedAccess, FeedMember):
        session.execute(sa.delete(model).where(model.feed_id == fid))
    session.execute(sa.delete(Feed).where(Feed.id == fid))
    return Removed(held, thread_count, subscription_count or 0, source_count or 0)
