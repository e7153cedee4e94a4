"""`mailfeed subscribe`, `unsubscribe`, `digest send` and `stats`: the digest side of the CLI.

Registered on the main app by gateway/cli.py (`register`); shares its error
and settings helpers, imported when a command runs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

digest_app = typer.Typer(help="Digests: one mail per reader and period.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command()(subscribe)
    app.command()(unsubscribe)
    app.command()(stats)
    app.add_typer(digest_app, name="digest")


def _feed(session, slug: str | None):
    from gateway.cli import fail
    from gateway.store import queries

    feeds = queries.list_feeds(session=session)
    slug = slug or (feeds[0].slug if len(feeds) == 1 else None)
    if slug is None:
        fail("give --feed SLUG (feeds: " + (", ".join(f.slug for f in feeds) or "none yet") + ")")
    feed = queries.feed_by_slug(session=session, slug=slug)
    if feed is None:
        fail(f"no feed {slug!r}")
    return feed


def subscribe(
    email: str,
    feed: Annotated[str | None, typer.Option(help="Feed slug; may be left out when there is only one feed.")] = None,
    every: Annotated[str, typer.Option(help="daily, weekly or off.")] = "daily",
    weekday: Annotated[str, typer.Option(help="For weekly: mon … sun.")] = "mon",
    at: Annotated[str, typer.Option(help="Local time HH:MM.")] = "08:00",
    tz: Annotated[str, typer.Option(help="IANA time zone, e.g. Europe/Berlin.")] = "UTC",
    send_empty: Annotated[bool, typer.Option("--send-empty", help="Send a digest even when nothing is new.")] = False,
    only_mine: Annotated[bool, typer.Option("--only-mine", help="Only threads EMAIL took part in.")] = False,
) -> None:
    """Subscribe EMAIL to a feed's digest (or change their schedule)."""
    from gateway.cli import _settings, _store, fail
    from gateway.digest.schedule import ScheduleError, parse_at
    from gateway.digest.subscribe import Schedule
    from gateway.digest.subscribe import subscribe as do_subscribe

    if "@" not in email:
        fail(f"{email!r} is not an email address")
    store = _store(_settings())
    schedule = Schedule(every=every, weekday=weekday, at=at, tz=tz, skip_empty=not send_empty, only_mine=only_mine)
    try:
        with store.write() as session, session.begin():
            target = _feed(session, feed)
            do_subscribe(session, email=email, feed=target, schedule=schedule, now=datetime.now(UTC))
    except ScheduleError as exc:
        fail(str(exc))
    if every == "off":
        typer.echo(f"{email.lower()} gets no {target.slug} digest (off)")
        return
    when = f"{every}{' on ' + weekday if every == 'weekly' else ''} at {parse_at(at):%H:%M} {tz}"
    also = [w for w, on in (("only threads they wrote in", only_mine), ("also when nothing is new", send_empty)) if on]
    typer.echo(f"{email.lower()} gets the {target.slug} digest {when}" + (f" ({'; '.join(also)})" if also else ""))


def unsubscribe(
    email: str,
    feed: Annotated[str | None, typer.Option(help="Only this feed (default: all of EMAIL's digests).")] = None,
) -> None:
    """Stop EMAIL's digests (all feeds, or one)."""
    from gateway.cli import _settings, _store
    from gateway.digest.subscribe import unsubscribe as do_unsubscribe

    store = _store(_settings())
    with store.write() as session, session.begin():
        target = _feed(session, feed) if feed else None
        n = do_unsubscribe(session, email=email, feed=target)
    typer.echo(f"{email.lower()}: {n} subscription{'s' if n != 1 else ''} turned off")


@digest_app.command("send")
def digest_send(
    now: Annotated[bool, typer.Option("--now", help="Send every reader's digest now, whatever their schedule.")] = (
        False
    ),
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would go out; send and record nothing.")] = (
        False
    ),
    to: Annotated[str | None, typer.Option("--to", help="Only this reader.")] = None,
) -> None:
    """Send the digests that are due (with --now: all of them)."""
    from gateway.cli import _settings, _store, fail
    from gateway.digest.dispatch import send_due
    from gateway.digest.scheduler import Clock, instance_name
    from gateway.digest.send import RelayRefused, relay_from_url
    from gateway.digest.subscribe import why_no_digest

    settings = _settings()
    if not settings.relay_url and not dry_run:
        fail("MAILFEED_RELAY_URL is not set: digests need an SMTP relay (e.g. smtp://127.0.0.1:25)")
    if not dry_run:
        try:
            relay_from_url(settings.relay_url)
        except RelayRefused as exc:
            fail(str(exc))
    store = _store(settings)
    if to:
        with store.read() as session:
            problem = why_no_digest(session, email=to)
        if problem:
            fail(problem)
    # MAILFEED_DIGEST_CLOCK_START (tests and drills): e.g. preview with --dry-run what tomorrow 08:00 sends
    at = Clock(settings.digest_clock_start).now()
    report = send_due(
        store=store, settings=settings, now=at, instance=instance_name(), force=now, dry_run=dry_run, only=to
    )
    if dry_run:
        for data in report.previews:
            typer.echo(data.decode("ascii").replace("\r\n", "\n"))
        n = len(report.previews)
        typer.echo(f"dry run: {n} digest{'s' if n != 1 else ''} would go out", err=True)
        return
    c = report.counts
    said = [f"sent {c['sent']}", f"skipped (nothing new) {c['skipped']}", f"to retry {c['temporary']}"]
    said.append(f"bounced {c['permanent']}")
    if c["already"]:
        said.append(f"already sent for this period {c['already']}" + (" (--now sends once a minute)" if now else ""))
    if c["superseded"]:
        said.append(f"earlier unsent digests taken over {c['superseded']} (their news is in this one)")
    if c["waiting"]:  # sent by a later pass (`serve`'s scheduler, or the next `digest send`)
        said.append(f"waiting for an earlier digest still being sent {c['waiting']}")
    typer.echo(", ".join(said))
    if c["temporary"] or c["waiting"]:
        raise typer.Exit(1)


def stats(email: Annotated[str | None, typer.Option(help="Only this reader.")] = None) -> None:
    """Emails saved: per reader and feed, the messages they would have received vs the digests they got."""
    from gateway.cli import _settings, _store
    from gateway.digest.subscribe import emails_saved

    store = _store(_settings())
    with store.read() as session:
        rows = emails_saved(session, email=email)
    for r in rows:
        typer.echo(f"{r.email}\t{r.feed}\t{_replaced(r.replaced, r.digests)}")
    if rows:
        typer.echo(f"total\t\t{_replaced(sum(r.replaced for r in rows), sum(r.digests for r in rows))}")
    else:
        typer.echo("no digests sent yet", err=True)


def _replaced(emails: int, digests: int) -> str:
    return f"{emails} email{'s' * (emails != 1)} replaced by {digests} digest{'s' * (digests != 1)}"
