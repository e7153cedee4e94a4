"""The `mailfeed` command: the composition root, the one module that sees every part.

It alone builds Settings from the environment; everything it starts gets
them passed in. Errors are one line on stderr naming what is wrong, exit 1.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from gateway.config import ConfigError, Settings, load_settings
from gateway.store.db import Store, open_store

app = typer.Typer(
    help="mailfeed: an email-to-feed gateway.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,  # a traceback's locals could show secrets
)
feed_app = typer.Typer(help="Create and list feeds.", no_args_is_help=True)
quarantine_app = typer.Typer(help="Messages that failed a step or are held.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(feed_app, name="feed")
app.add_typer(quarantine_app, name="quarantine")
app.add_typer(db_app, name="db")

log = logging.getLogger("gateway")


def fail(message: str) -> NoReturn:
    typer.echo(f"mailfeed: error: {message}", err=True)
    raise typer.Exit(1)


def _settings() -> Settings:
    try:
        settings = load_settings()
    except ConfigError as exc:
        fail(str(exc))
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return settings


def _store(settings: Settings) -> Store:
    try:
        return open_store(settings.db_url, synchronous=settings.sqlite_synchronous)
    except Exception as exc:  # wrong URL, server down, unwritable DATA_DIR
        fail(f"cannot open the database ({_safe_url(settings.db_url)}): {exc}")


def _safe_url(url: str) -> str:
    """The database URL without its password, for messages and logs."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unparseable URL)"


@app.command()
def serve() -> None:
    """Run SMTP and the web server in one process (Ctrl-C or SIGTERM stops it)."""
    import uvicorn

    from gateway.ingest.smtp import start_smtp
    from gateway.web.app import create_app
    from gateway.worker import Processor, analyser

    settings = _settings()
    if not settings.http_is_loopback():
        fail(
            f"MAILFEED_HTTP_HOST={settings.http_host!r} is not a loopback address; mailfeed has no "
            "sign-in yet, so it serves only on 127.0.0.1/::1/localhost (put a reverse proxy in front)"
        )
    store = _store(settings)
    with analyser(settings) as run:
        processor = Processor(store, settings, run)
        processor.start()
        processor.wake()  # whatever a crash left pending
        try:
            controller, writer = start_smtp(settings, store, processor.wake)
        except OSError as exc:
            fail(f"cannot listen for SMTP on {settings.smtp_host}:{settings.smtp_port}: {exc}")
        log.info("SMTP listening on %s:%s", settings.smtp_host, settings.smtp_port)
        try:
            config = uvicorn.Config(
                create_app(settings, store), host=settings.http_host, port=settings.http_port,
                log_level=settings.log_level.lower(), access_log=False,
            )
            uvicorn.Server(config).run()
        finally:
            controller.stop()
            writer.close()
            processor.stop()
            store.dispose()


@feed_app.command("add")
def feed_add(
    slug: str,
    address: str,
    title: Annotated[str, typer.Option(help="Shown on pages and feeds; defaults to SLUG.")] = "",
) -> None:
    """Create a feed: mail to ADDRESS becomes posts in feed SLUG."""
    import re

    from gateway.store import writes

    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", slug):
        fail(f"slug {slug!r}: use 1-64 lower-case letters, digits, '-' or '_'")
    if not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", address):
        fail(f"address {address!r} is not an email address")
    store = _store(_settings())
    try:
        with store.write() as session, session.begin():
            feed = writes.add_feed(session=session, slug=slug, address=address, title=title)
    except writes.FeedExists as exc:
        fail(str(exc))
    typer.echo(f"feed {feed.slug} <{feed.address}> created")


@feed_app.command("list")
def feed_list() -> None:
    """List feeds: slug, address, title, thread count."""
    from gateway.store import queries

    store = _store(_settings())
    with store.read() as session:
        for f in queries.list_feeds(session=session):
            typer.echo(f"{f.slug}\t{f.address}\t{f.title}\t{f.thread_count} threads")


@app.command("import")
def import_(
    path: Path,
    feed: Annotated[str | None, typer.Option(help="Feed slug; may be left out when there is only one feed.")] = None,
) -> None:
    """Import an mbox file or a Maildir tree into a feed (re-runnable: nothing is stored twice)."""
    from gateway.ingest.mbox import ImportError_, import_archive, open_archive
    from gateway.store import queries
    from gateway.worker import analyser

    settings = _settings()
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
        archive = open_archive(path)
    except (ImportError_, OSError) as exc:
        fail(str(exc))
    started = time.perf_counter()
    label = f"Importing {path.name}"
    with analyser(settings) as run, typer.progressbar(length=archive.total, label=label, file=sys.stderr) as bar:
        try:
            summary = import_archive(
                store=store, settings=settings, feed_id=target.id, messages=archive.messages, run=run,
                progress=bar.update,
            )
        except OSError as exc:
            fail(f"{path}: {exc}")
    elapsed = max(time.perf_counter() - started, 1e-9)
    c = summary.counts
    typer.echo(
        f"imported {c['posted']}, duplicates {c['duplicate']}, quarantined {c['quarantined']}, "
        f"ignored {c['ignored']}, held {c['held']}, refused {c['refused']} "
        f"of {summary.read} messages in {elapsed:.1f} s ({summary.read / elapsed:.0f} messages/s)"
    )
    for line in summary.refused:
        typer.echo(f"refused: {line}", err=True)


@quarantine_app.command("list")
def quarantine_list() -> None:
    """Messages kept back: raw id, status, date received, Message-ID, reason."""
    from gateway.store import queries

    store = _store(_settings())
    with store.read() as session:
        rows = queries.quarantined(session=session)
    for r in rows:
        typer.echo(f"{r.id}\t{r.status}\t{r.received_at:%Y-%m-%d %H:%M}\t<{r.message_id or '-'}>\t{r.reason}")
    if not rows:
        typer.echo("quarantine is empty", err=True)


@app.command()
def reprocess(
    quarantined: Annotated[bool, typer.Option("--quarantined", help="Retry quarantined messages.")] = False,
    all_: Annotated[bool, typer.Option("--all", help="Rebuild every post and comment from raw.")] = False,
) -> None:
    """Run stored raw messages through the pipeline again (same ids, same threads)."""
    from gateway.pipeline import process_pending, requeue
    from gateway.worker import analyser

    if quarantined == all_:
        fail("give exactly one of --quarantined or --all")
    settings = _settings()
    store = _store(settings)
    n = requeue(store=store, which="all" if all_ else "quarantined")
    with analyser(settings) as run:
        counts = process_pending(store=store, settings=settings, run=run)
    typer.echo(f"reprocessed {n}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) if n else "nothing to reprocess")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending schema migrations (`serve` and every command also do this at start)."""
    settings = _settings()
    _store(settings)
    typer.echo(f"database {_safe_url(settings.db_url)} is up to date")


def main() -> None:
    app(prog_name="mailfeed")
