"""Import: when the mailbox an archive was kept in got each message.

An mbox From_ line and a Maildir file's name record the delivery; an
undated message is dated by them rather than by the day of its import
(place.effective_date, after Date and the Received: stamp).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.parse_headers import date_of

_ASCTIME = re.compile(
    rb" [A-Z][a-z]{2},? +([A-Z][a-z]{2}) +(\d{1,2}) +(\d{1,2}):(\d\d)(?::(\d\d))?"
    rb"(?: +[A-Z]{3,5})? +(\d{4})(?: +([+-]\d{4}))?"
)
_MONTHS = {m: i for i, m in enumerate(b"Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}
# git format-patch writes this same date on every patch's From_ line; it says nothing.
_GIT_PATCH = b"Mon Sep 17 00:00:00 2001"
_MAILDIR_TIME = re.compile(r"(\d{9,10})\.[^.]+\.")  # "time.unique.host"


def envelope_date(from_line: bytes) -> datetime | None:
    """When an mbox From_ line says its message was delivered ("From ann@x Mon Mar  2 09:00:00 2026").

    The asctime form has no time zone unless a writer added one ("2026 +0100"):
    without one it is read as UTC, hours off at worst. Some writers put an
    RFC 5322 date there instead; it is read as a Date header is. None when
    there is no readable date.
    """
    if _GIT_PATCH in from_line:
        return None
    m = _ASCTIME.search(from_line)
    if m is None or m[1] not in _MONTHS:
        rest = from_line.strip().split(None, 2)[2:]  # after "From" and the sender
        return date_of(rest[0].decode("latin-1")) if rest else None
    try:
        when = datetime(int(m[6]), _MONTHS[m[1]], int(m[2]), int(m[3]), int(m[4]), int(m[5] or 0), tzinfo=UTC)
    except ValueError:  # "Feb 31", "25:00"
        return None
    if m[7]:
        sign = 1 if m[7][:1] == b"+" else -1
        when -= sign * timedelta(hours=int(m[7][1:3]), minutes=int(m[7][3:5]))
    return when


def maildir_time(f: Path) -> datetime:
    """When a Maildir file was delivered: the seconds its name starts with (the Maildir
    convention, "1490000000.M1P2.host:2,S"), else its modification time, as Dovecot takes it.
    Apple Mail's "123456789.emlx" counts messages, not seconds."""
    m = _MAILDIR_TIME.match(f.name) if f.suffix != ".emlx" else None
    return datetime.fromtimestamp(int(m[1]) if m else f.stat().st_mtime, UTC)
