"""Digest pages reached from the digest mail: unsubscribe, mute a thread, preferences, emails saved.

The signed token in the link is the reader's key: no password, no sign-in.
Unsubscribing follows RFC 8058: a POST (one click from the mail client, or
the button here) unsubscribes; a GET only shows the button, because link
scanners follow GETs.
"""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from gateway import keys
from gateway.digest.schedule import EVERY, WEEKDAYS, ScheduleError, parse_at
from gateway.digest.subscribe import Saved, Schedule, emails_saved, subscribe
from gateway.store import digest_writes
from gateway.store.models import Feed, Thread
from gateway.store.models_digest import MutedThread, Reader, Subscription
from gateway.web.auth import csrf_ok, require_reader, viewer, visible_feeds
from gateway.web.pages import page

router = APIRouter()


def _subscription(request: Request, token: str, kind: str) -> tuple[Subscription, Reader, Feed]:
    store = request.app.state.store
    with store.write() as session, session.begin():
        key = digest_writes.signing_key(session, request.app.state.settings.secret_key)
    payload = keys.verify(key, token, kind)
    if payload is None:
        raise HTTPException(404, detail="This link is not valid (it may have been altered).")
    with store.read() as session:
        row = session.execute(
            sa.select(Subscription, Reader, Feed)
            .join(Reader, Reader.id == Subscription.reader_id)
            .join(Feed, Feed.id == Subscription.feed_id)
            .where(Subscription.id == int(payload))
        ).first()
    if row is None:
        raise HTTPException(404, detail="This subscription no longer exists.")
    return row[0], row[1], row[2]


@router.get("/unsubscribe/{token}", response_class=HTMLResponse, include_in_schema=False)
async def unsubscribe_confirm(request: Request, token: str) -> HTMLResponse:
    sub, reader, feed = await run_in_threadpool(_subscription, request, token, "u")
    return page(
        request, "unsubscribe.html", {"token": token, "reader": reader, "feed": feed, "done": sub.every == "off"}
    )


@router.post("/unsubscribe/{token}", response_class=HTMLResponse, include_in_schema=False)
async def unsubscribe(request: Request, token: str) -> HTMLResponse:
    """One click: mail clients POST `List-Unsubscribe=One-Click` here without cookies or sign-in."""

    def run() -> tuple[Reader, Feed]:
        sub, reader, feed = _subscription(request, token, "u")
        with request.app.state.store.write() as session, session.begin():
            digest_writes.turn_off(session, subscription_id=sub.id or 0)
        return reader, feed

    reader, feed = await run_in_threadpool(run)
    return page(request, "unsubscribe.html", {"token": token, "reader": reader, "feed": feed, "done": True})


def _mute_target(request: Request, token: str) -> tuple[int, int, str]:
    """(reader id, thread id, thread subject) named by a valid mute token."""
    store = request.app.state.store
    with store.write() as session, session.begin():
        key = digest_writes.signing_key(session, request.app.state.settings.secret_key)
    payload = keys.verify(key, token, "m")
    if payload is None:
        raise HTTPException(404, detail="This link is not valid (it may have been altered).")
    reader_id, _, thread_id = payload.partition(".")
    with store.read() as session:
        subject = session.scalar(sa.select(Thread.subject).where(Thread.id == int(thread_id)))
    return int(reader_id), int(thread_id), subject or "(no subject)"


@router.get("/mute/{token}", response_class=HTMLResponse, include_in_schema=False)
async def mute_confirm(request: Request, token: str) -> HTMLResponse:
    _, _, subject = await run_in_threadpool(_mute_target, request, token)
    return page(request, "mute.html", {"token": token, "subject": subject, "done": False})


@router.post("/mute/{token}", response_class=HTMLResponse, include_in_schema=False)
async def mute(request: Request, token: str) -> HTMLResponse:
    def run() -> str:
        reader_id, thread_id, subject = _mute_target(request, token)
        with request.app.state.store.write() as session, session.begin():
            if session.get(MutedThread, (reader_id, thread_id)) is None:
                session.add(MutedThread(reader_id=reader_id, thread_id=thread_id))
        return subject

    subject = await run_in_threadpool(run)
    return page(request, "mute.html", {"token": token, "subject": subject, "done": True})


@router.get("/prefs/{token}", response_class=HTMLResponse, include_in_schema=False)
async def preferences(request: Request, token: str) -> HTMLResponse:
    sub, reader, feed = await run_in_threadpool(_subscription, request, token, "p")
    return page(request, "prefs.html", _prefs_context(token, sub, reader, feed))


