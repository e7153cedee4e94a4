"""Step 3, parse: the event a calendar invitation schedules, its file, its time and place.

An invitation sent to the team address is followed by its updates and its
cancellation, each a new message with a new Message-ID and no reply headers
(Google Calendar), or one whose Thread-Index starts a new conversation: each
became a post of its own. They all carry the event's iCalendar UID (RFC 5545
3.8.4.7) in a text/calendar part or an .ics file; `thread` makes it a key that
gathers them under the first. Only scheduling messages count (RFC 5546:
REQUEST, CANCEL, REPLY, …): a newsletter's "add to calendar" file (PUBLISH)
names an event, not a conversation about it. An Outlook invitation's time and
place are only in its calendar part: `read_calendar` gives them as lines to show.
Reading is bounded (parts, bytes, UID length) and never raises on what it reads.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from email.message import Message
from typing import NamedTuple

from gateway.message import Attachment

CALENDAR = "text/calendar"
INVITE = "invite.ics"
CALENDAR_TYPES = frozenset({"text/calendar", "application/ics", "text/x-vcalendar"})
SCHEDULING = frozenset({"REQUEST", "CANCEL", "REPLY", "ADD", "COUNTER", "DECLINECOUNTER", "REFRESH"})
MAX_CALENDAR_BYTES = 256 * 1024  # an invitation is a few KB; a bigger part is read no further
MAX_PARTS = 100  # parts looked at, at most
MIN_UID = 8  # shorter is no unique id ("1", "event"): a generator that reuses it would join strangers
MAX_UID = 1000

_FOLD = re.compile(rb"\r?\n[ \t]")
_PROPERTY = re.compile(rb"^(METHOD|BEGIN|END|UID|DTSTART|DTEND|LOCATION)((?:;[^:\r\n]*)?):([^\r\n]*)", re.I | re.M)


class Calendar(NamedTuple):
    """What a message's calendar parts give: see `read_calendar`."""

    uid: str = ""
    files: tuple[Attachment, ...] = ()
    meeting: str = ""
    answer: bool = False  # an attendee's answer to an invitation (METHOD:REPLY): accepted, declined…


def read_calendar(msg: Message, listed: list[Attachment]) -> Calendar:
    """The UID of the first event a scheduling calendar part of `msg` holds (or ""), the
    calendar as a file when the message carries it only as a body part, and then
    the meeting's time and place as lines to show ("When: …", "Where: …").

    Outlook and Exchange send a meeting's time and place only in a text/calendar
    alternative, which mail clients show as a meeting, not as a file: without it
    the entry told readers neither when nor where. It is listed as "invite.ics" (a
    reader's calendar opens it) and summed up in `meeting`, unless the sender
    attached the calendar as a file too (Google, whose text says when and where
    already). Parts inside an attached message are that message's (forwards read them).
    """
    uid, found, answer = "", None, False
    for part in _leaves(msg):
        if part.get_content_type() not in CALENDAR_TYPES:
            continue
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes) or not data.strip():
            continue
        if found is None and not part.get_filename():
            found = data
        method = part.get_param("method")
        uid = uid or scheduled_uid(data[:MAX_CALENDAR_BYTES], method)
        if not answer:  # METHOD:REPLY, in the part's header or in the calendar
            said = method if isinstance(method, str) else _first_event(data[:MAX_CALENDAR_BYTES])[0]
            answer = said.upper() == "REPLY"
    if found is None or any(is_calendar(a) for a in listed):
        return Calendar(uid, answer=answer)
    return Calendar(uid, (Attachment(INVITE, CALENDAR, found),), meeting_lines(found[:MAX_CALENDAR_BYTES]), answer)


def _leaves(msg: Message) -> Iterator[Message]:
    """The message's non-multipart parts in order, not those of attached messages; MAX_PARTS at most."""
    stack, seen = [msg], 0
    while stack and seen < MAX_PARTS:
        part = stack.pop()
        seen += 1
        if not part.is_multipart():
            yield part
        elif not part.get_content_type().startswith("message/"):
            stack.extend(reversed([c for c in part.get_payload() if isinstance(c, Message)]))


def is_calendar(a: Attachment) -> bool:
    """A calendar file, by its type or its name (.ics, vCalendar's .vcs)."""
    return a.content_type in CALENDAR_TYPES or a.filename.lower().endswith((".ics", ".vcs"))


