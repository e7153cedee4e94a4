"""`mailfeed imap add|edit|remove|sync|status`: the IMAP side of the CLI.

Registered on the main app by gateway/cli.py (`register`); shares its error
and settings helpers, imported when a command runs.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

if TYPE_CHECKING:
    from gateway.ingest import imap_state

imap_app = typer.Typer(help="IMAP sources: existing mailboxes followed into feeds.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(imap_app, name="imap")


@imap_app.command("add")
def imap_add(
    slug: str,
    url: str,
    password_file: Annotated[str | None, typer.Option(help="File holding the IMAP password.")] = None,
    password_env: Annotated[str | None, typer.Option(help="Environment variable holding the IMAP password.")] = None,
    after: Annotated[str, typer.Option(help="After a message is stored: none, seen or move:FOLDER.")] = "none",
) -> None:
    """Follow one more mailbox into an existing feed SLUG."""
    from gateway.cli import _settings, _store, fail
    from gateway.ingest import imap_state
    from gateway.store import queries

    source = _checked(url=url, password_file=password_file, password_env=password_env, after=after)
    store = _store(_settings())
    with store.write() as session, session.begin():
        feed = queries.feed_by_slug(session=session, slug=slug)
        if feed is None or feed.id is None:
            fail(f"no feed {slug!r}; create it with `mailfeed feed add`")
        try:
            source_id = imap_state.add_source(session=session, feed_id=feed.id, **source)
        except imap_state.SourceExists as exc:
            fail(str(exc))
    typer.echo(f"IMAP source {source_id}: feed {slug} follows {imap_state.readable_url(source['url'])}")


def _checked(*, url: str, password_file: str | None, password_env: str | None, after: str) -> dict[str, str]:
    """A source's columns, checked as `feed add --imap` checks them; errors name this group's options."""
    from gateway.cli import fail
    from gateway.ingest.imap import new_source

    try:
        return new_source(url=url, password_file=password_file, password_env=password_env, after=after)
    except ValueError as exc:
        fail(str(exc).replace("--imap-", "--"))


@imap_app.command("edit")
def imap_edit(
    source_id: int,
    password_file: Annotated[str | None, typer.Option(help="File holding the IMAP password.")] = None,
    password_env: Annotated[str | None, typer.Option(help="Environment variable holding the IMAP password.")] = None,
    after: Annotated[str | None, typer.Option(help="After a message is stored: none, seen or move:FOLDER.")] = None,
    url: Annotated[
        str | None, typer.Option(help="imaps:// for imap:// or another port; the same user, host and folder.")
    ] = None,
) -> None:
    """Change where source ID's password comes from, its after action, or how it is reached.

    The user, host and folder are the mailbox: its cursor counts that folder's
    UIDs, so another mailbox is another source (refused, naming remove and add).
    A running `serve` connects again with the change within 10 s.
    """
    from gateway.cli import _settings, _store, fail
    from gateway.ingest import imap_state

    if not (password_file or password_env or after or url):
        fail("nothing to change: give --password-file, --password-env, --after or --url")
    store = _store(_settings())
    with store.write() as session, session.begin():
        src = imap_state.get_source(session=session, source_id=source_id)
        if src is None:
            _no_source(source_id)
        new_password = bool(password_file or password_env)
        cols = _checked(
            url=url or src.url,
            password_file=password_file if new_password else src.password_file,
            password_env=password_env if new_password else src.password_env,
            after=src.after if after is None else after,
        )
        _same_mailbox(src, cols["url"])
        try:
            imap_state.change_source(session=session, src=src, **cols)
        except imap_state.SourceExists as exc:
            fail(str(exc))
    origin = (
        f"file {cols['password_file']}" if cols["password_file"] else f"environment variable {cols['password_env']}"
    )
    typer.echo(
        f"IMAP source {source_id} ({imap_state.readable_url(cols['url'])}): after={cols['after']}, password from "
        f"{origin}; a running serve connects again with it within 10 s" + _after_note(src.after, cols["after"])
    )


def _same_mailbox(src: imap_state.Source, url: str) -> None:
    """Fail unless `url` names the source's user, host and folder (the scheme and port may change)."""
    from gateway.cli import fail
    from gateway.ingest import imap_state
    from gateway.ingest.imap import parse_url

    was, now = parse_url(src.url), parse_url(url)
    if (now.user, now.host, now.folder) != (was.user, was.host, was.folder):
        fail(
            f"{imap_state.readable_url(url)} is another mailbox than source {src.id}'s "
            f"{imap_state.readable_url(src.url)}, whose cursor counts the UIDs of its folder: follow it with "
            f"`mailfeed imap add {src.feed_slug} URL …` and stop this one with `mailfeed imap remove {src.id}`"
        )