def _prefs_context(token: str, sub: Subscription, reader: Reader, feed: Feed, **extra: Any) -> dict[str, Any]:
    return {
        "token": token,
        "sub": sub,
        "reader": reader,
        "feed": feed,
        "every_choices": EVERY,
        "weekdays": WEEKDAYS,
        "weekday": WEEKDAYS[sub.weekday],
        **extra,
    }


FIELDS = {"every": "How often", "weekday": "Day (weekly)", "at": "At (local time)", "tz": "Time zone"}


def _schedule(fields: dict[str, str | None], *, skip_empty: bool, only_mine: bool) -> Schedule:
    """The submitted schedule, or ScheduleError naming the field that is empty or wrong.

    Every field is required: an empty one (a browser sends `at=` for a cleared input, and
    FastAPI would take the parameter's default for it) is refused, not read as a default,
    so a slip cannot move a reader's digest to 08:00 UTC behind a "Saved.".
    """
    given = {name: (value or "").strip() for name, value in fields.items()}
    for name, label in FIELDS.items():
        if not given[name]:
            raise ScheduleError(f"{label} is empty.")
    at = parse_at(given["at"])
    given["at"] = f"{at.hour:02d}:{at.minute:02d}"  # as `subscribe --at` stores it, whatever digits came
    schedule = Schedule(**given, skip_empty=skip_empty, only_mine=only_mine)
    schedule.check()
    return schedule


@router.post("/prefs/{token}", response_class=HTMLResponse, include_in_schema=False)
async def save_preferences(
    request: Request,
    token: str,
    every: Annotated[str | None, Form()] = None,
    weekday: Annotated[str | None, Form()] = None,
    at: Annotated[str | None, Form()] = None,
    tz: Annotated[str | None, Form()] = None,
    skip_empty: Annotated[bool, Form()] = False,
    only_mine: Annotated[bool, Form()] = False,
    csrf: Annotated[str | None, Form()] = None,
) -> HTMLResponse:
    """Save the schedule; a field empty or wrong gets a 400 and the form (as saved) again, and changes nothing."""
    if not csrf_ok(request, csrf):
        raise HTTPException(403, detail="The form expired or came from another site; reload the page and try again.")
    fields = {"every": every, "weekday": weekday, "at": at, "tz": tz}

    def run() -> tuple[Subscription, Reader, Feed, str | None]:
        sub, reader, feed = _subscription(request, token, "p")
        try:
            schedule = _schedule(fields, skip_empty=skip_empty, only_mine=only_mine)
            with request.app.state.store.write() as session, session.begin():
                sub = subscribe(session, email=reader.email, feed=feed, schedule=schedule, now=sub.created_at)
        except ScheduleError as exc:
            return sub, reader, feed, f"{str(exc).removeprefix('--').rstrip('.')}. Nothing was changed."
        return sub, reader, feed, None

    sub, reader, feed, error = await run_in_threadpool(run)
    status = 400 if error else 200
    return page(
        request,
        "prefs.html",
        _prefs_context(token, sub, reader, feed, error=error, saved=not error),
        status_code=status,
    )


@router.get("/stats", response_class=HTMLResponse, include_in_schema=False)
async def stats(request: Request) -> HTMLResponse:
    """Emails saved by digests, like every page for a signed-in reader only (anyone with `AUTH=open`).

    Per feed, the feeds the reader may see (`visible_feed_ids`: a private feed only for
    its members and admins); per reader, everyone's for an admin, else the reader's own.
    `mailfeed stats` is the admin's full view.
    """
    who = await viewer(request)
    require_reader(who)

    def read() -> list[Saved]:
        with request.app.state.store.read() as session:
            allowed = visible_feeds(request, session, who)
            slugs = set(session.scalars(sa.select(Feed.slug).where(Feed.id.in_(allowed))))  # type: ignore[union-attr]
            return [r for r in emails_saved(session) if r.feed in slugs]

    rows = await run_in_threadpool(read)
    per_feed: dict[str, list[int]] = {}
    for r in rows:
        totals = per_feed.setdefault(r.feed, [0, 0, 0])
        totals[0] += r.replaced
        totals[1] += r.digests
        totals[2] += 1
    readers = rows if who.admin else [r for r in rows if r.email == who.email]
    return page(request, "stats.html", {"per_feed": per_feed, "readers": readers})
