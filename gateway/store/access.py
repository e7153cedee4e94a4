"""Who may read what, and the web's own writes: sessions, sign-in links, feed tokens, moderation.

Secrets are random (`secrets.token_urlsafe`) and stored only as SHA-256.
Every function runs in the caller's transaction; the caller commits.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gateway.store import search, writes
from gateway.store.models import Attachment, Blob, Entry, Feed, ForwardRecord, RawMessage, utcnow
from gateway.store.models_web import FeedAccess, FeedMember, FeedToken, Moderation, ReaderSession, SigninToken


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def matches(email: str, patterns: Iterable[str]) -> bool:
    """True when `email` is one of `patterns` (addresses) or in one of its domains."""
    email = email.lower()
    domain = email.rpartition("@")[2]
    return any(p == email or p.lstrip("@") == domain for p in patterns)


# --- private feeds --------------------------------------------------------------


def visible_feed_ids(*, session: Session, email: str | None, admin: bool) -> set[int]:
    """The feeds this reader may see: all for an admin; public ones and those they are a member of."""
    rows = session.execute(
        sa.select(Feed.id, FeedAccess.private).outerjoin(FeedAccess, FeedAccess.feed_id == Feed.id)
    ).all()
    if admin:
        return {fid for fid, _ in rows}
    private = {fid for fid, p in rows if p}
    visible = {fid for fid, _ in rows if fid not in private}
    if private and email:
        members = session.execute(
            sa.select(FeedMember.feed_id, FeedMember.pattern).where(FeedMember.feed_id.in_(private))
        ).all()
        visible |= {fid for fid, pattern in members if matches(email, [pattern])}
    return visible


def private_members(*, session: Session) -> dict[int, list[str]]:
    """Every private feed's member patterns, by feed id, in one query (a digest run checks each reader)."""
    out: dict[int, list[str]] = {
        fid: [] for fid in session.scalars(sa.select(FeedAccess.feed_id).where(FeedAccess.private))
    }
    if out:
        for fid, pattern in session.execute(sa.select(FeedMember.feed_id, FeedMember.pattern)):
            out.setdefault(fid, []).append(pattern)
    return out


def set_private(*, session: Session, feed_id: int, members: Iterable[str]) -> None:
    """Make a feed private to `members` (addresses or domains), replacing any earlier list."""
    session.execute(sa.delete(FeedAccess).where(FeedAccess.feed_id == feed_id))
    session.execute(sa.delete(FeedMember).where(FeedMember.feed_id == feed_id))
    session.add(FeedAccess(feed_id=feed_id, private=True))
    for m in sorted({m.strip().lower().lstrip("@") for m in members if m.strip()}):
        session.add(FeedMember(feed_id=feed_id, pattern=m))
    session.flush()


def set_public(*, session: Session, feed_id: int) -> None:
    session.execute(sa.delete(FeedAccess).where(FeedAccess.feed_id == feed_id))
    session.execute(sa.delete(FeedMember).where(FeedMember.feed_id == feed_id))


def members_of(*, session: Session, feed_id: int) -> list[str] | None:
    """The members of a private feed; None for a public one."""
    if session.get(FeedAccess, feed_id) is None:
        return None
    return list(
        session.scalars(sa.select(FeedMember.pattern).where(FeedMember.feed_id == feed_id).order_by(FeedMember.pattern))
    )


def all_members(*, session: Session) -> list[str]:
    """Every member pattern of every private feed (members may sign in)."""
    return list(session.scalars(sa.select(FeedMember.pattern)))


# --- sessions and sign-in links -------------------------------------------------


def new_session(*, session: Session, email: str, lifetime: timedelta) -> str:
    token = secrets.token_urlsafe(32)
    session.add(ReaderSession(token_hash=digest(token), email=email.lower(), expires_at=utcnow() + lifetime))
    session.flush()
    return token


def session_email(*, session: Session, token: str) -> str | None:
    row = session.get(ReaderSession, digest(token))
    return row.email if row is not None and row.expires_at > utcnow() else None


def end_session(*, session: Session, token: str) -> None:
    session.execute(sa.delete(ReaderSession).where(ReaderSession.token_hash == digest(token)))


def new_signin(*, session: Session, email: str, lifetime: timedelta) -> str:
    token = secrets.token_urlsafe(32)
    session.add(SigninToken(token_hash=digest(token), email=email.lower(), expires_at=utcnow() + lifetime))
    session.flush()
    return token


