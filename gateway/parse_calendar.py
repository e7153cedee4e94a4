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

import contextlib
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from email.message import Message
from typing import NamedTuple

from gateway.charsets import decode_bytes
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
# a property's parameters may quote a colon: Exchange's TZID="(UTC+01:00) Amsterdam, Berlin, …"
_PROPERTY = re.compile(
    rb'^(METHOD|BEGIN|END|UID|DTSTART|DTEND|LOCATION|STATUS|RRULE|DESCRIPTION)((?:;(?:"[^"\r\n]*"|[^:;"\r\n])*)*):([^\r\n]*)',
    re.I | re.M,
)


class Calendar(NamedTuple):
    """What a message's calendar parts give: see `read_calendar`."""

    uid: str = ""
    files: tuple[Attachment, ...] = ()
    meeting: str = ""
    answer: bool = False  # an attendee's answer to an invitation (METHOD:REPLY): accepted, declined…


def read_calendar(msg: Message, listed: list[Attachment], *, worded: bool = True) -> Calendar:
    """The UID of the first event a scheduling calendar part of `msg` holds (or ""), the
    calendar as a file when the message carries it only as a body part, and then
    the meeting's time and place as lines to show ("When: …", "Where: …").

    Outlook and Exchange send a meeting's time and place only in a text/calendar
    alternative, which mail clients show as a meeting, not as a file: without it
    the entry told readers neither when nor where. It is listed as "invite.ics" (a
    reader's calendar opens it) and summed up in `meeting`, unless the sender
    attached the calendar as a file too (Google, whose text says when and where
    already). A message with no words of its own (`worded` false: a booking system's
    bare invitation) gets them from its calendar file whatever its shape, and the
    event's description below them. Parts inside an attached message are that
    message's (forwards read them).
    """
    uid, found, answer, charset = "", None, False, None
    for part in _leaves(msg):
        if part.get_content_type() not in CALENDAR_TYPES:
            continue
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes) or not data.strip():
            continue
        if found is None and not part.get_filename():
            found, charset = data, part.get_content_charset()
        method = part.get_param("method")
        uid = uid or scheduled_uid(data[:MAX_CALENDAR_BYTES], method)
        if not answer:  # METHOD:REPLY, in the part's header or in the calendar
            said = method if isinstance(method, str) else _first_event(data[:MAX_CALENDAR_BYTES])[0]
            answer = said.upper() == "REPLY"
    attached = next((a.data for a in listed if is_calendar(a)), None)
    if not worded and (found or attached):
        data = (found or attached or b"")[:MAX_CALENDAR_BYTES]
        meeting = meeting_lines(data, charset, described=True)
        files = (Attachment(INVITE, CALENDAR, found),) if found is not None and attached is None else ()
        return Calendar(uid, files, meeting, answer)
    if found is None or attached is not None:
        return Calendar(uid, answer=answer)
    meeting = meeting_lines(found[:MAX_CALENDAR_BYTES], charset)
    return Calendar(uid, (Attachment(INVITE, CALENDAR, found),), meeting, answer)


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


_TZID = re.compile(r';TZID=(?:"([^"]{1,100})"|([^";:]{1,100}))', re.IGNORECASE)
# RFC 5545's basic form, and the extended one ("2026-03-20T10:00:00") some generators write
_STAMP = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})(?:T(\d{2}):?(\d{2}):?\d{2}(Z?))?$")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MAX_LOCATION = 200


