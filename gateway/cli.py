"""The `mailfeed` command: the composition root, the one module that sees every part.

It alone builds Settings from the environment; everything it starts gets
them passed in. Errors are one line on stderr naming what is wrong, exit 1.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from gateway import forks
from gateway.config import ConfigError, Settings, hide_password, load_settings
from gateway.logs import setup_logging
from gateway.store.db import Store, open_store

app = typer.Typer(
    help="mailfeed: an email-to-feed gateway.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,  # a traceback's locals could show secrets
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


def fail(message: str) -> NoReturn:
    typer.echo(f"mailfeed: error: {message}", err=True)
    raise typer.Exit(1)


def _settings() -> Settings:
    try:
        settings = load_settings()
    except ConfigError as exc:
        fail(str(exc))
    setup_logging(settings)
    return settings


def _store(settings: Settings) -> Store:
    try:
        return open_store(settings.db_url, synchronous=settings.sqlite_synchronous)
    except Exception as exc:  # wrong URL, server down, unwritable DATA_DIR
        where = f"MAILFEED_DATA_DIR={str(settings.data_dir)!r}, " if not settings.database_url else ""
        fail(
            f"cannot open the database ({where}{_safe_url(settings.db_url)}): {_without_password(exc, settings.db_url)}"
        )


def _safe_url(url: str) -> str:
    """The database URL without its password, for messages and logs."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # SQLAlchemy cannot read it: the same without its password, as settings errors show it
        return hide_password(url)[0]


def _without_password(exc: Exception, url: str) -> str:
    """An exception's text with the URL's password as ***: a driver's message may quote it (a password
    whose host was left out is read as the port, "invalid literal for int() …: 's3cr3t'")."""
    from urllib.parse import unquote

    text, password = str(exc), hide_password(url)[1]
    for form in {password, unquote(password)} - {""}:
        text = text.replace(form, "***")
    return text


def _switch(name: str, does: str) -> Any:
    """`--NAME/--no-NAME`; left out, MAILFEED_SERVE_NAME decides (default true)."""
    return typer.Option(
        f"--{name}/--no-{name}",
        show_default=False,
        help=f"{does} in this instance (default: MAILFEED_SERVE_{name.upper()}, true).",
    )


@app.command()
def serve(
    smtp: Annotated[bool | None, _switch("smtp", "Accept mail by SMTP")] = None,
    web: Annotated[bool | None, _switch("web", "Serve the web pages, feeds and API")] = None,
    imap: Annotated[bool | None, _switch("imap", "Follow the IMAP sources")] = None,
    digests: Annotated[bool | None, _switch("digests", "Send the digests that are due")] = None,
) -> None:
    """Run SMTP, the web server, IMAP followers and the digest scheduler (Ctrl-C or SIGTERM stops it).

    Each part can be left to other instances (--no-smtp … or MAILFEED_SERVE_*);
    the processor, which turns stored mail into posts, always runs.
    """
    from gateway.cli_serve import CannotListen, Parts, run

    settings = _settings()
    parts = Parts(
        smtp=settings.serve_smtp if smtp is None else smtp,
        web=settings.serve_web if web is None else web,
        imap=settings.serve_imap if imap is None else imap,
        digests=settings.serve_digests if digests is None else digests,
    )
    if not parts.any():
        fail(
            "nothing to serve: SMTP, web, IMAP and digests are all off (MAILFEED_SERVE_SMTP, MAILFEED_SERVE_WEB, "
            "MAILFEED_SERVE_IMAP, MAILFEED_SERVE_DIGESTS or --no-…); the processor alone only runs beside one of them"
        )
    if parts.web and settings.auth == "open" and not settings.http_is_loopback():
        fail(
            f"MAILFEED_HTTP_HOST={settings.http_host!r} is not a loopback address and MAILFEED_AUTH=open "
            "lets every visitor read and moderate everything; serve on 127.0.0.1/::1/localhost, or set "
            "MAILFEED_AUTH=proxy (behind an SSO proxy) or MAILFEED_AUTH=email"
        )
    try:
        run(settings, _store(settings), parts)
    except CannotListen as exc:
        fail(str(exc))


