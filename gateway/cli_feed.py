"""`mailfeed feed …` and `mailfeed token …`: feeds, who may post to them and who may read them.

Registered on the main app by gateway/cli.py (`register`); shares its error
and settings helpers, imported when a command runs.
"""

from __future__ import annotations

import re
from typing import Annotated

import typer

feed_app = typer.Typer(help="Create and list feeds; who may post to them and who may read them.", no_args_is_help=True)
token_app = typer.Typer(
    help="Secret feed URLs for feed readers (they read as their owner; revocable).", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(feed_app, name="feed")
    app.add_typer(token_app, name="token")


@feed_app.command("add")
def feed_add(
    slug: str,
    address: str,
    title: Annotated[str, typer.Option(help="Shown on pages and feeds; defaults to SLUG.")] = "",
    imap: Annotated[
        str | None,
        typer.Option(help="Also follow this mailbox: imaps://USER@HOST[:PORT]/FOLDER or imap://… (STARTTLS)."),
    ] = None,
    imap_password_file: Annotated[str | None, typer.Option(help="File holding the IMAP password.")] = None,
    imap_password_env: Annotated[
        str | None, typer.Option(help="Environment variable holding the IMAP password.")
    ] = None,
    imap_after: Annotated[str, typer.Option(help="After a message is stored: none, seen or move:FOLDER.")] = "none",
) -> None:
    """Create a feed: mail to ADDRESS becomes posts in feed SLUG (and, with --imap, mail in that mailbox)."""
    from gateway.cli import _settings, _store, fail
    from gateway.ingest import imap_state
    from gateway.store import writes

    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", slug):
        fail(f"slug {slug!r}: use 1-64 lower-case letters, digits, '-' or '_'")
    if not _ADDRESS.fullmatch(address):
        fail(f"address {address!r} is not an email address")
    source = _imap_source(imap, imap_password_file, imap_password_env, imap_after)
    store = _store(_settings())
    try:
        with store.write() as session, session.begin():
            feed = writes.add_feed(session=session, slug=slug, address=address, title=title)
            if source is not None:
                assert feed.id is not None
                imap_state.add_source(session=session, feed_id=feed.id, **source)
    except writes.FeedExists as exc:
        fail(str(exc))
    following = f", following {imap_state.readable_url(source['url'])}" if source else ""
    typer.echo(f"feed {feed.slug} <{feed.address}> created{following}")


def _imap_source(
    url: str | None, password_file: str | None, password_env: str | None, after: str
) -> dict[str, str] | None:
    """The checked IMAP options of `feed add` / `imap add`, or None without a URL."""
    from gateway.cli import fail
    from gateway.ingest.imap import new_source

    if url is None:
        if password_file or password_env or after != "none":
            fail("--imap-password-file, --imap-password-env and --imap-after need --imap URL")
        return None
    try:
        return new_source(url=url, password_file=password_file, password_env=password_env, after=after)
    except ValueError as exc:
        fail(str(exc))


@feed_app.command("edit")
def feed_edit(
    slug: str,
    address: Annotated[
        str | None, typer.Option(help="The feed's new address (mail to the old one is refused).")
    ] = None,
    title: Annotated[str | None, typer.Option(help="Shown on pages and feeds; empty: the slug.")] = None,
) -> None:
    """Change feed SLUG's address or title (the slug stays: every URL of the feed carries it)."""
    from gateway.cli import _settings, _store, fail
    from gateway.store import feed_admin, queries

    if address is None and title is None:
        fail("nothing to change: give --address and/or --title")
    if address is not None and not _ADDRESS.fullmatch(address):
        fail(f"address {address!r} is not an email address")
    store = _store(_settings())
    with store.write() as session, session.begin():
        feed = queries.feed_by_slug(session=session, slug=slug)
        if feed is None:
            fail(f"no feed {slug!r}")
        try:
            feed_admin.edit_feed(session=session, feed=feed, address=address, title=title)
        except feed_admin.FeedInUse as exc:
            fail(str(exc))
        shown = f"feed {feed.slug} <{feed.address}> {feed.title!r}"
    typer.echo(f"{shown} changed")


@feed_app.command("remove")
def feed_remove(
    slug: str,
    delete_mail: Annotated[
        bool, typer.Option("--delete-mail", help="Also delete the feed's stored mail, posts and comments, for good.")
    ] = False,
) -> None:
    """Remove feed SLUG: mail to its address is refused from then on.

    A feed that holds mail is removed only with --delete-mail, which deletes
    its messages, threads, attachments, subscriptions and IMAP sources too.
    """
    from gateway.cli import _settings, _store, fail
    from gateway.store import feed_admin, queries

    store = _store(_settings())
    with store.write() as session, session.begin():
        feed = queries.feed_by_slug(session=session, slug=slug)
        if feed is None:
            fail(f"no feed {slug!r}")
        try:
            gone = feed_admin.remove_feed(session=session, feed=feed, with_mail=delete_mail)
        except feed_admin.FeedInUse as exc:
            fail(str(exc))
    typer.echo(
        f"feed {slug} removed, with {_n(gone.messages, 'stored message')} in {_n(gone.threads, 'thread')}, "
        f"{_n(gone.subscriptions, 'subscription')} and {_n(gone.sources, 'IMAP source')}"
    )


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


_ADDRESS = re.compile(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+")


@feed_app.command("private")
def feed_private(
    slug: str,
    members: Annotated[list[str], typer.Argument(help="Addresses (ann@example.com) or domains (example.com).")],
) -> None:
    """Make feed SLUG private to MEMBERS (replaces the earlier list); admins always see it."""
    from gateway.cli import _settings, _store, fail
    from gateway.store import access, queries

    for m in members:
        if not re.fullmatch(r"(?:[^@\s<>]+@)?[^@\s<>]+\.[^@\s<>]+", m):
            fail(f"{m!r} is neither an address (ann@example.com) nor a domain (example.com)")
    store = _store(_settings())
    with store.write() as session, session.begin():
        feed = queries.feed_by_slug(session=session, slug=slug)
        if feed is None or feed.id is None:
            fail(f"no feed {slug!r}")
        access.set_private(session=session, feed_id=feed.id, members=members)
    typer.echo(f"feed {slug} is private to: {', '.join(members)}")


@feed_app.command("public")
def feed_public(slug: str) -> None:
    """Make feed SLUG readable by every signed-in reader again."""
    from gateway.cli import _settings, _store, fail
    from gateway.store import access, queries

    store = _store(_settings())
    with store.write() as session, session.begin():
        feed = queries.feed_by_slug(session=session, slug=slug)
        if feed is None or feed.id is None:
            fail(f"no feed {slug!r}")
        access.set_public(session=session, feed_id=feed.id)
    typer.echo(f"feed {slug} is public")


@token_app.command("add")
def token_add(email: str, label: Annotated[str, typer.Option(help="Which feed reader it is for.")] = "") -> None:
    """Make a secret feed key for EMAIL; prints it once (append ?key=KEY to a feed URL)."""
    from gateway.cli import _settings, _store, fail
    from gateway.store import access

    if not _ADDRESS.fullmatch(email):
        fail(f"{email!r} is not an email address")
    store = _store(_settings())
    with store.write() as session, session.begin():
        token_id, key = access.new_feed_token(session=session, email=email, label=label)
    typer.echo(f"token {token_id} for {email.lower()}: ?key={key}")


@token_app.command("list")
def token_list() -> None:
    """Secret feed keys: id, owner, label, created, revoked (the keys themselves are not stored)."""
    from gateway.cli import _settings, _store
    from gateway.store import access

    store = _store(_settings())
    with store.read() as session:
        for t in access.feed_tokens(session=session):
            revoked = f"revoked {t.revoked_at:%Y-%m-%d}" if t.revoked_at else "active"
            typer.echo(f"{t.id}\t{t.email}\t{t.label}\t{t.created_at:%Y-%m-%d}\t{revoked}")


@token_app.command("revoke")
def token_revoke(token_id: int) -> None:
    """Revoke secret feed key TOKEN_ID: its feed URLs stop working at once."""
    from gateway.cli import _settings, _store, fail
    from gateway.store import access

    store = _store(_settings())
    with store.write() as session, session.begin():
        if not access.revoke_feed_token(session=session, token_id=token_id):
            fail(f"no active token {token_id}")
    typer.echo(f"token {token_id} revoked")


@feed_app.command("policy")
def feed_policy(
    slug: str,
    senders: Annotated[
        str, typer.Option(help="Comma-separated domains and addresses that may post (empty: ALLOWED_SENDERS).")
    ] = "",
    members_only: Annotated[
        bool,
        typer.Option(
            "--members-only",
            help="Only the feed's members (see feed private) may post, and the senders listed, if any.",
        ),
    ] = False,
    unknown: Annotated[
        str, typer.Option(help="refuse (550 5.7.1 at SMTP time) or hold for an admin; empty: UNKNOWN_SENDERS.")
    ] = "",
) -> None:
    """Set who may post to feed SLUG and what happens to other senders.

    Each run sets the whole policy: an option left out goes back to its default.
    """
    from gateway.cli import _settings, _store, fail
    from gateway.store import queries
    from gateway.store.policies import set_policy

    if unknown not in ("", "refuse", "hold"):
        fail(f"--unknown {unknown!r}: use refuse or hold")
    settings = _settings()
    store = _store(settings)
    with store.write() as session, session.begin():
        feed = queries.feed_by_slug(session=session, slug=slug)
        if feed is None or feed.id is None:
            fail(f"no feed {slug!r}")
        set_policy(session, feed_id=feed.id, senders=senders, members_only=members_only, unknown=unknown)
    who = senders or ("ALLOWED_SENDERS" if settings.allowed else "")
    if members_only:
        who = f"{who} and members" if who else "members"
    typer.echo(f"feed {slug}: {who or 'anyone'} may post; others: {unknown or 'UNKNOWN_SENDERS'}")


@feed_app.command("list")
def feed_list() -> None:
    """List feeds: slug, address, title, thread count."""
    from gateway.cli import _settings, _store
    from gateway.store import queries

    store = _store(_settings())
    with store.read() as session:
        feeds = queries.list_feeds(session=session)
    for f in feeds:
        typer.echo(f"{f.slug}\t{f.address}\t{f.title}\t{f.thread_count} threads")
    if not feeds:  # on stderr: stdout stays the list scripts read (deploy/postfix builds a map of it)
        typer.echo("no feeds yet: `mailfeed feed add SLUG ADDRESS` creates one", err=True)