def meeting_lines(data: bytes, charset: str | None = None, *, described: bool = False) -> str:
    """ "When: Tue 17 Mar 2026 14:00–14:30 (W. Europe Standard Time)" and "Where: Room 4.12"
    for the first event in iCalendar `data`, in its own zone as the organizer set it
    (a Windows zone name is shown, not converted); the place alone when it has no readable start;
    "" when it has neither."""
    method, props = _first_event(data, charset)
    when = _when(props.get(b"DTSTART"), props.get(b"DTEND"))
    where = _unescaped(props.get(b"LOCATION", ("", ""))[1])[:MAX_LOCATION].strip()
    if not when and not where:
        return ""
    canceled = method == "CANCEL" or props.get(b"STATUS", ("", ""))[1].upper() == "CANCELLED"
    repeats = repeat_rule(props.get(b"RRULE", ("", ""))[1])
    about = _unescaped(props.get(b"DESCRIPTION", ("", ""))[1][:MAX_DESCRIPTION], "\n").strip() if described else ""
    return "\n".join(
        line
        for line in (
            "Canceled: this event will not take place." if canceled else "",
            f"When: {when}" if when else "",
            f"Repeats: {repeats}" if repeats else "",
            f"Where: {where}" if where else "",
            f"\n{about}" if about else "",
        )
        if line
    )


MAX_DESCRIPTION = 20_000


_FREQ = {"DAILY": ("daily", "days"), "WEEKLY": ("weekly", "weeks"), "MONTHLY": ("monthly", "months")}
_FREQ["YEARLY"] = ("yearly", "years")
_WEEKDAYS = dict(zip(("MO", "TU", "WE", "TH", "FR", "SA", "SU"), _DAYS, strict=True))


def _nth(prefix: str) -> str:
    """ "1" of "1MO" (the first Monday of the month) as "first ", "-1" as "last "."""
    return {"": "", "1": "first ", "2": "second ", "3": "third ", "4": "fourth ", "-1": "last "}.get(
        prefix.lstrip("+"), f"{prefix} "
    )


def repeat_rule(rule: str) -> str:
    """An RRULE as words ("weekly on Tue, Thu until 30 Jun 2026", "every 2 weeks, 10 times"): Outlook
    sends a series with an empty body, and the entry said only when the first one was. "" for none."""
    parts = dict(p.partition("=")[::2] for p in rule.upper().split(";") if "=" in p)
    freq = _FREQ.get(parts.get("FREQ", ""))
    if freq is None:
        return ""
    interval = parts.get("INTERVAL", "1")
    out = f"every {interval} {freq[1]}" if interval.isdigit() and int(interval) > 1 else freq[0]
    days = [_nth(d[:-2]) + _WEEKDAYS[d[-2:]] for d in parts.get("BYDAY", "").split(",") if d[-2:] in _WEEKDAYS]
    if days:
        out += " on " + ", ".join(days)
    until = _STAMP.match(parts.get("UNTIL", ""))
    if until:
        with contextlib.suppress(ValueError):
            out += " until " + _day(date(int(until[1]), int(until[2]), int(until[3])))
    elif parts.get("COUNT", "").isdigit():
        out += f", {int(parts['COUNT'])} times"
    return out


def _first_event(data: bytes, charset: str | None = None) -> tuple[str, dict[bytes, tuple[str, str]]]:
    """(the calendar's METHOD, the first VEVENT's own properties as name → (parameters, value)),
    in one pass over the unfolded lines; a component inside the event (VALARM) keeps its own.
    Values are read in the part's charset, else as text with no label is (iCalendar's is UTF-8)."""
    method, props = "", dict[bytes, tuple[str, str]]()
    depth = -1  # inside the first VEVENT: 0, or deeper in one of its components; -1 outside
    for m in _PROPERTY.finditer(_FOLD.sub(b"", data)):
        name, value = m.group(1).upper(), _text(m.group(3).strip(), charset)
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


def _text(value: bytes, charset: str | None) -> str:
    return value.decode("ascii") if value.isascii() else decode_bytes(value, charset or "utf-8")


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
    return at, m[4] is not None, "UTC" if m[6] else ((zone[1] or zone[2]).strip() if zone else "")


def _day(d: date) -> str:
    return f"{_DAYS[d.weekday()]} {d.day} {_MONTHS[d.month - 1]} {d.year}"


def _unescaped(text: str, line_break: str = ", ") -> str:
    """An iCalendar TEXT value as shown: "\\," is ",", "\\n" a line break (`line_break`: ", " on a
    place's one line, a line break in a description)."""
    return re.sub(r"\\([nN,;\\])", lambda m: line_break if m[1] in "nN" else m[1], text)