@app.command("import")
def import_(
    paths: Annotated[
        list[Path],
        typer.Argument(
            metavar="PATH",
            show_default=False,
            help="mbox files (gzip, bzip2 or xz too), Maildir trees, message files (.eml, .emlx), Apple Mail exports",
        ),
    ],
    feed: Annotated[str | None, typer.Option(help="Feed slug; may be left out when there is only one feed.")] = None,
) -> None:
    """Import mbox files, Maildir trees or message files into a feed, in the order given (re-runnable: nothing is
    stored twice)."""
    settings = _settings()
    forks.start(settings)
    from gateway.ingest.archive import ImportError_, open_archives
    from gateway.ingest.backfill import import_archive
    from gateway.store import queries
    from gateway.worker import analyser

    store = _store(settings)
    with store.read() as session:
        feeds = queries.list_feeds(session=session)
        slug = feed or (feeds[0].slug if len(feeds) == 1 else None)
        if slug is None:
            fail("give --feed SLUG (feeds: " + (", ".join(f.slug for f in feeds) or "none yet") + ")")
        target = queries.feed_by_slug(session=session, slug=slug)
    if target is None or target.id is None:
        fail(f"no feed {slug!r}; create it with `mailfeed feed add`")
    try:
        archive = open_archives(paths)
    except (ImportError_, OSError) as exc:
        fail(str(exc))
    started = time.perf_counter()
    label = f"Importing {paths[0].name}" if len(paths) == 1 else f"Importing {len(paths)} archives"
    with analyser(settings) as run, typer.progressbar(length=archive.total, label=label, file=sys.stderr) as bar:
        try:
            summary = import_archive(
                store=store,
                settings=settings,
                feed_id=target.id,
                messages=archive.messages,
                run=run,
                progress=bar.update,
            )
        except OSError as exc:  # a file gone or unreadable in a way not met per message: the error names it
            fail(str(exc))
    elapsed = max(time.perf_counter() - started, 1e-9)
    c = summary.counts
    rate = f"{summary.read / elapsed:.0f}"
    typer.echo(
        f"imported {c['posted']}, duplicates {c['duplicate']}, quarantined {c['quarantined']}, "
        + (f"deferred {c['deferred']} (DNS could not answer; `serve` tries them again), " if c["deferred"] else "")
        + f"ignored {c['ignored']}, held {c['held']}, refused {c['refused']} "
        f"of {_messages(summary.read)} in {elapsed:.1f} s ({rate} {'message' if rate == '1' else 'messages'}/s)"
    )
    if summary.pending:
        typer.echo(_still_pending(summary.pending))
    for line in summary.refused:
        typer.echo(f"refused: {line}", err=True)
    for line in archive.skipped:
        typer.echo(f"not imported: {line}", err=True)
    if summary.stopped:
        are = "is" if summary.read == 1 else "are"
        fail(f"{summary.stopped}; the {_messages(summary.read)} read {are} counted above")


def _messages(n: int) -> str:
    return f"{n} message" if n == 1 else f"{n} messages"


def _still_pending(n: int) -> str:
    """The line `import` and `reprocess` add when another processor still holds rows they counted on."""
    from gateway.ingest.drain import SETTLE_SECONDS

    return (
        f"{_messages(n)} still being processed by another processor (a running mailfeed serve) "
        f"after {SETTLE_SECONDS:.0f} s, not counted above"
    )


@app.command()
def reprocess(
    quarantined: Annotated[
        bool, typer.Option("--quarantined", help="Retry quarantined and deferred messages.")
    ] = False,
    all_: Annotated[bool, typer.Option("--all", help="Rebuild every post and comment from raw.")] = False,
) -> None:
    """Run stored raw messages through the pipeline again (same ids, same threads)."""
    if quarantined == all_:
        fail("give exactly one of --quarantined or --all")
    settings = _settings()
    forks.start(settings)
    from gateway.ingest.drain import outcomes
    from gateway.pipeline import process_pending, requeued
    from gateway.worker import analyser

    store = _store(settings)
    ids = requeued(store=store, which="all" if all_ else "quarantined")
    with analyser(settings) as run:
        process_pending(store=store, settings=settings, run=run)
    if not ids:
        typer.echo("nothing to reprocess")
        return
    # A running serve processes pending rows too (its commit first, this one skips them): count what the
    # requeued rows became, whoever processed them.
    counts, pending = outcomes(store, ids)
    typer.echo(f"reprocessed {len(ids)}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    if pending:
        typer.echo(_still_pending(pending))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending schema migrations (`serve` and every command also do this at start)."""
    from gateway.store.db import at_heads

    settings = _settings()
    try:
        probe = open_store(settings.db_url, synchronous=settings.sqlite_synchronous, upgrade=False)
        current = at_heads(probe)
        probe.dispose()
    except Exception:  # _store names what is wrong
        current = False
    _store(settings)
    done = "was up to date" if current else "is upgraded to the newest schema"
    typer.echo(f"database {_safe_url(settings.db_url)} {done}")


def _register_commands() -> None:
    """The feed, token, quarantine, IMAP and digest commands live in modules of their own."""
    from gateway import cli_digest, cli_feed, cli_imap, cli_quarantine

    cli_feed.register(app)
    app.add_typer(db_app, name="db")
    cli_quarantine.register(app)
    cli_imap.register(app)
    cli_digest.register(app)


_register_commands()


def main() -> None:
    app(prog_name="mailfeed")
