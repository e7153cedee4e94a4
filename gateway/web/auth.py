"""Who is reading: `MAILFEED_AUTH` = open | proxy | email, secret feed URLs, CSRF.

- open: no identities; every visitor is the local admin. `serve` allows it
  only on a loopback address.
- proxy: a reverse proxy (oauth2-proxy, company SSO) that connects from an
  address in `PROXY_TRUSTED` names the reader in `PROXY_HEADER`; the header
  from anyone else is ignored, and one from the proxy that is not one bare
  address (`Bo <bo@example.com>`) is refused with a 400.
- email: a sign-in link mailed through `RELAY_URL` (single use, expiring after
  `SIGNIN_MINUTES`) opens a session kept in the database (so several
  instances share it) for `SESSION_DAYS`.

Feed readers cannot sign in: a secret `?key=` on feed and attachment URLs
reads as the reader who made it, until revoked. Admins are `ADMINS`.
Forms carry a CSRF token that must equal the CSRF cookie (double submit),
and cross-site form posts are refused whatever they carry.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from fastapi import HTTPException, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from gateway.config import Settings
from gateway.store import access, views

SESSION_COOKIE = "mailfeed-session"
CSRF_COOKIE = "mailfeed-csrf"
KEY_PARAM = "key"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Viewer:
    """The reader of one request."""

    email: str | None
    admin: bool = False
    via_key: bool = False  # came with a secret feed URL: may read feeds and attachments only

    @property
    def known(self) -> bool:
        return self.admin or self.email is not None


ANONYMOUS = Viewer(email=None)


class NeedSignIn(Exception):
    """Raised where a page or resource needs a reader and there is none."""


class Forbidden(Exception):
    """The reader may not see this (a private feed they are not a member of)."""


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


def secure_cookies(request: Request) -> bool:
    """Cookies are Secure (and __Host- prefixed) unless this is plain-HTTP `open` mode on loopback."""
    return settings_of(request).auth != "open" or request.url.scheme == "https"


def cookie_name(request: Request, base: str) -> str:
    return f"__Host-{base}" if secure_cookies(request) else base


async def viewer(request: Request, *, allow_key: bool = False) -> Viewer:
    """The request's reader (cached on the request)."""
    cached = getattr(request.state, "viewer", None)
    if cached is not None:
        return cached
    if not _needs_database(request, allow_key):
        return reader(request, None, allow_key=allow_key)  # skip the thread hop
    return await run_in_threadpool(reader, request, None, allow_key=allow_key)


def reader(request: Request, db: views.Db | None, *, allow_key: bool = False) -> Viewer:
    """`viewer` for a worker thread: a session cookie or feed key is looked up through `db`.

    The page and feed routes call it inside their one read, so a request takes one
    thread hop and one database connection, whatever the sign-in mode.
    """
    cached = getattr(request.state, "viewer", None)
    if cached is None:
        if not _needs_database(request, allow_key):
            cached = _resolve(request, allow_key, None)
        elif isinstance(db, Session):
            cached = _resolve(request, allow_key, db)
        else:
            with Session(bind=db) if db is not None else request.app.state.store.read() as session:
                cached = _resolve(request, allow_key, session)
        request.state.viewer = cached
    return cached


def _needs_database(request: Request, allow_key: bool) -> bool:
    if allow_key and request.query_params.get(KEY_PARAM):
        return True
    return settings_of(request).auth == "email" and bool(request.cookies.get(cookie_name(request, SESSION_COOKIE)))


def _resolve(request: Request, allow_key: bool, session: Session | None) -> Viewer:
    settings = settings_of(request)
    admins = settings.admin_addresses
    key = request.query_params.get(KEY_PARAM) if allow_key else None
    if key:
        assert session is not None
        email = access.feed_token_email(session=session, token=key)
        if email is None:
            raise NeedSignIn("this feed URL is not valid (revoked?)")
        return Viewer(email=email, via_key=True)
    if settings.auth == "open":
        return Viewer(email=None, admin=True)
    if settings.auth == "proxy":
        email = _proxy_user(request, settings)
    else:
        token = request.cookies.get(cookie_name(request, SESSION_COOKIE))
        email = None
        if token:
            assert session is not None
            email = access.session_email(session=session, token=token)
    if email is None:
        return ANONYMOUS
    return Viewer(email=email, admin=email in admins)


