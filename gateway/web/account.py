"""Sign-in by mailed link (`AUTH=email`), sign-out, and a reader's secret feed URLs.

The link in the mail opens a page with a button: the session starts only on
that POST, so a mail scanner that fetches links cannot spend the link.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from typing import Annotated
from urllib.parse import unquote, urlsplit

import sqlalchemy as sa
from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from gateway.config import Settings
from gateway.store import access
from gateway.store.db import Store
from gateway.store.models import Feed
from gateway.web.auth import (
    SESSION_COOKIE,
    NeedSignIn,
    cookie_name,
    csrf_ok,
    may_sign_in,
    secure_cookies,
    session_lifetime,
    settings_of,
    viewer,
)
from gateway.web.pages import page
from gateway.web.schemas import Id

router = APIRouter(include_in_schema=False)
NEW_KEY_COOKIE = "mailfeed-new-key"
NEW_KEY_SECONDS = 120
log = logging.getLogger(__name__)


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no host, no `//`): never an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target if not urlsplit(target).netloc else "/"


def _csrf_or_403(request: Request, token: str | None) -> None:
    if not csrf_ok(request, token):
        raise HTTPException(403, detail="The form expired or came from another site; reload the page and try again.")


def _email_mode(request: Request) -> Settings:
    settings = settings_of(request)
    if settings.auth != "email":
        raise HTTPException(404, detail="sign-in by email is not enabled (MAILFEED_AUTH)")
    return settings


@router.get("/signin", response_class=HTMLResponse)
async def signin_form(request: Request, next: str = "/") -> HTMLResponse:
    _email_mode(request)
    await viewer(request)
    return page(request, "signin.html", {"next": _safe_next(next), "sent": None})


@router.post("/signin", response_class=HTMLResponse)
async def signin_request(
    request: Request,
    email: Annotated[str, Form(max_length=320)],
    csrf: Annotated[str | None, Form()] = None,
    next: Annotated[str, Form()] = "/",
) -> HTMLResponse:
    settings = _email_mode(request)
    _csrf_or_403(request, csrf)
    await viewer(request)
    address = email.strip().lower()
    if "@" not in address or any(c.isspace() for c in address):
        return page(
            request,
            "signin.html",
            {"next": _safe_next(next), "sent": None, "error": "That is not an email address."},
            status_code=400,
        )

    def make() -> str | None:
        with request.app.state.store.write() as session, session.begin():
            members = access.all_members(session=session)
            if not may_sign_in(settings, address, members):
                return None
            return access.new_signin(
                session=session, email=address, lifetime=timedelta(minutes=settings.signin_minutes)
            )

    token = await run_in_threadpool(make)
    if token is not None:
        # the mailed link's host is the setting's: from the request's Host header, anyone asking a
        # sign-in link for someone else's address could send it to a host of theirs
        link = f"{settings.public_url}/signin/{token}?next={_safe_next(next)}"
        try:
            await run_in_threadpool(send_signin_mail, settings, address, link, request.app.state.store)
        except (OSError, smtplib.SMTPException) as exc:
            log.error("cannot mail a sign-in link to %s: %s", address, exc)
            return page(
                request,
                "signin.html",
                {
                    "next": _safe_next(next),
                    "sent": None,
                    "error": "The sign-in mail could not be sent; try again later.",
                },
                status_code=503,
            )
    else:
        log.info("sign-in refused for %s (not in READERS/ALLOWED_SENDERS, not an admin or member)", address)
    # Same answer either way: the page must not tell who may read.
    return page(request, "signin.html", {"next": _safe_next(next), "sent": address})


def send_signin_mail(settings: Settings, to: str, link: str, store: Store) -> None:
    """Mail the link through RELAY_URL (smtp://, smtps://, smtp+starttls://user:pass@host:port)."""
    if not settings.relay_url:
        raise OSError("MAILFEED_RELAY_URL is not set")
    url = urlsplit(settings.relay_url)
    host, port = url.hostname or "127.0.0.1", url.port
    msg = EmailMessage()
    msg["From"] = _signin_sender(settings, store)
    msg["To"] = to
    msg["Subject"] = "Your mailfeed sign-in link"
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(
        f"Open this link to sign in to mailfeed:\n\n{link}\n\n"
        f"It works once, within {settings.signin_minutes} minutes. If you did not ask for it, ignore this mail.\n"
    )
    if url.scheme == "smtps":
        client: smtplib.SMTP = smtplib.SMTP_SSL(host, port or 465, timeout=30, context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(host, port or (587 if url.scheme == "smtp+starttls" else 25), timeout=30)
    with client:
        if url.scheme == "smtp+starttls":
            client.starttls(context=ssl.create_default_context())
        if url.username:
            client.login(unquote(url.username), unquote(url.password or ""))
        client.send_message(msg)


def _signin_sender(settings: Settings, store: Store) -> str:
    """DIGEST_FROM, else the oldest feed's address, as digests come from a feed's: a real address of
    the team's domain, where "mailfeed@" the web's host was "mailfeed@127.0.0.1" by default."""
    if settings.digest_from:
        return settings.digest_from
    with store.read() as session:
        address = session.scalar(sa.text("SELECT address FROM feed ORDER BY id LIMIT 1"))
    if address is None:
        raise OSError("no feed yet, so no address to send it from: set MAILFEED_DIGEST_FROM")
    return address


@router.get("/signin/{token}", response_class=HTMLResponse)
async def signin_confirm(request: Request, token: str, next: str = "/") -> HTMLResponse:
    _email_mode(request)
    await viewer(request)

    def check() -> str | None:
        with request.app.state.store.read() as session:
            return access.signin_pending(session=session, token=token)

    email = await run_in_threadpool(check)
    return page(
        request,
        "signin_confirm.html",
        {"email": email, "token": token, "next": _safe_next(next)},
        status_code=200 if email else 410,
    )


@router.post("/signin/{token}")
async def signin_finish(
    request: Request, token: str, csrf: Annotated[str | None, Form()] = None, next: Annotated[str, Form()] = "/"
) -> Response:
    settings = _email_mode(request)
    _csrf_or_403(request, csrf)

    def spend() -> str | None:
        with request.app.state.store.write() as session, session.begin():
            email = access.use_signin(session=session, token=token)
            return (
                None
                if email is None
                else access.new_session(session=session, email=email, lifetime=session_lifetime(settings))
            )

    session_token = await run_in_threadpool(spend)
    if session_token is None:
        await viewer(request)
        return page(request, "signin_confirm.html", {"email": None, "token": token, "next": "/"}, status_code=410)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        cookie_name(request, SESSION_COOKIE),
        session_token,
        max_age=settings.session_days * 86400,
        httponly=True,
        secure=secure_cookies(request),
        samesite="lax",
        path="/",
    )
    return response


@router.post("/signout")
async def signout(request: Request, csrf: Annotated[str | None, Form()] = None) -> Response:
    _csrf_or_403(request, csrf)
    token = request.cookies.get(cookie_name(request, SESSION_COOKIE))
    if token:

        def end() -> None:
            with request.app.state.store.write() as session, session.begin():
                access.end_session(session=session, token=token)

        await run_in_threadpool(end)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(
        cookie_name(request, SESSION_COOKIE), path="/", secure=secure_cookies(request), httponly=True
    )
    return response


@router.get("/account", response_class=HTMLResponse)
async def account_page(request: Request) -> HTMLResponse:
    """The reader's secret feed URLs; a key just made (`NEW_KEY_COOKIE`) is shown this once, then forgotten."""
    who = await viewer(request)
    if not who.known:
        raise NeedSignIn("sign in to see your account")
    fresh = request.cookies.get(cookie_name(request, NEW_KEY_COOKIE))

    def read() -> tuple[list[access.TokenInfo], NewKey | None]:
        if who.email is None:
            return [], None
        with request.app.state.store.read() as session:
            new = None
            if fresh and access.feed_token_email(session=session, token=fresh) == who.email:
                allowed = access.visible_feed_ids(session=session, email=who.email, admin=who.admin)
                feeds = session.scalars(sa.select(Feed).where(Feed.id.in_(allowed)))  # type: ignore[union-attr]
                slugs = sorted(f.slug for f in feeds)
                base = settings_of(request).base_url.rstrip("/") or str(request.base_url).rstrip("/")
                new = NewKey(fresh, [(slug, f"{base}/f/{slug}/feed.atom?key={fresh}") for slug in slugs])
            return access.feed_tokens(session=session, email=who.email), new

    tokens, new_key = await run_in_threadpool(read)
    response = page(
        request, "account.html", {"tokens": tokens, "new_key": new_key}, headers={"Cache-Control": "private, no-store"}
    )
    if fresh is not None:  # shown or not (another reader in this browser), the slot is spent
        response.delete_cookie(
            cookie_name(request, NEW_KEY_COOKIE), path="/", secure=secure_cookies(request), httponly=True
        )
    return response


@dataclass(frozen=True)
class NewKey:
    key: str
    urls: list[tuple[str, str]]  # (feed slug, its Atom URL with the key), the feeds the reader may read


@router.post("/account/tokens")
async def token_create(
    request: Request, csrf: Annotated[str | None, Form()] = None, label: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    """Make a secret feed key, then redirect (POST-redirect-GET: a reload makes no second key).

    The key is stored only hashed, so the one place it can wait for the page that shows it
    is the browser: a one-time cookie (HttpOnly, SameSite=Strict, two minutes), which the
    next /account page shows to its owner and deletes. Nothing is kept in this process.
    """
    _csrf_or_403(request, csrf)
    who = await viewer(request)
    if who.email is None:
        raise HTTPException(400, detail="secret feed URLs belong to a signed-in reader (not available with AUTH=open)")
    email = who.email

    def make() -> str:
        with request.app.state.store.write() as session, session.begin():
            return access.new_feed_token(session=session, email=email, label=label.strip())[1]

    token = await run_in_threadpool(make)
    response = RedirectResponse("/account", status_code=303)
    response.set_cookie(
        cookie_name(request, NEW_KEY_COOKIE),
        token,
        max_age=NEW_KEY_SECONDS,
        httponly=True,
        secure=secure_cookies(request),
        samesite="strict",
        path="/",
    )
    return response


@router.post("/account/tokens/{token_id}/revoke")
async def token_revoke(request: Request, token_id: Id, csrf: Annotated[str | None, Form()] = None) -> Response:
    _csrf_or_403(request, csrf)
    who = await viewer(request)
    if who.email is None:
        raise NeedSignIn("sign in to manage feed URLs")
    email = who.email

    def revoke() -> None:
        with request.app.state.store.write() as session, session.begin():
            access.revoke_feed_token(session=session, token_id=token_id, email=email)

    await run_in_threadpool(revoke)
    return RedirectResponse("/account", status_code=303)
