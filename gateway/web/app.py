"""create_app(settings): the FastAPI application, with security and cache headers on every response.

Errors: a browser asking for a page gets an HTML page, anyone else JSON `{"detail": …}`.
A request the routes cannot take (a malformed id, cursor or parameter) is a 400, or a
404 when it is the path that names nothing; an unreachable database a 503; anything
unexpected a 500 with one logged traceback.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.config import Settings
from gateway.health import Registry
from gateway.store.db import Store, open_store
from gateway.web import account, admin, api, digest_pages, feeds, pages
from gateway.web.auth import CSRF_COOKIE, Forbidden, NeedSignIn, cookie_name, secure_cookies
from gateway.web.feeds import RenderedFeeds
from gateway.web.render import templates_dir

CSP = (
    "default-src 'none'; img-src 'self'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
_SECURITY_RAW = [(name.lower().encode(), value.encode()) for name, value in SECURITY_HEADERS.items()]
MACHINE_SUFFIXES = (".atom", ".json", ".eml")
# Every answer is one reader's (their feeds, their key, a page an admin may change at any
# moment): nothing is stored anywhere unless a route says otherwise (feeds and inline
# images revalidate with their ETag: `private, no-cache`).
NO_STORE = (b"cache-control", b"private, no-store")
OUTAGE_QUIET_SECONDS = 60.0  # a database failure this long after the last one starts a new outage (logged)
log = logging.getLogger(__name__)


def wants_html(request: Request) -> bool:
    """A browser asking for a page (errors then come as pages, not JSON)."""
    path = request.url.path
    if path.startswith(("/api/", "/attachments/", "/healthz")) or path.endswith(MACHINE_SUFFIXES):
        return False
    return "text/html" in request.headers.get("accept", "")


def create_app(settings: Settings, store: Store | None = None, health: Registry | None = None) -> FastAPI:
    """The web app over `store` (opened from settings when not given).

    `health` lists the parts running beside it, for /healthz (`serve` fills it); without it they show "off".
    """
    app = FastAPI(title="mailfeed", version="0.1.0", docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.store = store or open_store(settings.db_url, synchronous=settings.sqlite_synchronous)
    app.state.csp = CSP
    app.state.rendered_feeds = RenderedFeeds()
    app.state.health = health or Registry()

    app.add_middleware(Failures)  # inside SecurityHeaders: a 500 or 503 carries the headers too
    app.add_middleware(SecurityHeaders)
    app.add_middleware(HeadAsGet)  # outermost: HEAD gets the very headers GET would

    _error_handlers(app)
    _openapi_errors(app)
    app.mount("/static", StaticFiles(directory=templates_dir() / "static"), name="static")
    # The pages and feeds first: routes are matched in order, and they are most of the traffic.
    app.include_router(feeds.router)
    app.include_router(pages.router)
    app.include_router(api.router)
    app.include_router(account.router)
    app.include_router(admin.router)
    app.include_router(digest_pages.router)
    return app


class SecurityHeaders:
    """Pure ASGI middleware (cheaper than @app.middleware): security headers, Cache-Control
    and Vary, and the CSRF cookie when new.

    A header the route set itself (a page's own Content-Security-Policy, a feed's
    Cache-Control) is kept. The stylesheet under /static/ keeps its own caching.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        dynamic = not scope["path"].startswith("/static/")
        vary = _vary(scope["app"].state.settings.auth, scope["app"].state.settings.proxy_header) if dynamic else None

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message["headers"] = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers += [h for h in _SECURITY_RAW if h[0] not in present]
                if dynamic and b"cache-control" not in present:
                    headers.append(NO_STORE)
                if vary:
                    headers.append((b"vary", vary))
                new_csrf = scope.get("state", {}).get("new_csrf")
                if new_csrf:  # a token urlsafe-base64: nothing in it needs quoting
                    request = Request(scope)
                    cookie = f"{cookie_name(request, CSRF_COOKIE)}={new_csrf}; HttpOnly; Path=/; SameSite=strict"
                    if secure_cookies(request):
                        cookie += "; Secure"
                    headers.append((b"set-cookie", cookie.encode()))
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _vary(auth: str, proxy_header: str) -> bytes | None:
    """What, besides the URL, says who is reading (a secret feed key is in the URL itself)."""
    return {"proxy": proxy_header.encode(), "email": b"Cookie"}.get(auth)


class Failures:
    """Exceptions no handler took: 503 "database unavailable" when the database cannot be
    reached, else 500; either as a page or JSON (see `wants_html`).

    Starlette's own 500 is plain text, made outside every middleware (no security headers),
    and logged with a traceback per request. Here an outage is logged once, when it starts
    (no failure in the `OUTAGE_QUIET_SECONDS` before): every request in it fails alike,
    and /healthz says how long it lasts. Anything else is logged with its traceback, once.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.last_outage = -OUTAGE_QUIET_SECONDS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            if started:  # too late for another answer: the server ends the response
                raise
            await self.answer(exc, Request(scope))(scope, receive, send)

    def answer(self, exc: Exception, request: Request) -> Response:
        if database_unavailable(exc):
            now = time.monotonic()
            if now - self.last_outage > OUTAGE_QUIET_SECONDS:
                log.warning("database unavailable, answering 503 until it is back: %s", _reason(exc))
            self.last_outage = now
            return error_response(request, 503, "Database unavailable", "database unavailable")
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return error_response(request, 500, "Internal error", "internal error")


def database_unavailable(exc: BaseException) -> bool:
    """The database could not be reached or could not answer (down, restarting, locked, out of connections)."""
    if isinstance(exc, sa.exc.TimeoutError):  # no pooled connection came free in time
        return True
    if isinstance(exc, sa.exc.DBAPIError):
        return exc.connection_invalidated or isinstance(exc, (sa.exc.OperationalError, sa.exc.InterfaceError))
    return False


def _reason(exc: Exception) -> str:
    """The driver's error, first line only (a PostgreSQL one names host and port, never the password)."""
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    return f"{type(orig).__name__}: {lines[0][:300] if lines else ''}"


class HeadAsGet:
    """HEAD answered as GET without the body (RFC 9110 9.3.2), not 405.

    Uptime monitors and link checkers send HEAD, and routes declared for GET
    do not take it. The GET runs as it would (access checks included) on a
    copy of the scope; the server itself knows a HEAD response has no body.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_without_body)


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NeedSignIn)
    async def need_sign_in(request: Request, exc: NeedSignIn) -> Response:
        if not wants_html(request):
            return JSONResponse({"detail": str(exc) or "sign in required"}, status_code=401)
        if request.app.state.settings.auth == "email":
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/signin?next={quote(target, safe='')}", status_code=303)
        return error_page(
            request, 403, "Not signed in", "Your sign-in proxy did not say who you are; open mailfeed through it."
        )

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        if not wants_html(request):
            return JSONResponse({"detail": "not allowed"}, status_code=403)
        return error_page(request, 403, "Not allowed", "This feed is private and you are not one of its members.")

    @app.exception_handler(pages.ThreadMoved)
    async def thread_moved(request: Request, exc: pages.ThreadMoved) -> Response:
        """The same address with the thread's id now (a page, its Atom feed, or the API); temporary,
        since a message that links two threads may merge them again."""
        params = {**request.path_params, "thread_id": str(exc.thread_id)}
        path = request.app.url_path_for(request.scope["route"].name, **params)
        return RedirectResponse(path + (f"?{request.url.query}" if request.url.query else ""), status_code=307)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if wants_html(request) and exc.status_code >= 400:
            title = {404: "Not found", 400: "Bad request", 403: "Not allowed"}.get(exc.status_code, "Error")
            return error_page(request, exc.status_code, title, str(exc.detail))
        return await http_exception_handler(request, exc)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        status, message = invalid_request(exc)
        return error_response(request, status, "Not found" if status == 404 else "Bad request", message)


# what a path parameter names, for "no thread 'abc'"
_NOUNS = {"thread_id": "thread", "entry_id": "entry", "position": "attachment", "raw_id": "raw message"}


def invalid_request(exc: RequestValidationError) -> tuple[int, str]:
    """FastAPI's 422 as 404 when the path names nothing that can exist (`/t/abc`, an id past
    the database's range), else 400 naming the parameter and what it must be."""
    errors = exc.errors()
    if not errors:
        return 400, "invalid request"
    first = errors[0]
    loc = [str(part) for part in first.get("loc", ())]
    where, name = (loc[0], loc[-1]) if loc else ("", "request")
    if first.get("type") == "missing":
        return 400, f"{name} is required"
    value = first.get("input")
    shown = _shown(value) if isinstance(value, str | int | float) else ""
    if where == "path":
        return 404, f"no {_NOUNS.get(name, name)} {shown}"
    msg = str(first.get("msg", "invalid")).removeprefix("Input ").removeprefix("Value error, ")
    return 400, f"invalid {name}{' ' + shown if shown else ''}: {msg[:1].lower() + msg[1:]}"


def _shown(value: str | int | float) -> str:
    """A parameter's value as an error message quotes it: a number as is, anything else in quotes, escaped."""
    text = str(value)
    return text[:100] if text.isascii() and text.lstrip("-").isdigit() else repr(text[:100])


def error_response(request: Request, status: int, title: str, message: str) -> Response:
    """An error as a page for a browser, else as JSON `{"detail": message}`."""
    if not wants_html(request):
        return JSONResponse({"detail": message}, status_code=status)
    try:
        return error_page(request, status, title, message)
    except Exception:  # the page itself failed (a broken install): the plain words still help
        log.exception("error page %d could not be rendered", status)
        return PlainTextResponse(message, status_code=status)


def error_page(request: Request, status: int, title: str, message: str) -> Response:
    return pages.page(request, "error.html", {"status": status, "title": title, "message": message}, status_code=status)


def _openapi_errors(app: FastAPI) -> None:
    """/openapi.json as the app answers: FastAPI lists a 422 on every operation with
    parameters; the app answers those requests 400 (and 404 for a path), with a Problem."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        problem = {"description": "Bad request", "content": {"application/json": {"schema": _PROBLEM}}}
        for item in schema.get("paths", {}).values():
            for op in item.values():
                responses = op.get("responses", {})
                if responses.pop("422", None) is None:
                    continue
                responses.setdefault("400", problem)
                if any(p.get("in") == "path" for p in op.get("parameters", ())):
                    responses.setdefault("404", {**problem, "description": "Not found"})
        for unused in ("HTTPValidationError", "ValidationError"):
            schema.get("components", {}).get("schemas", {}).pop(unused, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


_PROBLEM = {"$ref": "#/components/schemas/Problem"}
