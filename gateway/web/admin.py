"""Admin pages: hide, unhide or delete an entry (with its raw message), and the quarantine.

Admins are `MAILFEED_ADMINS` (with `AUTH=open`, whoever reaches the loopback
port). Every action is a POST with a CSRF token.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from gateway.store import access, queries, views
from gateway.store.models import RawMessage
from gateway.web.auth import NeedSignIn, Viewer, csrf_ok, viewer
from gateway.web.pages import page
from gateway.web.schemas import Id

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)


async def _admin(request: Request) -> Viewer:
    who = await viewer(request)
    if not who.known:
        raise NeedSignIn("sign in as an admin")
    if not who.admin:
        raise HTTPException(403, detail="only admins may do this")
    return who


@router.get("/admin/quarantine", response_class=HTMLResponse)
async def quarantine(request: Request) -> HTMLResponse:
    await _admin(request)

    def read() -> list[Any]:
        with request.app.state.store.read() as session:
            return queries.quarantined(session=session, limit=500)

    return page(request, "quarantine.html", {"rows": await run_in_threadpool(read)})


@router.get("/admin/raw/{raw_id}.eml")
async def raw(request: Request, raw_id: Id) -> Response:
    await _admin(request)

    def read() -> bytes | None:
        with request.app.state.store.read() as session:
            row = session.get(RawMessage, raw_id)
            return None if row is None else row.data

    data = await run_in_threadpool(read)
    if data is None:
        raise HTTPException(404, detail=f"no raw message {raw_id}")
    return Response(
        data, media_type="message/rfc822", headers={"Content-Disposition": f'attachment; filename="raw-{raw_id}.eml"'}
    )


@router.post("/admin/entries/{entry_id}/{action}")
async def moderate(
    request: Request,
    entry_id: Id,
    action: str,
    csrf: Annotated[str | None, Form()] = None,
    confirm: Annotated[str | None, Form()] = None,
) -> Response:
    who = await _admin(request)
    if not csrf_ok(request, csrf):
        raise HTTPException(403, detail="The form expired or came from another site; reload the page and try again.")
    if action not in ("hide", "unhide", "delete"):
        raise HTTPException(404, detail=f"no action {action!r}")
    if action == "delete" and confirm != "yes":
        raise HTTPException(400, detail="tick the box to confirm the deletion")
    by = who.email or "admin"

    def act() -> int | None:
        with request.app.state.store.write() as session, session.begin():
            place = access.entry_thread_id(session=session, entry_id=entry_id)
            if place is None:
                return None
            if action == "hide":
                access.hide_entry(session=session, entry_id=entry_id, by=by)
            elif action == "unhide":
                access.unhide_entry(session=session, entry_id=entry_id)
            else:
                access.delete_entry(session=session, entry_id=entry_id, by=by)
            return int(place)

    thread_id = await run_in_threadpool(act)
    if thread_id is None:
        raise HTTPException(404, detail=f"no entry {entry_id}")
    log.info("entry %s: %s by %s", entry_id, action, by)

    def still_there() -> bool:
        with request.app.state.store.read() as session:
            return views.thread_view(session=session, thread_id=thread_id, include_hidden=True) is not None

    target = f"/t/{thread_id}" if await run_in_threadpool(still_there) else "/"
    return RedirectResponse(target + (f"#e{entry_id}" if action != "delete" and target != "/" else ""), status_code=303)
