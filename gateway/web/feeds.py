"""Atom and JSON Feed over HTTP: per feed (its threads' posts) and per thread (every entry).

Conditional requests: a strong `ETag` (hash of the body) and `Last-Modified`
(the newest item); `If-None-Match` / `If-Modified-Since` get `304`. Feed
readers that cannot sign in use a secret `?key=` URL (see auth.py); the key
is carried into enclosure URLs so the attachments download too.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway import feed as fmt
from gateway.store import views
from gateway.store.models import ForwardRecord
from gateway.store.view_rows import ForwardRow
from gateway.web.auth import KEY_PARAM
from gateway.web.pages import open_feed, open_thread, read_in_thread
from gateway.web.render import attachment_url, entry_body, forwards_html
from gateway.web.schemas import Id

router = APIRouter(include_in_schema=False)
FEED_SIZE = 50
ATOM = "application/atom+xml; charset=utf-8"
JSON_FEED = "application/feed+json; charset=utf-8"


def base_url(request: Request) -> str:
    return request.app.state.settings.base_url.rstrip("/") or str(request.base_url).rstrip("/")


def _enclosures(base: str, entry_id: int, atts: list[views.AttachmentRow], key: str | None) -> list[fmt.Enclosure]:
    return [
        fmt.Enclosure(base + attachment_url(entry_id, a, key=key), a.content_type, a.size, a.filename) for a in atts
    ]


def _key_suffix(key: str | None) -> str:
    return f"?{KEY_PARAM}={quote(key)}" if key else ""


@router.get("/f/{slug}/feed.atom")
async def feed_atom(request: Request, slug: str) -> Response:
    return await _feed(request, slug, fmt.render_atom, ATOM)


@router.get("/f/{slug}/feed.json")
async def feed_json(request: Request, slug: str) -> Response:
    return await _feed(request, slug, fmt.render_json_feed, JSON_FEED)


class RenderedFeeds:
    """Feed documents already rendered, each kept with the stamp of the data it was made from.

    Feed readers poll the same URL over and over, nearly always for nothing
    new: checking a stamp (views.feed_stamp) is one small query, where reading
    and rendering fifty posts is most of a request's work.
    """

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._docs: OrderedDict[tuple[Any, ...], tuple[tuple[Any, ...], bytes, datetime | None]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...], stamp: tuple[Any, ...]) -> tuple[bytes, datetime | None] | None:
        with self._lock:
            found = self._docs.get(key)
            if found is None or found[0] != stamp:
                return None
            self._docs.move_to_end(key)
            return found[1], found[2]

    def put(self, key: tuple[Any, ...], stamp: tuple[Any, ...], body: bytes, updated: datetime | None) -> None:
        with self._lock:
            self._docs[key] = (stamp, body, updated)
            self._docs.move_to_end(key)
            while len(self._docs) > self._size:
                self._docs.popitem(last=False)


async def _feed(request: Request, slug: str, render: Callable[..., bytes], media_type: str) -> Response:
    cache: RenderedFeeds = request.app.state.rendered_feeds

    def read_and_render() -> Response:
        base = base_url(request)
        with views.reading(request.app.state.store) as conn:
            feed = open_feed(request, conn, slug, allow_key=True)
            key = _key(request)  # after open_feed, which says who is asking
            stamp = (feed.title, feed.address, *views.feed_stamp(session=conn, feed_id=feed.id), _forwards_stamp(conn))
            doc = (feed.id, media_type, base, key)
            if (hit := cache.get(doc, stamp)) is not None:
                return conditional(request, hit[0], media_type, hit[1])
            rows, _ = views.threads(session=conn, feed_id=feed.id, limit=FEED_SIZE, with_body=True)
            posts = [r.post_id for r in rows if r.post_id]
            atts = views.attachments_of(session=conn, entry_ids=posts)
            forwards = _forwards_of(conn, posts)
        items = []
        for r in rows:
            post = SimpleNamespace(id=r.post_id, html=r.html, text=r.text)
            a = atts.get(r.post_id or -1, [])
            body = str(
                forwards_html(forwards.get(r.post_id or -1, [])) + entry_body(post, a, base=base, key=key, feed=True)
            )
            if r.comment_count:
                n = r.comment_count
                body += f'<p><a href="{base}/t/{r.id}">{n} comment{"s" if n != 1 else ""}</a></p>'
            items.append(
                fmt.Item(
                    id=fmt.stable_id(slug, "thread", str(r.post_id)),
                    url=f"{base}/t/{r.id}",
                    title=r.subject or "(no subject)",
                    author_name=r.author_name,
                    author_email=r.author_address,
                    published=r.created_at,
                    updated=r.last_activity_at,
                    content_html=body,
                    summary=r.snippet,
                    enclosures=_enclosures(base, r.post_id or 0, a, key),
                )
            )
        ext = "json" if media_type == JSON_FEED else "atom"
        info = fmt.FeedInfo(
            id=fmt.stable_id(slug),
            title=feed.title or slug,
            home_url=f"{base}/f/{slug}",
            self_url=f"{base}/f/{slug}/feed.{ext}{_key_suffix(key)}",
            json_url=f"{base}/f/{slug}/feed.json{_key_suffix(key)}",
            subtitle=f"Mail to {feed.address}",
        )
        rendered, updated = render(info, items), fmt.updated_of(items) if items else None
        cache.put(doc, stamp, rendered, updated)
        return conditional(request, rendered, media_type, updated)

    return await read_in_thread(request, read_and_render)


@router.get("/t/{thread_id}/feed.atom")
async def thread_atom(request: Request, thread_id: Id) -> Response:
    def read_and_render() -> Response:
        with views.reading(request.app.state.store) as conn:
            view = open_thread(request, conn, thread_id, allow_key=True)
        key = _key(request)
        base = base_url(request)
        items = [
            _entry_item(base, view.feed.slug, thread_id, e, view.attachments.get(e.id, []), view.forwards, key)
            for e in view.entries
        ]
        info = fmt.FeedInfo(
            id=fmt.stable_id(view.feed.slug, "thread-feed", view.entries[0].message_id),
            title=view.thread.subject or "(no subject)",
            home_url=f"{base}/t/{thread_id}",
            self_url=f"{base}/t/{thread_id}/feed.atom{_key_suffix(key)}",
            subtitle=view.feed.title,
        )
        return conditional(request, fmt.render_atom(info, items), ATOM, fmt.updated_of(items))

    return await read_in_thread(request, read_and_render)


def _key(request: Request) -> str | None:
    """The secret feed key this request came with, to carry into its links (only when it was used)."""
    return request.query_params.get(KEY_PARAM) if request.state.viewer.via_key else None


def _entry_item(
    base: str,
    slug: str,
    thread_id: int,
    e: views.EntryRow,
    atts: list[views.AttachmentRow],
    forwards: dict[int, list[ForwardRow]],
    key: str | None,
) -> fmt.Item:
    return fmt.Item(
        id=fmt.stable_id(slug, e.message_id),
        url=f"{base}/t/{thread_id}#e{e.id}",
        title=e.subject or "(no subject)",
        author_name=e.author_name,
        author_email=e.author_address,
        published=e.date,
        updated=e.date,
        content_html=str(forwards_html(forwards.get(e.id, [])) + entry_body(e, atts, base=base, key=key, feed=True)),
        summary=e.snippet,
        enclosures=_enclosures(base, e.id, atts, key),
    )


_FORWARD = ForwardRecord.__table__


def _forwards_of(conn: sa.Connection, entry_ids: list[int]) -> dict[int, list[ForwardRow]]:
    """Every forward of these posts, first first, by post (a feed item shows who forwarded it, as the page does)."""
    out: dict[int, list[ForwardRow]] = {}
    if not entry_ids:
        return out
    w = _FORWARD.c
    rows = conn.execute(
        sa.select(w.entry_id, w.by_name, w.by_address, w.date, w.note)
        .where(w.entry_id.in_(entry_ids))
        .order_by(w.entry_id, w.id)
    )
    for r in rows:
        out.setdefault(r[0], []).append(ForwardRow(*r))
    return out


def _forwards_stamp(conn: sa.Connection) -> object:
    """What changes when a post anywhere is forwarded again: a new forwarder shows in its feed item,
    though the thread's activity may not move (a forward dated before the feed's newest thread)."""
    return conn.execute(sa.select(sa.func.max(_FORWARD.c.id))).scalar()


def conditional(request: Request, body: bytes, media_type: str, last_modified: datetime | None) -> Response:
    """The body with ETag and Last-Modified, or 304 when the client's copy is current."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers: dict[str, Any] = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if last_modified is not None:
        headers["Last-Modified"] = format_datetime(last_modified.replace(microsecond=0), usegmt=True)
    inm = request.headers.get("if-none-match")
    if inm is not None:
        if etag in {t.strip().removeprefix("W/") for t in inm.split(",")} or inm.strip() == "*":
            return Response(status_code=304, headers=headers)
    elif last_modified is not None and (ims := request.headers.get("if-modified-since")):
        try:
            since = parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            since = None
        if since is not None and since.tzinfo is not None and last_modified.replace(microsecond=0) <= since:
            return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)
