"""`mailfeed imap add|sync|status`: the IMAP side of the CLI.

Registered on the main app by gateway/cli.py (`register`); shares its error
and settings helpers, imported when a command runs.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

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
    from gateway.ingest.imap import new_source
    from gateway.store import queries

    try:
        source = new_source(url=url, password_file=password_file, password_env=password_env, after=after)
    except ValueError as exc:
        fail(str(exc).replace("--imap-password", "--password"))
    store = _store(_settings())
    with store.write() as session, session.begin():
        feed = queries.feed_by_slug(session=session, slug=slug)
        if feed is None or feed.id is None:
            fail(f"no feed {slug!r}; create it with `mailfeed feed add`")
        try:
            source_id = imap_state.add_source(session=session, feed_id=feed.id, **source)
        except imap_state.SourceExists as exc:
            fail(str(exc))
    typer.echo(f"IMAP source {source_id}: feed {slug} follows {source['url']}")


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
    from gateway.ingest.drain import Drain
    from gateway.ingest.imap import sync_once
    from gateway.worker import analyser

    store = _store(settings)
    with store.read() as session:
        sources = imap_state.list_sources(session=session)
    if not sources:
        typer.echo("no IMAP sources; add one with `mailfeed feed add … --imap URL` or `mailfeed imap add`", err=True)
        return
    failed = 0
    started = time.perf_counter()
    with analyser(settings) as run:
        drain = Drain(store, settings, run)  # processes batch by batch while the next is fetched
        try:
            for src in sources:
                with _SyncProgress(src.label) as progress:
                    r = sync_once(store=store, settings=settings, src=src, on_commit=drain.wake, progress=progress)
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
            counts = drain.finish()
    elapsed = time.perf_counter() - started
    typer.echo(
        "processed: "
        + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "nothing new")
        + f" in {elapsed:.1f} s"
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
def imap_status() -> None:
    """Every IMAP source: id, feed, URL, after action, cursor, lease, last success, last error."""
    from gateway.cli import _settings, _store
    from gateway.ingest import imap_state

    store = _store(_settings())
    with store.read() as session:
        rows = imap_state.statuses(session=session)
    for r in rows:
        cursor = f"{r.uidvalidity}/{r.last_uid}" if r.uidvalidity is not None else "-"
        lease = _lease(r.lease_holder, r.lease_expires_at)
        ok = r.last_ok_at.isoformat(timespec="seconds") if r.last_ok_at else "never"
        when = r.last_error_at.isoformat(timespec="seconds") if r.last_error_at else "?"
        error = f"error at {when}: {r.last_error}" if r.last_error else "ok"
        typer.echo(
            f"{r.source.id}\t{r.source.feed_slug}\t{r.source.url}\tafter={r.source.after}\t"
            f"password from {r.source.password_origin}\tcursor {cursor}\t{lease}\tlast ok {ok}\t{error}"
        )
    if not rows:
        typer.echo("no IMAP sources", err=True)


def _lease(holder: str, expires_at: datetime | None) -> str:
    """`lease free`, `lease HOLDER until T`, or `lease HOLDER expired at T` (an instance that died)."""
    if not holder or expires_at is None:
        return "lease free"
    when = expires_at.isoformat(timespec="seconds")
    return f"lease {holder} until {when}" if expires_at > datetime.now(UTC) else f"lease {holder} expired at {when}"