def _after_note(was: str, now: str) -> str:
    """What a new after action does to the mail stored before: a pass takes up what it finds not yet done."""
    if now == was or now == "none":
        return ""
    done = "flags \\Seen on" if now == "seen" else f"moves to {now[5:]}"
    return f"; its next pass also {done} the messages it stored before that are still in the folder"


@imap_app.command("remove")
def imap_remove(source_id: int) -> None:
    """Stop following source ID: its cursor and lease go; the messages it stored stay in the feed.

    A running `serve` lets go of it within 10 s.
    """
    from gateway.cli import _settings, _store
    from gateway.ingest import imap_state
    from gateway.ingest.imap import parse_url

    store = _store(_settings())
    with store.write() as session, session.begin():
        src = imap_state.get_source(session=session, source_id=source_id)
        if src is None:
            _no_source(source_id)
        user = parse_url(src.url).user
        stored = imap_state.stored_count(session=session, feed_id=src.feed_id, user=user)
        sharing = [
            s.id
            for s in imap_state.list_sources(session=session)
            if s.id != src.id and s.feed_id == src.feed_id and parse_url(s.url).user == user
        ]
        holder = imap_state.remove_source(session=session, source_id=source_id)
    if sharing:  # raw rows name the account, not the source: the count is theirs together
        others = ", ".join(map(str, sharing))
        kept = (
            f"the messages it stored stay ({stored} in feed {src.feed_slug} came as {user}, by it and source {others})"
        )
    else:
        kept = f"the {stored} message it stored stays" if stored == 1 else f"the {stored} messages it stored stay"
    typer.echo(
        f"removed source {source_id} ({imap_state.readable_url(src.url)}); {kept}"
        + (f"; serve {holder} stops following it within 10 s" if holder else "")
    )


def _no_source(source_id: int) -> NoReturn:
    from gateway.cli import fail

    fail(f"no IMAP source {source_id}; `mailfeed imap status` lists them")


@imap_app.command("sync")
def imap_sync() -> None:
    """One pass over every IMAP source, then process what came in (for cron); exit 1 if a source failed.

    A source that a running `serve` (or another sync) holds the lease of is skipped, saying who and until when.
    """
    from gateway import forks
    from gateway.cli import _settings, _store

    settings = _settings()
    forks.start(settings)
    from gateway.ingest import imap_state
    from gateway.ingest.drain import Drain, outcomes
    from gateway.ingest.imap import sync_once
    from gateway.worker import analyser

    store = _store(settings)
    with store.read() as session:
        sources = imap_state.list_sources(session=session)
    if not sources:
        typer.echo("no IMAP sources; add one with `mailfeed feed add … --imap URL` or `mailfeed imap add`", err=True)
        return
    failed, mine = 0, []
    started = time.perf_counter()
    with analyser(settings) as run:
        drain = Drain(store, settings, run)  # processes batch by batch while the next is fetched
        try:
            for src in sources:
                with _SyncProgress(src.label) as progress:
                    r = sync_once(store=store, settings=settings, src=src, on_commit=drain.wake, progress=progress)
                mine += r.pending_ids
                if r.held is not None:
                    typer.echo(f"{src.label}: {'stopped' if r.stored else 'skipped'}, {r.held}")
                elif r.error:
                    failed += 1
                    typer.echo(f"{src.label}: error: {r.error}", err=True)
                else:
                    typer.echo(
                        f"{src.label}: {r.found} new, {r.refused} refused, "
                        + (f"{r.deleted} flagged deleted (not posted), " if r.deleted else "")
                        + f"cursor {r.uidvalidity}/"
                        f"{r.last_uid}, fetched and stored in {r.seconds:.1f} s"
                        + (" (UIDVALIDITY changed: read again)" if r.resync else "")
                    )
        finally:
            drain.finish()
    # what became of the messages this sync stored, whoever processed them (a running serve may)
    counts, still = outcomes(store, mine)
    elapsed = time.perf_counter() - started
    typer.echo(
        "processed: "
        + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "nothing new")
        + f" in {elapsed:.1f} s"
        + (f"; {still} still being processed by another processor (a running mailfeed serve)" if still else "")
    )
    if failed:
        raise typer.Exit(1)


class _SyncProgress:
    """A progress bar on stderr for one source's pass, shown once there is something to fetch."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: Any = None  # typer's ProgressBar, opened at the first message

    def __enter__(self) -> _SyncProgress:
        return self

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None and total:
            self.bar = typer.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar.__enter__()
        if self.bar is not None:
            self.bar.update(done)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


@imap_app.command("status")
def imap_status(
    refused: Annotated[
        bool, typer.Option("--refused", help="List every message the limits refused and left in its folder instead.")
    ] = False,
) -> None:
    """Every IMAP source: id, feed, URL, after action, cursor, lease, last success, last error.

    With --refused, one line per message not stored: source, UID, size, when the server got it, and why.
    """
    from gateway.cli import _settings, _store
    from gateway.ingest import imap_state

    store = _store(_settings())
    if refused:
        _refused(store)
        return
    with store.read() as session:
        rows = imap_state.statuses(session=session)
    for r in rows:
        cursor = f"{r.uidvalidity}/{r.last_uid}" if r.uidvalidity is not None else "-"
        lease = _lease(r.lease_holder, r.lease_expires_at)
        ok = r.last_ok_at.isoformat(timespec="seconds") if r.last_ok_at else "never"
        when = r.last_error_at.isoformat(timespec="seconds") if r.last_error_at else "?"
        error = f"error at {when}: {r.last_error}" if r.last_error else "ok"
        typer.echo(
            f"{r.source.id}\t{r.source.feed_slug}\t{imap_state.readable_url(r.source.url)}\tafter={r.source.after}\t"
            f"password from {r.source.password_origin}\tcursor {cursor}\t{lease}\tlast ok {ok}\t{error}"
        )
    if not rows:
        typer.echo("no IMAP sources", err=True)


def _refused(store: Any) -> None:
    """`imap status --refused`: the messages the last error counts, each named (it names ten of a reason)."""
    from gateway.ingest import imap_refusals

    with store.read() as session:
        kept = imap_refusals.kept(session=session)
    for source_id, skipped in kept.items():
        for uid, r in sorted(skipped.refused.items()):
            typer.echo(f"{source_id}\tUID {uid}\t{r.size} bytes\treceived {r.received or '?'}\t{r.reason}")
    if not any(s.refused for s in kept.values()):
        typer.echo("no refused messages", err=True)


def _lease(holder: str, expires_at: datetime | None) -> str:
    """`lease free`, `lease HOLDER until T`, or `lease HOLDER expired at T` (an instance that died)."""
    if not holder or expires_at is None:
        return "lease free"
    when = expires_at.isoformat(timespec="seconds")
    return f"lease {holder} until {when}" if expires_at > datetime.now(UTC) else f"lease {holder} expired at {when}"
