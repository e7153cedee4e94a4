"""create_app(settings): the FastAPI application, with security headers on every response."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from gateway.config import Settings
from gateway.store.db import Store, open_store
from gateway.web import api, pages

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; img-src 'self'; style-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def create_app(settings: Settings, store: Store | None = None) -> FastAPI:
    """The web app over `store` (opened from settings when not given)."""
    app = FastAPI(title="mailfeed", version="0.1.0", docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.store = store or open_store(settings.db_url, synchronous=settings.sqlite_synchronous)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    app.include_router(api.router)
    app.include_router(pages.router)
    return app
