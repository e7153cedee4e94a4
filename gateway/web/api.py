"""JSON API: /healthz, /api/feeds, /api/feeds/{slug}/threads, /api/threads/{id}, attachments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated
from urllib.parse import quote

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from gateway.parse import parse
from gateway.sanitize import rewrite_cid
from gateway.store import queries
from gateway.store.db import Store
from gateway.store.models import Attachment, Entry, ForwardRecord
from gateway.web.schemas import (
    AttachmentOut,
    EntryOut,
    FeedOut,
    ForwardOut,
    Health,
    Person,
    Problem,
    ThreadDetailOut,
    ThreadOut,
    ThreadPage,
)

router = APIRouter()
# Raster formats browsers render without running anything; never SVG (it can carry script).
INLINE_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
NOT_FOUND = {404: {"model": Problem}}


def _store(request: Request) -> Store:
    return request.app.state.store  # type: ignore[no-any-return]


def local_time(when: datetime, offset_minutes: int = 0) -> datetime:
    """`when` (UTC) shown in the author's own offset."""
    return when.astimezone(timezone(timedelta(minutes=offset_minutes)) if offset_minutes else UTC)


@router.get("/healthz", response_model=Health)
async def healthz(request: Request) -> Health:
    def ping() -> None:
        with _store(request).read() as session:
            session.execute(sa.text("SELECT 1"))

    try:
        await run_in_threadpool(ping)
    except sa.exc.SQLAlchemyError as exc:
        raise HTTPException(503, detail="database unavailable") from exc
    return Health(status="ok")


@router.get("/api/feeds", response_model=list[FeedOut])
async def feeds(request: Request) -> list[FeedOut]:
    def read() -> list[FeedOut]:
        with _store(request).read() as session:
            return [FeedOut(**vars(f)) for f in queries.list_feeds(session=session)]

    return await run_in_threadpool(read)


@router.get("/api/feeds/{slug}/threads", response_model=ThreadPage, responses={404: {"model": Problem}, 400: {"model": Problem}})
async def threads(
    request: Request,
    slug: str,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> ThreadPage:
    def read() -> ThreadPage:
        with _store(request).read() as session:
            feed = queries.feed_by_slug(session=session, slug=slug)
            if feed is None or feed.id is None:
                raise HTTPException(404, detail=f"no feed {slug!r}")
            try:
                page, nxt = queries.list_threads(session=session, feed_id=feed.id, limit=limit, cursor=cursor)
            except queries.BadCursor as exc:
                raise HTTPException(400, detail=str(exc)) from exc
            return ThreadPage(threads=[_thread_out(s) for s in page], next_cursor=nxt)

    return await run_in_threadpool(read)


def _thread_out(s: queries.ThreadSummary) -> ThreadOut:
    t, post = s.thread, s.post
    return ThreadOut(
        id=t.id,
        subject=t.subject,
        author=Person(name=post.author_name, address=post.author_address) if post else Person(name="", address=""),
        created_at=t.created_at,
        last_activity_at=t.last_activity_at,
        comment_count=max(0, t.entry_count - 1),
        snippet=post.snippet if post else "",
    )


@router.get("/api/threads/{thread_id}", response_model=ThreadDetailOut, responses=NOT_FOUND)
async def thread(request: Request, thread_id: int) -> ThreadDetailOut:
    def read() -> ThreadDetailOut:
        with _store(request).read() as session:
            d = queries.thread_detail(session=session, thread_id=thread_id)
        if d is None:
            raise HTTPException(404, detail=f"no thread {thread_id}")
        return ThreadDetailOut(
            id=d.thread.id,
            feed=d.feed.slug,
            subject=d.thread.subject,
            post=entry_out(d.post, d.attachments.get(d.post.id, []), d.forwards.get(d.post.id, [])),
            comments=[entry_out(e, d.attachments.get(e.id, []), d.forwards.get(e.id, [])) for e in d.comments],
        )

    return await run_in_threadpool(read)


def entry_out(e: Entry, attachments: list[Attachment], forwards: list[ForwardRecord]) -> EntryOut:
    by = Person(name=e.forwarded_by_name or "", address=e.forwarded_by_address) if e.forwarded_by_address else None
    urls = {a.position: f"/attachments/{e.id}/{a.position}/{quote(a.filename, safe='')}" for a in attachments}
    html = rewrite_cid(e.html, {a.content_id: urls[a.position] for a in attachments if a.content_id}) if e.html else e.html
    return EntryOut(
        id=e.id,
        message_id=e.message_id,
        parent_message_id=e.parent_message_id,
        author=Person(name=e.author_name, address=e.author_address),
        date=local_time(e.date, e.tz_offset),
        text=e.text,
        quoted_text=e.quoted_text,
        signature=e.signature,
        html=html,
        attachments=[
            AttachmentOut(filename=a.filename, content_type=a.content_type, size=a.size, url=urls[a.position])
            for a in attachments
        ],
        forwarded_by=by,
        forwards=[
            ForwardOut(by=Person(name=f.by_name, address=f.by_address), date=f.date, note=f.note)
            for f in forwards
        ],
    )


@router.get("/attachments/{entry_id}/{position}/{filename}", responses=NOT_FOUND)
async def attachment(
    request: Request, entry_id: int, position: int, filename: str, inline: bool = False
) -> Response:
    """An attachment as a download; raster images may be shown inline (`?inline=1`).

    Mail content must never run in our origin: everything else is served as
    application/octet-stream with `attachment` disposition and nosniff.
    """

    def read() -> tuple[Attachment, bytes] | None:
        with _store(request).read() as session:
            found = queries.attachment_file(session=session, entry_id=entry_id, position=position)
            if found is None:
                return None
            att, data = found
            if data is None:  # larger than MAX_ATTACHMENT_BYTES: its bytes live in the raw message only
                raw = queries.raw_bytes(session=session, raw_id=entry_id)
                parts = parse(raw).attachments if raw else []
                data = parts[position].data if position < len(parts) else None
            return None if data is None else (att, data)

    found = await run_in_threadpool(read)
    if found is None:
        raise HTTPException(404, detail="no such attachment")
    att, data = found
    show = inline and att.content_type in INLINE_IMAGES
    return Response(
        content=data,
        media_type=att.content_type if show else "application/octet-stream",
        headers={
            "Content-Disposition": f"{'inline' if show else 'attachment'}; filename*=UTF-8''{quote(att.filename, safe='')}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )
