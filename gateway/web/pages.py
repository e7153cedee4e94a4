"""Server-rendered pages: feeds, a feed's threads, a thread, an author, search, raw .eml.

Readable without JavaScript (there is none), laid out for phones first
(templates/static/style.css). Every page checks what its reader may see;
an entry's permalink `/e/{id}` (and `/t/{thread}#e{id}`) survives reprocessing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from gateway.store import search as fts
from gateway.store import views
from gateway.web.auth import Forbidden, Viewer, csrf_token, viewer, visible_feeds
from gateway.web.render import templates
from gateway.web.schemas import Id

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


def page(request: Request, name: str, context: dict[str, Any], status_code: int = 200,
         headers: dict[str, str] | None = None) -> HTMLResponse:
    who: Viewer | None = getattr(request.state, "viewer", None)
    ctx = {"now": datetime.now(UTC), "viewer": who, "auth": request.app.state.settings.auth,
           "csrf_token": lambda: csrf_token(request), **context}
    return templates.TemplateResponse(request, name, ctx, status_code=status_code, headers=headers)


def _store(request: Request) -> Any:
    return request.app.state.store


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
    who = await viewer(request)

    def read() -> tuple[Any, list[views.ThreadRow], str | None]:
        with _store(request).read() as session:
            allowed = visible_feeds(request, session, who)
            feed = views.feed_by_slug(session=session, slug=slug)
            if feed is None or feed.id is None:
                raise HTTPException(404, detail=f"no feed {slug!r}")
            if feed.id not in allowed:
                raise Forbidden(slug)
            try:
                rows, nxt = views.threads(session=session, feed_id=feed.id, limit=PAGE_SIZE, cursor=cursor,
                                          details=True)
            except views.BadCursor as exc:
                raise HTTPException(400, detail=str(exc)) from exc
            return feed, rows, nxt

    feed, rows, nxt = await run_in_threadpool(read)
    return page(request, "feed.html", {"feed": feed, "threads": rows, "next_cursor": nxt, "cursor": cursor})


@router.get("/t/{thread_id}", response_class=HTMLResponse)
async def thread_page(request: Request, thread_id: Id, images: int = 0) -> HTMLResponse:
    who = await viewer(request)

    def read() -> views.ThreadView:
        with _store(request).read() as session:
            allowed = visible_feeds(request, session, who)
            view = views.thread_view(session=session, thread_id=thread_id, include_hidden=who.admin)
            if view is None:
                raise HTTPException(404, detail=f"no thread {thread_id}")
            if view.feed.id not in allowed:
                raise Forbidden(str(thread_id))
            return view

    view = await run_in_threadpool(read)
    by_message_id = {e.message_id: e for e in view.entries}
    headers = {}
    if images:
        # The reader asked for remote images on this page: allow https images, nothing else.
        headers["Content-Security-Policy"] = request.app.state.csp.replace("img-src 'self'", "img-src 'self' https:")
    return page(request, "thread.html", {"view": view, "parents": by_message_id, "images": bool(images)},
                headers=headers)


@router.get("/e/{entry_id}")
async def entry_permalink(request: Request, entry_id: Id) -> RedirectResponse:
    """An entry's permanent address: to its thread, wherever threading has put it."""
    who = await viewer(request)

    def read() -> tuple[int, int] | None:
        with _store(request).read() as session:
            allowed = visible_feeds(request, session, who)
            place = views.entry_place(session=session, entry_id=entry_id)
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
            found = views.raw_of_entry(session=session, entry_id=entry_id)
            if found is None:
                raise HTTPException(404, detail=f"no entry {entry_id}")
            if found[0] not in allowed:
                raise Forbidden(str(entry_id))
            return found[1]

    data = await run_in_threadpool(read)
    return Response(
        data, media_type="message/rfc822",
        headers={"Content-Disposition": f'attachment; filename="entry-{entry_id}.eml"'},
    )


@router.get("/a/{address}", response_class=HTMLResponse)
async def author_page(request: Request, address: str) -> HTMLResponse:
    who = await viewer(request)

    def read() -> list[Any]:
        with _store(request).read() as session:
            return views.entries_by_author(session=session, address=address,
                                           feed_ids=visible_feeds(request, session, who))

    rows = await run_in_threadpool(read)
    name = next((r.author_name for r in rows if r.author_name), "")
    return page(request, "author.html", {"address": address, "name": name, "entries": rows})


@router.get("/search", response_class=HTMLResponse)
async def search_page(request: Request, q: str = "", feed: str | None = None) -> HTMLResponse:
    who = await viewer(request)

    def read() -> tuple[list[fts.Hit], list[views.FeedRow]]:
        with _store(request).read() as session:
            allowed = visible_feeds(request, session, who)
            feeds = views.feeds(session=session, feed_ids=allowed)
            ids = {f.id for f in feeds if feed in (None, "", f.slug)}
            return fts.search(session=session, q=q, feed_ids=ids, limit=50), feeds

    hits, feeds = await run_in_threadpool(read) if q.strip() else ([], [])
    return page(request, "search.html", {"q": q, "feed": feed or "", "hits": hits, "feeds": feeds,
                                         "snippet_html": lambda s: Markup(fts.snippet_html(s))})  # escaped, then <mark>