def signin_pending(*, session: Session, token: str) -> str | None:
    """The address a sign-in link is for, while it is unused and unexpired."""
    row = session.get(SigninToken, digest(token))
    return row.email if row is not None and row.used_at is None and row.expires_at > utcnow() else None


def use_signin(*, session: Session, token: str) -> str | None:
    """Spend a sign-in link: its address, or None if unknown, used or expired. Single use even under races."""
    now = utcnow()
    h = digest(token)
    done = session.execute(
        sa.update(SigninToken)
        .where(SigninToken.token_hash == h, SigninToken.used_at.is_(None), SigninToken.expires_at > now)  # type: ignore[union-attr]
        .values(used_at=now)
    )
    if done.rowcount != 1:
        return None
    return session.scalar(sa.select(SigninToken.email).where(SigninToken.token_hash == h))


# --- secret feed URLs -----------------------------------------------------------


@dataclass(frozen=True)
class TokenInfo:
    id: int
    email: str
    label: str
    created_at: datetime
    revoked_at: datetime | None


def new_feed_token(*, session: Session, email: str, label: str = "") -> tuple[int, str]:
    token = secrets.token_urlsafe(24)
    row = FeedToken(token_hash=digest(token), email=email.lower(), label=label)
    session.add(row)
    session.flush()
    assert row.id is not None
    return row.id, token


def feed_token_email(*, session: Session, token: str) -> str | None:
    return session.scalar(
        sa.select(FeedToken.email).where(FeedToken.token_hash == digest(token), FeedToken.revoked_at.is_(None))  # type: ignore[union-attr]
    )


def feed_tokens(*, session: Session, email: str | None = None) -> list[TokenInfo]:
    q = sa.select(FeedToken).order_by(FeedToken.id)
    if email is not None:
        q = q.where(FeedToken.email == email.lower())
    return [TokenInfo(t.id or 0, t.email, t.label, t.created_at, t.revoked_at) for t in session.scalars(q)]


def revoke_feed_token(*, session: Session, token_id: int, email: str | None = None) -> bool:
    q = sa.update(FeedToken).where(FeedToken.id == token_id, FeedToken.revoked_at.is_(None))  # type: ignore[union-attr]
    if email is not None:
        q = q.where(FeedToken.email == email.lower())
    return bool(session.execute(q.values(revoked_at=utcnow())).rowcount)


# --- moderation -----------------------------------------------------------------


def entry_thread_id(*, session: Session, entry_id: int) -> int | None:
    return session.scalar(sa.select(Entry.thread_id).where(Entry.id == entry_id))


def hide_entry(*, session: Session, entry_id: int, by: str) -> None:
    if session.get(Moderation, entry_id) is None:
        session.add(Moderation(entry_id=entry_id, action="hidden", by=by))
        session.flush()


def unhide_entry(*, session: Session, entry_id: int) -> None:
    session.execute(sa.delete(Moderation).where(Moderation.entry_id == entry_id, Moderation.action == "hidden"))


def delete_entry(*, session: Session, entry_id: int, by: str) -> bool:
    """Erase an entry and its raw message (a privacy request); the thread is recomputed.

    The raw row stays as an empty tombstone with status "deleted": the same
    bytes delivered again stay deduplicated, and reprocessing skips it.
    """
    entry = session.get(Entry, entry_id)
    if entry is None:
        return False
    search.remove_entry(session=session, entry_id=entry_id)
    raw_ids = {
        entry.raw_id,
        *session.scalars(sa.select(ForwardRecord.raw_id).where(ForwardRecord.entry_id == entry_id)),
    }
    shas = set(session.scalars(sa.select(Attachment.sha256).where(Attachment.entry_id == entry_id)))
    session.execute(sa.delete(Attachment).where(Attachment.entry_id == entry_id))
    session.execute(sa.delete(ForwardRecord).where(ForwardRecord.entry_id == entry_id))
    still_used = set(session.scalars(sa.select(Attachment.sha256).where(Attachment.sha256.in_(shas))))
    session.execute(sa.delete(Blob).where(Blob.sha256.in_(shas - still_used)))
    session.execute(
        sa.update(RawMessage)
        .where(RawMessage.id.in_(raw_ids))  # type: ignore[union-attr]
        .values(data=b"", size=0, status="deleted", reason=f"deleted by {by}")
    )
    thread_id = entry.thread_id
    session.delete(entry)
    session.flush()
    writes.refresh_thread(session=session, thread_id=thread_id)
    session.execute(sa.delete(Moderation).where(Moderation.entry_id == entry_id))
    session.add(Moderation(entry_id=entry_id, action="deleted", by=by))
    return True