def scheduled_uid(data: bytes, method: object = None) -> str:
    """The first VEVENT's UID in iCalendar `data` when its METHOD (or the part's
    `method` parameter) is a scheduling one; "" otherwise."""
    found_method, props = _first_event(data)
    if isinstance(method, str):
        found_method = method.upper()
    uid = props.get(b"UID", ("", ""))[1]
    return uid if found_method in SCHEDULING and MIN_UID <= len(uid) <= MAX_UID else ""


_TZID = re.compile(r';TZID="?([^";:]{1,100})', re.IGNORECASE)
_STAMP = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})\d{2}(Z?))?$")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MAX_LOCATION = 200


def meeting_lines(data: bytes) -> str:
    """ "When: Tue 17 Mar 2026 14:00–14:30 (W. Europe Standard Time)" and "Where: Room 4.12"
    for the first event in iCalendar `data`, in its own zone as the organizer set it
    (a Windows zone name is shown, not converted); "" when it has no readable start."""
    _, props = _first_event(data)
    when = _when(props.get(b"DTSTART"), props.get(b"DTEND"))
    if not when:
        return ""
    where = _unescaped(props.get(b"LOCATION", ("", ""))[1])[:MAX_LOCATION].strip()
    return f"When: {when}" + (f"\nWhere: {where}" if where else "")


def _first_event(data: bytes) -> tuple[str, dict[bytes, tuple[str, str]]]:
    """(the calendar's METHOD, the first VEVENT's own properties as name → (parameters, value)),
    in one pass over the unfolded lines; a component inside the event (VALARM) keeps its own."""
    method, props = "", dict[bytes, tuple[str, str]]()
    depth = -1  # inside the first VEVENT: 0, or deeper in one of its components; -1 outside
    for m in _PROPERTY.finditer(_FOLD.sub(b"", data)):
        name, value = m.group(1).upper(), m.group(3).strip().decode("utf-8", "replace")
        if name == b"METHOD":
            method = method or value.upper()
        elif name == b"BEGIN":
            depth = 0 if depth < 0 and value.upper() == "VEVENT" else depth + 1 if depth >= 0 else depth
        elif name == b"END" and depth >= 0:
            if depth == 0:
                break
            depth -= 1
        elif depth == 0:
            props.setdefault(name, (m.group(2).decode("utf-8", "replace"), value))
    return method, props


def _when(start: tuple[str, str] | None, end: tuple[str, str] | None) -> str:
    first = _moment(*start) if start else None
    if first is None:
        return ""
    last = _moment(*end) if end else None
    at, timed, zone = first
    if not timed:  # all-day: DTEND is the day after the last
        last_day = last[0] - timedelta(days=1) if last and not last[1] and last[0] > at else at
        shown = _day(at) if last_day <= at else f"{_day(at)} – {_day(last_day)}"
        return f"{shown} (all day)"
    shown = f"{_day(at)} {at:%H:%M}"
    if last and last[1] and last[2] == zone and last[0] > at:
        shown += f"–{last[0]:%H:%M}" if last[0].date() == at.date() else f" – {_day(last[0])} {last[0]:%H:%M}"
    return f"{shown} ({zone})" if zone else shown


def _moment(params: str, value: str) -> tuple[datetime, bool, str] | None:
    """(the time as written, whether it has a time of day, its zone's name) from a DTSTART/DTEND."""
    m = _STAMP.match(value)
    if m is None:
        return None
    try:
        at = datetime(int(m[1]), int(m[2]), int(m[3]), int(m[4] or 0), int(m[5] or 0))
    except ValueError:
        return None
    zone = _TZID.search(params)
    return at, m[4] is not None, "UTC" if m[6] else (zone[1].strip() if zone else "")


def _day(d: date) -> str:
    return f"{_DAYS[d.weekday()]} {d.day} {_MONTHS[d.month - 1]} {d.year}"


def _unescaped(text: str) -> str:
    """An iCalendar TEXT value as shown: "\\," is ",", "\\n" a line break (here ", ")."""
    return re.sub(r"\\([nN,;\\])", lambda m: ", " if m[1] in "nN" else m[1], text)
