"""JSON API: /healthz, /api/feeds, /api/feeds/{slug}/threads, /api/threads/{id}, /api/search, attachments.

Every route checks what its reader may see (auth.py); entries an admin hid are left out.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from gateway import health
from gateway.parse import parse
from gateway.sanitize import rewrite_cid
from gateway.store import queries, views
from gateway.store import search as fts
from gateway.store.db import Store
from gateway.store.models import Attachment
from gateway.web.auth import Forbidden, viewer, visible_feeds
from gateway.web.pages import open_feed, open_thread, read_in_thread
from gateway.web.render import attachment_url, is_inline_image, local_time
from gateway.web.schemas import (
    AttachmentOut,
    EntryOut,
    FeedOut,
    ForwardOut,
    Health,
    Id,
    Person,
    Problem,
    SearchHit,
    SearchOut,
    ThreadDetailOut,
    ThreadOut,
    ThreadPage,
)

router = APIRouter()
NOT_FOUND: dict[int | str, dict[str, object]] = {404: {"model": Problem}}
DENIED: dict[int | str, dict[str, object]] = {401: {"model": Problem}, 403: {"model": Problem}}


def _store(request: Request) -> Store:
    return request.app.state.store


@router.get(
    "/healthz",
    response_model=Health,
    responses={503: {"model": Health, "description": 'The database is unreachable (status "down").'}},
)
async def healthz(request: Request) -> Response | Health:
    """Each part's state (gateway/health.py); 503 with the same body when the database is down."""
    state = request.app.state
    full = await run_in_threadpool(state.health.report, state.store, state.settings)
    try:  # IMAP URLs and errors for admins only (AUTH=open binds to loopback: everyone there is one)
        admin = state.settings.auth == "open" or (await viewer(request)).admin
    except Exception:  # the database is down: no sessions to look up
        admin = state.settings.auth == "open"
    report = Health.model_validate(full if admin else health.without_details(full))
    if report.status == "down":
        return JSONResponse(report.model_dump(mode="json"), status_code=503)
    return report


@router.get("/api/feeds", response_model=list[FeedOut], responses=DENIED)
async def feeds(request: Request) -> list[FeedOut]:
    who = await viewer(request)

    def read() -> list[FeedOut]:
        with _store(request).read() as session:
            rows = views.feeds(session=session, feed_ids=visible_feeds(request, session, who))
            return [FeedOut(slug=f.slug, address=f.address, title=f.title, thread_count=f.thread_count) for f in rows]

    return await run_in_threadpool(read)


@router.get(
    "/api/feeds/{slug}/threads", response_model=ThreadPage, responses={**NOT_FOUND, **DENIED, 400: {"model": Problem}}
)
async def threads(
    request: Request,
    slug: str,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> ThreadPage:
    def read() -> ThreadPage:
        with views.reading(_store(request)) as conn:
            feed = open_feed(request, conn, slug)
            try:
                page, nxt = views.threads(session=conn, feed_id=feed.id, limit=limit, cursor=cursor)
            except views.BadCursor as exc:
                raise HTTPException(400, detail=str(exc)) from exc
            return ThreadPage(threads=[_thread_out(t) for t in page], next_cursor=nxt)

    return await read_in_thread(request, read)


def _thread_out(t: views.ThreadRow) -> ThreadOut:
    return ThreadOut(
        id=t.id,
        subject=t.subject,
        author=Person(name=t.author_name, address=t.author_address),
        created_at=t.created_at,
        last_activity_at=t.last_activity_at,
        comment_count=t.comment_count,
        snippet=t.snippet,
    )


@router.get("/api/threads/{thread_id}", response_model=ThreadDetailOut, responses={**NOT_FOUND, **DENIED})
async def thread(request: Request, thread_id: Id) -> ThreadDetailOut:
    def read() -> ThreadDetailOut:
        with views.reading(_store(request)) as conn:
            d = open_thread(request, conn, thread_id)
        out = [entry_out(e, d.attachments.get(e.id, []), d.forwards.get(e.id, [])) for e in d.entries]
        return ThreadDetailOut(
            id=d.thread.id, feed=d.feed.slug, subject=d.thread.subject, post=out[0], comments=out[1:]
        )

    return await read_in_thread(request, read)


def entry_out(e: views.EntryRow, attachments: list[views.AttachmentRow], forwards: list[views.ForwardRow]) -> EntryOut:
    by = Person(name=e.forwarded_by_name or "", address=e.forwarded_by_address) if e.forwarded_by_address else None
    urls = {a.position: attachment_url(e.id, a) for a in attachments}
    # an image the message shows is shown, as on the page; its `url` downloads it
    inline = {a.content_id: attachment_url(e.id, a, inline=True) for a in attachments if a.content_id}
    html = rewrite_cid(e.html, inline) if e.html else e.html
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
            ForwardOut(by=Person(name=f.by_name, address=f.by_address), date=f.date, note=f.note) for f in forwards
        ],
        verified=e.auth,
    )


