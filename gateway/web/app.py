"""create_app(settings): the FastAPI application, with security headers on every response."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, RedirectResponse
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

    app.add_middleware(SecurityHeaders)
    app.add_middleware(HeadAsGet)  # outermost: HEAD gets the very headers GET would

    _error_handlers(app)
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
    """Pure ASGI middleware (cheaper than @app.middleware): security headers, and the CSRF cookie when new.

    A header the route set itself (a page's own Content-Security-Policy) is kept.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message["headers"] = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers += [h for h in _SECURITY_RAW if h[0] not in present]
                new_csrf = scope.get("state", {}).get("new_csrf")
                if new_csrf:  # a token urlsafe-base64: nothing in it needs quoting
                    request = Request(scope)
                    cookie = f"{cookie_name(request, CSRF_COOKIE)}={new_csrf}; HttpOnly; Path=/; SameSite=strict"
                    if secure_cookies(request):
                        cookie += "; Secure"
                    headers.append((b"set-cookie", cookie.encode()))
            await send(message)

        await self.app(scope, receive, send_with_headers)


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


def error_page(request: Request, status: int, title: str, message: str) -> Response:
    return pages.page(request, "error.html", {"status": status, "title": title, "message": message}, status_code=status)
