"""When a digest is due: the latest scheduled moment at or before now, in the reader's zone.

Pure. A period is named by the reader's local date (daily, "2026-03-29") or ISO
week (weekly, "2026-W13"), so a DST change can neither skip nor double a day:
the period is what the exactly-once ledger is keyed on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

EVERY = ("daily", "weekly", "off")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ScheduleError(ValueError):
    """A schedule mailfeed cannot use; the message says which part and why."""


@dataclass(frozen=True)
class Due:
    period: str
    due_at: datetime  # UTC


_AT = re.compile(r"(\d{1,2}):(\d\d)", re.ASCII)  # "8:5" could be 08:05 or 08:50: minutes take two digits


def parse_at(value: str) -> time:
    m = _AT.fullmatch(value.strip())
    try:
        if m is None:
            raise ValueError
        return time(int(m[1]), int(m[2]))
    except ValueError:
        raise ScheduleError(f"--at {value!r}: use HH:MM, e.g. 08:30") from None


def _stored_at(value: str) -> time:
    """A subscription's time as stored: HH:MM, or as an older `subscribe` kept what it was given ("8:5")."""
    try:
        return parse_at(value)
    except ScheduleError:
        hour, minute = value.split(":")
        return time(int(hour), int(minute))


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"--tz {name!r}: not an IANA time zone such as Europe/Berlin") from None


def latest_due(*, every: str, weekday: int, at: str, tz: str, now: datetime) -> Due | None:
    """The most recent scheduled moment ≤ now, or None for `off`."""
    if every == "off":
        return None
    zone_ = zone(tz)
    local_now = now.astimezone(zone_)
    day = local_now.date()
    for _ in range(8):
        if every == "daily" or day.weekday() == weekday:
            moment = _local(day, _stored_at(at), zone_)
            if moment <= now:
                return Due(_period(every, day), moment.astimezone(UTC))
        day -= timedelta(days=1)
    raise ScheduleError(f"no scheduled moment found for every={every!r}")


def _local(day: date, at: time, zone_: ZoneInfo) -> datetime:
    """`day` at `at` in the zone; a time that a DST jump skips is taken an hour later."""
    moment = datetime.combine(day, at, tzinfo=zone_)
    roundtrip = moment.astimezone(UTC).astimezone(zone_)
    if roundtrip.replace(tzinfo=None) != moment.replace(tzinfo=None):
        moment = roundtrip
    return moment


def _period(every: str, day: date) -> str:
    if every == "daily":
        return day.isoformat()
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"
