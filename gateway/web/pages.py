"""Server-rendered pages: feeds, a feed's threads, a thread, an author, search, raw .eml.

Readable without JavaScript (there is none), laid out for phones first
(templates/static/style.css). Every page checks what its reader may see;
an entry's permalink `/e/{id}` (and `/t/{thread}#e{id}`) survives reprocessing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import anyio
import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from gateway.store import search as fts
from gateway.store import views
from gateway.web.auth import (
    Forbidden,
    Viewer,
    check_feed,
    csrf_token,
    reader,
    require_reader,
    viewer,
    visible_feeds,
)
from gateway.web.render import templates
from gateway.web.schemas import Id

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
T = TypeVar("T")


def page(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200, headers: dict[str, str] | None = None
) -> HTMLResponse:
    """Render `name` (from the event loop or a worker thread) with what every page shows."""
    who: Viewer | None = getattr(request.state, "viewer", None)
    token: list[str] = []  # one lookup per page, however many forms it has

    def csrf() -> str:
        if not token:
            token.append(csrf_token(request))
        return token[0]

    ctx = {
        "now": datetime.now(UTC),
        "viewer": who,
        "auth": request.app.state.settings.auth,
        "csrf_token": csrf,
        **context,
    }
    return templates.TemplateResponse(request, name, ctx, status_code=status_code, headers=headers)


def _store(request: Request) -> Any:
    return request.app.state.store


def read_threads(store: Any) -> int:
    """How many reads (with their rendering) run in worker threads at once.

    Python runs one thread at a time, so more threads than cores only queue for the
    GIL: on two cores 40 threads (anyio's default) served about a third fewer pages
    than 2-4 (bench/web.py). SQLite reads are CPU work in this process; a PostgreSQL
    read also waits for its round trips, which two more threads fill.
    """
    cores = os.cpu_count() or 2
    return min(8, cores if store.is_sqlite else cores + 2)


async def read_in_thread(request: Request, read: Callable[[], T]) -> T:
    """Run a route's database read (and its rendering) in a worker thread, at most
    `read_threads` at a time; the other requests wait on the event loop, not in threads.
    """
    limiter = getattr(request.app.state, "read_limiter", None)
    if limiter is None:
        limiter = request.app.state.read_limiter = anyio.CapacityLimiter(read_threads(_store(request)))
    return await anyio.to_thread.run_sync(once_more_if_lost, read, limiter=limiter)


def once_more_if_lost(read: Callable[[], T]) -> T:
    """`read()`, and once more if the database dropped its connection (it restarted).

    Without a ping before each checkout, the first use of a pooled connection is
    how a restart is noticed; a read can safely run again on a new connection.
    """
    try:
        return read()
    except sa.exc.DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        return read()


def open_feed(request: Request, db: views.Db, slug: str, *, allow_key: bool = False) -> views.FeedHead:
    """The feed `slug` if the request's reader may read it (else 401/403/404, in that order)."""
    who = reader(request, db, allow_key=allow_key)
    require_reader(who)
    feed = views.feed_head(session=db, slug=slug)
    if feed is None:
        raise HTTPException(404, detail=f"no feed {slug!r}")
    check_feed(db, who, feed)
    return feed


def open_thread(
    request: Request, db: views.Db, thread_id: int, *, include_hidden: bool = False, allow_key: bool = False
) -> views.ThreadView:
    """The thread if the request's reader may read it (else 401/403/404, in that order, or ThreadMoved)."""
    who = reader(request, db, allow_key=allow_key)
    require_reader(who)
    hidden_too = include_hidden and who.admin
    view = views.thread_view(session=db, thread_id=thread_id, include_hidden=hidden_too)
    if view is None:
        moved = views.thread_moved(session=db, thread_id=thread_id)
        target = views.thread_view(session=db, thread_id=moved, include_hidden=hidden_too) if moved else None
        if target is None:
            raise HTTPException(404, detail=f"no thread {thread_id}")
        check_feed(db, who, target.feed)
        raise ThreadMoved(target.thread.id)
    check_feed(db, who, view.feed)
    return view


class ThreadMoved(Exception):
    """The thread asked for was merged into another, or renumbered by a rebuild of mail placed
    before migration 0008: `thread_id` has it now.

    Links in digests, feeds and bookmarks name the old id; `create_app` answers with a redirect.
    """

    def __init__(self, thread_id: int) -> None:
        super().__init__(thread_id)
        self.thread_id = thread_id


@router.get("/", response_class=HTMLResponse)
async def index(request: Request) -> HTMLResponse:
    who = await viewer(request)

    def read() -> list[tuple[views.FeedRow, list[views.ThreadRow]]]:
        with _store(request).read() as session:
            out = []
            for f in views.feeds(session=session, feed_ids=visible_feeds(request, session, who)):
                out.append((f, views.threads(session=session, feed_id=f.id, limit=5)[0]))
            return out

    return page(request, "index.html", {"feeds": await run_in_threadpool(read)})


@router.get("/f/{slug}", response_class=HTMLResponse)
async def feed_page(request: Request, slug: str, cursor: str | None = None) -> HTMLResponse:
    def read_and_render() -> HTMLResponse:
        with views.reading(_store(request)) as conn:
            feed = open_feed(request, conn, slug)
            try:
                rows, nxt = views.threads(session=conn, feed_id=feed.id, limit=PAGE_SIZE, cursor=cursor, details=True)
            except views.BadCursor as exc:
                raise HTTPException(400, detail=str(exc)) from exc
        return page(request, "feed.html", {"feed": feed, "threads": rows, "next_cursor": nxt, "cursor": cursor})

    return await read_in_thread(request, read_and_render)


@router.get("/t/{thread_id}", response_class=HTMLResponse)
async def thread_page(request: Request, thread_id: Id, images: int = 0) -> HTMLResponse:
    def read_and_render() -> HTMLResponse:
        with views.reading(_store(request)) as conn:
            view = open_thread(request, conn, thread_id, include_hidden=True)
        headers = {}
        if images:
            # The reader asked for remote images on this page: allow https images, nothing else.
            headers["Content-Security-Policy"] = request.app.state.csp.replace(
                "img-src 'self'", "img-src 'self' https:"
            )
        parents = {e.message_id: e for e in view.entries}
        return page(request, "thread.html", {"view": view, "parents": parents, "images": bool(images)}, headers=headers)

    return await read_in_thread(request, read_and_render)


@router.get("/e/{entry_id}")
async def entry_permalink(request: Request, entry_id: Id) -> RedirectResponse:
    """An entry's permanent address: to its thread, wherever threading has put it."""
    who = await viewer(request)

    def read() -> tuple[int, int] | None:
        with _store(request).read() as session:
            allowed = visible_feeds(request, session, who)
            place = views.entry_place(session=session, entry_id=entry_id, in_hidden_threads=who.admin)
            if place is not None and place[0] not in allowed:
                raise Forbidden(str(entry_id))
            return place

    place = await run_in_threadpool(read)
    if place is None:
        raise HTTPException(404, detail=f"no entry {entry_id}")
    return RedirectResponse(f"/t/{place[1]}#e{entry_id}", status_code=303)


@router.get("/e/{entry_id}/raw.eml")
async def raw_message(request: Request, entry_id: Id) -> Response:
    """The message as it arrived, for readers who may see the feed; always a download."""
    who = await viewer(request)

    def read() -> bytes:
        with _store(request).read() as session:
            allowed = visible_feeds(request, session, who)
            found = views.raw_of_entry(session=session, entry_id=entry_id, in_hidden_threads=who.admin)
            if found is None:
                raise HTTPException(404, detail=f"no entry {entry_id}")
            if found[0] not in allowed:
                raise Forbidden(str(entry_id))
            return found[1]

    data = await run_in_threadpool(read)
    return Response(
        data,
        media_type="message/rfc822",
        headers={"Content-Disposition": f'attachment; filename="entry-{entry_id}.eml"'},
    )


@router.get("/a/{address}", response_class=HTMLResponse)
async def author_page(request: Request, address: str) -> HTMLResponse:
    who = await viewer(request)

    def read() -> list[Any]:
        with _store(request).read() as session:
            return views.entries_by_author(
                session=session,
                address=address,
                feed_ids=visible_feeds(request, session, who),
                in_hidden_threads=who.admin,
            )

    rows = await run_in_threadpool(read)
    if not rows:  # nobody posted from it where this reader may look (or it is no address at all)
        raise HTTPException(404, detail=f"no messages from {address!r}")
    name = next((r.author_name for r in rows if r.author_name), "")
    return page(request, "author.html", {"address": address, "name": name, "entries": rows})


@router.get("/search", response_class=HTMLResponse)
async def search_page(
    request: Request, q: Annotated[str, Query(max_length=500)] = "", feed: str | None = None
) -> HTMLResponse:
    who = await viewer(request)

    def read() -> tuple[list[fts.Hit], list[views.FeedRow]]:
        with _store(request).read() as session:
            allowed = visible_feeds(request, session, who)
            feeds = views.feeds(session=session, feed_ids=allowed)
            ids = {f.id for f in feeds if feed in (None, "", f.slug)}
            if not ids and feed:  # as /api/search: an unknown feed, or one this reader may not see
                raise HTTPException(404, detail=f"no feed {feed!r}")
            # PostgreSQL text cannot hold NUL; no indexed word contains one either.
            return fts.search(
                session=session, q=q.replace("\x00", ""), feed_ids=ids, limit=50, in_hidden_threads=who.admin
            ), feeds

    hits, feeds = await run_in_threadpool(read) if q.strip() else ([], [])
    return page(
        request,
        "search.html",
        {
            "q": q,
            "feed": feed or "",
            "hits": hits,
            "feeds": feeds,
            "snippet_html": lambda s: Markup(fts.snippet_html(s)),
        },
    )  # escaped, then <mark>
