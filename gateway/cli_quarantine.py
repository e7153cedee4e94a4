"""`mailfeed quarantine list|show`: what was kept back, and its bytes as they came.

Registered on the main app by gateway/cli.py (`register`); shares its error
and settings helpers, imported when a command runs.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

quarantine_app = typer.Typer(help="Messages that failed a step or are held.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(quarantine_app, name="quarantine")


@quarantine_app.command("list")
def quarantine_list(
    ignored: Annotated[
        bool, typer.Option("--ignored", help="List what was ignored instead (auto-replies, bounces, loops).")
    ] = False,
) -> None:
    """Messages kept back (the latest 1000): raw id, status, date received, Message-ID, reason."""
    from gateway.cli import _settings, _store
    from gateway.store import queries

    store = _store(_settings())
    with store.read() as session:
        rows = queries.quarantined(session=session, statuses=("ignored",) if ignored else queries.KEPT_BACK)
    for r in rows:
        typer.echo(f"{r.id}\t{r.status}\t{r.received_at:%Y-%m-%d %H:%M}\t<{r.message_id or '-'}>\t{r.reason}")
    if not rows:
        typer.echo("nothing was ignored" if ignored else "quarantine is empty", err=True)


@quarantine_app.command("show")
def quarantine_show(raw_id: int) -> None:
    """Write stored message RAW_ID to stdout byte for byte, as it came (e.g. `> msg.eml`); its status to stderr."""
    from gateway.cli import _settings, _store, fail
    from gateway.store import queries

    store = _store(_settings())
    with store.read() as session:
        row = queries.raw_status(session=session, raw_id=raw_id)
        data = queries.raw_bytes(session=session, raw_id=raw_id) if row is not None else None
    if row is None or data is None:
        fail(f"no stored message {raw_id} (`mailfeed quarantine list` shows the ids)")
    typer.echo(f"raw {raw_id}: {row.status}{': ' + row.reason if row.reason else ''}", err=True)
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