@router.get("/api/search", response_model=SearchOut, responses={**NOT_FOUND, **DENIED})
async def search(
    request: Request,
    q: Annotated[str, Query(max_length=500, description='Words to find ("quoted phrase" kept together)')],
    feed: Annotated[str | None, Query(description="Only this feed (slug)")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> SearchOut:
    """Full-text search over subject, text, author and attachment names; best matches first."""
    who = await viewer(request)

    def read() -> SearchOut:
        with _store(request).read() as session:
            allowed = visible_feeds(request, session, who)
            if feed:  # as /api/feeds/{slug}/threads; a feed the reader may not see is one that does not exist
                f = views.feed_by_slug(session=session, slug=feed)
                if f is None or f.id not in allowed:
                    raise HTTPException(404, detail=f"no feed {feed!r}")
                allowed = {f.id}
            # PostgreSQL text cannot hold NUL; no indexed word contains one either.
            hits = fts.search(
                session=session, q=q.replace("\x00", ""), feed_ids=allowed, limit=limit, in_hidden_threads=who.admin
            )
        return SearchOut(
            results=[
                SearchHit(
                    thread_id=h.thread_id,
                    entry_id=h.entry_id,
                    subject=h.subject,
                    snippet=fts.snippet_text(h.snippet),
                    url=f"/t/{h.thread_id}#e{h.entry_id}",
                )
                for h in hits
            ]
        )

    return await run_in_threadpool(read)


@router.get(
    "/attachments/{entry_id}/{position}/{filename}",
    response_class=Response,
    responses={
        200: {
            "content": {
                "application/octet-stream": {},
                "image/png": {},
                "image/jpeg": {},
                "image/gif": {},
                "image/webp": {},
            },
            "description": "the attachment's bytes",
        },
        **NOT_FOUND,
        **DENIED,
    },
)
async def attachment(request: Request, entry_id: Id, position: Id, filename: str, inline: bool = False) -> Response:
    """An attachment, as a download: mail content must never run in our origin.

    `?inline=1` shows a raster image (PNG, JPEG, GIF, WebP) in the page instead;
    any other type is still a download. `?key=` is a secret feed URL's key.

    A download is never stored (`private, no-store`, from app.py). An inline image is
    kept but asked for again at each use (`private, no-cache`, with its hash as ETag,
    so an unchanged one costs a 304 and no body): an admin deleting or hiding its
    entry, or a member taken off a private feed, must lose sight of it at the next
    page view, not a day later.
    """
    who = await viewer(request, allow_key=True)

    def read() -> tuple[Attachment, bytes] | None:
        with _store(request).read() as session:
            allowed = visible_feeds(request, session, who)
            feed_id = views.attachment_feed(session=session, entry_id=entry_id, in_hidden_threads=who.admin)
            if feed_id is None:
                return None
            if feed_id not in allowed:
                raise Forbidden(str(entry_id))
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
    name = quote(att.filename, safe="")
    if inline and is_inline_image(att):
        etag = f'"{att.sha256[:32]}"'
        headers = {
            "Content-Disposition": f"inline; filename*=UTF-8''{name}",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-cache",
            "ETag": etag,
        }
        if etag in {t.strip().removeprefix("W/") for t in request.headers.get("if-none-match", "").split(",")}:
            return Response(status_code=304, headers=headers)
        return Response(content=data, media_type=att.content_type.lower(), headers=headers)
    return Response(
        content=data,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{name}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )
