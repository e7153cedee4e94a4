"""Reads and writes of IMAP sources and their cursors (tables in store/models_imap.py).

Functions that take a `session` run inside the caller's transaction; those
that take a `store` open their own short one. The cursor only moves forward
within one UIDVALIDITY, so two instances following the same source cannot
move it back.

Messages a pass refused (over the limits) are noted in the source's
`last_error` ("UID 7 not stored: 552 5.3.4 …; left in INBOX"), where `mailfeed
imap status` and /healthz show it; every one is kept, with its size, in the
`skipped` column (imap_refusals.py). The note stays, through connection
errors too, until a pass finds none of them refused any more (stored, or gone
from the folder).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import unquote

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from gateway.ingest.imap_refusals import refusal_part
from gateway.store.db import Store
from gateway.store.models import Feed, RawMessage, utcnow
from gateway.store.models_imap import ImapCursor, ImapSource


@dataclass(frozen=True)
class Source:
    """A source as the ingest side needs it (no password: only where to find it)."""

    id: int
    feed_id: int
    feed_slug: str
    url: str
    password_file: str
    password_env: str
    after: str

    @property
    def label(self) -> str:
        """How log lines and errors name the source."""
        return f"IMAP source {self.id} ({readable_url(self.url)}) of feed {self.feed_slug}"

    @property
    def password_origin(self) -> str:
        return f"file {self.password_file}" if self.password_file else f"environment variable {self.password_env}"


@dataclass(frozen=True)
class Status:
    source: Source
    uidvalidity: int | None
    last_uid: int | None
    last_ok_at: datetime | None
    last_error: str
    last_error_at: datetime | None
    lease_holder: str  # "" when free
    lease_expires_at: datetime | None


class SourceExists(Exception):
    """The feed follows this URL already."""


def readable_url(url: str) -> str:
    """A stored URL with its folder as text ("…/Entwürfe", stored as "…/Entw%C3%BCrfe"), for people to read.

    A folder with a control character stays encoded: `imap status` lines are tab-separated.
    """
    scheme, sep, rest = url.partition("://")
    netloc, slash, path = rest.partition("/")
    folder = unquote(path)
    return f"{scheme}{sep}{netloc}{slash}{folder}" if folder.isprintable() else url


def add_source(*, session: Session, feed_id: int, url: str, password_file: str, password_env: str, after: str) -> int:
    clash = session.scalar(
        sa.select(ImapSource.id).where(ImapSource.feed_id == feed_id, ImapSource.url == url)  # type: ignore[call-overload]
    )
    if clash is not None:
        raise SourceExists(f"this feed follows {url} already (source {clash})")
    src = ImapSource(feed_id=feed_id, url=url, password_file=password_file, password_env=password_env, after=after)
    session.add(src)
    session.flush()
    assert src.id is not None
    return src.id


def change_source(
    *, session: Session, src: Source, url: str, password_file: str, password_env: str, after: str
) -> None:
    """Set the columns `mailfeed imap edit` changes; raises SourceExists when another source of the feed has `url`."""
    clash = session.scalar(
        sa.select(ImapSource.id).where(  # type: ignore[call-overload]
            ImapSource.feed_id == src.feed_id, ImapSource.url == url, ImapSource.id != src.id
        )
    )
    if clash is not None:
        raise SourceExists(f"this feed follows {readable_url(url)} already (source {clash})")
    session.execute(
        sa.update(ImapSource)
        .where(ImapSource.id == src.id)  # type: ignore[arg-type]
        .values(url=url, password_file=password_file, password_env=password_env, after=after)
    )


def remove_source(*, session: Session, source_id: int) -> str:
    """Delete a source with its cursor (and its lease, columns of its row); return who held the lease, "" if none.

    The row is locked first, so a follower's batch that holds the lease either
    commits before (its cursor row is then deleted too) or finds the row gone
    and rolls back (LeaseLost): no cursor outlives its source.
    """
    c = ImapSource.__table__.c  # type: ignore[attr-defined]
    row = session.execute(
        sa.select(c.lease_holder, c.lease_expires_at).where(c.id == source_id).with_for_update()
    ).first()
    session.execute(sa.delete(ImapCursor).where(ImapCursor.source_id == source_id))  # type: ignore[arg-type]
    session.execute(sa.delete(ImapSource).where(ImapSource.id == source_id))  # type: ignore[arg-type]
    held = row is not None and row[0] and row[1] is not None and row[1] > utcnow()
    return str(row[0]) if row is not None and held else ""


def stored_count(*, session: Session, feed_id: int, user: str) -> int:
    """Messages the feed has from IMAP as `user`: a raw row keeps the account it came from, not the source."""
    r = RawMessage.__table__.c  # type: ignore[attr-defined]
    found = session.scalar(
        sa.select(sa.func.count()).where(r.feed_id == feed_id, r.source == "imap", r.envelope_to == user)
    )
    return int(found or 0)


def _sources(session: Session, source_id: int | None = None) -> list[tuple[Source, ImapSource]]:
    q = (
        sa.select(ImapSource, Feed.slug)  # type: ignore[call-overload]
        .join(Feed, Feed.id == ImapSource.feed_id)
        .order_by(ImapSource.id)
    )
    if source_id is not None:
        q = q.where(ImapSource.id == source_id)
    return [
        (Source(s.id, s.feed_id, slug, s.url, s.password_file, s.password_env, s.after), s)
        for s, slug in session.execute(q)
    ]


def list_sources(*, session: Session) -> list[Source]:
    return [s for s, _ in _sources(session)]


def get_source(*, session: Session, source_id: int) -> Source | None:
    found = _sources(session, source_id)
    return found[0][0] if found else None


def statuses(*, session: Session) -> list[Status]:
    cursors = {c.source_id: c for c in session.scalars(sa.select(ImapCursor))}
    out = []
    for src, row in _sources(session):
        c = cursors.get(src.id)
        out.append(
            Status(
                src,
                c.uidvalidity if c else None,
                c.last_uid if c else None,
                row.last_ok_at,
                row.last_error,
                row.last_error_at,
                row.lease_holder,
                row.lease_expires_at,
            )
        )
    return out


def load_cursor(*, session: Session, source_id: int) -> tuple[int, int] | None:
    """(UIDVALIDITY, last UID committed), or None before the first sync."""
    row = session.execute(
        sa.select(ImapCursor.uidvalidity, ImapCursor.last_uid).where(ImapCursor.source_id == source_id)  # type: ignore[call-overload]
    ).first()
    return (int(row[0]), int(row[1])) if row else None


def reset_cursor(*, session: Session, source_id: int, uidvalidity: int) -> None:
    """Start over under a new UIDVALIDITY: nothing of the folder is committed yet."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    table = ImapCursor.__table__  # type: ignore[attr-defined]
    session.execute(
        dialect.insert(table)
        .values(source_id=source_id, uidvalidity=uidvalidity, last_uid=0, updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=["source_id"])
    )
    session.execute(
        sa.update(ImapCursor)
        .where(ImapCursor.source_id == source_id)  # type: ignore[arg-type]
        .values(uidvalidity=uidvalidity, last_uid=0, updated_at=utcnow())
    )


