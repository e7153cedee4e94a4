"""Server-rendered pages (jinja2, templates/). For now the front page: the feeds and their latest threads."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from gateway.store import queries

router = APIRouter()


def templates_dir() -> Path:
    """templates/ inside the installed package (wheel), else the one in the source tree."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "templates", here.parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise RuntimeError("mailfeed templates not found; reinstall the package")


templates = Jinja2Templates(directory=str(templates_dir()))


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def index(request: Request) -> HTMLResponse:
    def read() -> list[tuple[queries.FeedSummary, list[queries.ThreadSummary]]]:
        with request.app.state.store.read() as session:
            out = []
            for feed in queries.list_feeds(session=session):
                found = queries.feed_by_slug(session=session, slug=feed.slug)
                page, _ = queries.list_threads(session=session, feed_id=found.id, limit=20) if found and found.id else ([], None)
                out.append((feed, page))
            return out

    feeds = await run_in_threadpool(read)
    return templates.TemplateResponse(request, "index.html", {"feeds": feeds})