def _proxy_user(request: Request, settings: Settings) -> str | None:
    """The address the proxy names; None for no header or a peer that is not the proxy.

    A value that is not one bare address (`Bo <bo@example.com>`, `<bo@example.com>`, a list)
    is refused with a 400, not read as a name: the proxy is misconfigured, and guessing
    which address it meant could sign in the wrong person.
    """
    value = request.headers.get(settings.proxy_header, "").strip().lower()
    if not value or request.client is None:
        return None
    try:
        peer = ipaddress.ip_address(request.client.host)
    except ValueError:
        return None
    if not any(peer in net for net in settings.trusted_proxies):
        return None
    if not bare_address(value):
        _log_bad_header(request, settings.proxy_header, value)
        raise HTTPException(
            400,
            detail=f"{settings.proxy_header} from the sign-in proxy is {value[:200]!r}, not one bare address "
            "such as name@example.com: the proxy is misconfigured; tell whoever runs mailfeed.",
        )
    return value


_NOT_IN_ADDRESS = frozenset(' <>()[],;:"\\')


def bare_address(value: str) -> bool:
    """`local@domain` and nothing else: no display name, angle brackets, comment, list or blank."""
    local, _, domain = value.partition("@")
    return (
        bool(local and domain)
        and "@" not in domain
        and all(c.isprintable() and c not in _NOT_IN_ADDRESS for c in value)
    )


def _log_bad_header(request: Request, header: str, value: str) -> None:
    """Log a refused header value once per app, not on every request a misconfigured proxy sends."""
    logged: set[str] | None = getattr(request.app.state, "bad_proxy_headers", None)
    if logged is None:
        logged = request.app.state.bad_proxy_headers = set()
    if value in logged or len(logged) >= 100:  # bounded: the values come from requests
        return
    logged.add(value)
    log.warning("refused %s %r from the proxy: not one bare address (logged once per value)", header, value[:200])


def visible_feeds(request: Request, session: object, who: Viewer) -> set[int]:
    """Feed ids `who` may read; raises NeedSignIn for an anonymous reader outside `open` mode."""
    require_reader(who)
    return access.visible_feed_ids(session=session, email=who.email, admin=who.admin)  # type: ignore[arg-type]


def require_reader(who: Viewer) -> None:
    """Raise NeedSignIn for an anonymous reader outside `open` mode (before anything is looked up)."""
    if not who.known:
        raise NeedSignIn("sign in to read")


def check_feed(db: views.Db, who: Viewer, feed: views.FeedHead) -> None:
    """Raise Forbidden unless `who` may read `feed`: `visible_feeds`' rule, for one feed."""
    if who.admin or not feed.private:
        return
    if who.email and access.matches(who.email, views.feed_members(session=db, feed_id=feed.id)):
        return
    raise Forbidden(feed.slug)


def may_sign_in(settings: Settings, email: str, members: list[str]) -> bool:
    """Whether a sign-in link may be mailed to `email`: READERS (else ALLOWED_SENDERS), admins, members."""
    patterns = settings.reader_patterns
    if not patterns:
        return True
    return email in settings.admin_addresses or access.matches(email, patterns) or access.matches(email, members)


def session_lifetime(settings: Settings) -> timedelta:
    return timedelta(days=settings.session_days)


# --- CSRF ----------------------------------------------------------------------


def csrf_token(request: Request) -> str:
    """The CSRF token for forms on this page; sets the cookie when the browser has none."""
    existing = request.cookies.get(cookie_name(request, CSRF_COOKIE))
    if existing:
        return existing
    new = getattr(request.state, "new_csrf", None)
    if new is None:
        new = secrets.token_urlsafe(24)
        request.state.new_csrf = new
    return new


def csrf_ok(request: Request, submitted: str | None) -> bool:
    if request.headers.get("sec-fetch-site") == "cross-site":
        return False
    cookie = request.cookies.get(cookie_name(request, CSRF_COOKIE))
    return bool(cookie and submitted and hmac.compare_digest(cookie, submitted))