def advance_cursor(*, session: Session, source_id: int, uidvalidity: int, last_uid: int) -> None:
    c = ImapCursor.__table__.c  # type: ignore[attr-defined]
    session.execute(
        sa.update(ImapCursor)
        .where(c.source_id == source_id, c.uidvalidity == uidvalidity, c.last_uid < last_uid)
        .values(last_uid=last_uid, updated_at=utcnow())
    )


def mark_ok(*, store: Store, source_id: int, note: str = "") -> None:
    """A pass that ended well; `note` (a `refusal_note`) stays as the last error, else it is cleared."""
    with store.write() as session, session.begin():
        done = {"last_ok_at": utcnow(), "last_error": note[:ERROR_CHARS]}
        session.execute(
            sa.update(ImapSource)
            .where(ImapSource.id == source_id)  # type: ignore[arg-type]
            .values(**done, **({"last_error_at": utcnow()} if note else {}))
        )


def mark_error(*, store: Store, source_id: int, error: str) -> None:
    """A pass or connection that failed; a refusal noted before is kept behind the error."""
    with store.write() as session, session.begin():
        kept = refusal_part(last_error(session=session, source_id=source_id))
        note_error(session=session, source_id=source_id, error=f"{error}; {kept}" if kept else error)


def note_error(*, session: Session, source_id: int, error: str) -> None:
    """Set the last error in the caller's transaction (a batch notes its refusals with its cursor)."""
    session.execute(
        sa.update(ImapSource)
        .where(ImapSource.id == source_id)  # type: ignore[arg-type]
        .values(last_error=error[:ERROR_CHARS], last_error_at=utcnow())
    )


ERROR_CHARS = 2000


def last_error(*, session: Session, source_id: int) -> str:
    c = ImapSource.__table__.c  # type: ignore[attr-defined]
    return session.scalar(sa.select(c.last_error).where(c.id == source_id)) or ""
