"""Step 3, parse: the event a calendar invitation schedules, by its UID, and its file.

An invitation sent to the team address is followed by its updates and its
cancellation, each a new message with a new Message-ID and no reply headers
(Google Calendar), or one whose Thread-Index starts a new conversation: each
became a post of its own. They all carry the event's iCalendar UID (RFC 5545
3.8.4.7) in a text/calendar part or an .ics file; `thread` makes it a key that
gathers them under the first. Only scheduling messages count (RFC 5546:
REQUEST, CANCEL, REPLY, …): a newsletter's "add to calendar" file (PUBLISH)
names an event, not a conversation about it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import Message

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
_PROPERTY = re.compile(rb"^(METHOD|UID|BEGIN)(?:;[^:\r\n]*)?:([^\r\n]*)", re.IGNORECASE | re.MULTILINE)


def read_calendar(msg: Message, listed: list[Attachment]) -> tuple[str, list[Attachment]]:
    """(the UID of the first event a scheduling calendar part of `msg` holds or "",
    the calendar as a file when the message carries it only as a body part).

    Outlook and Exchange send a meeting's time and place only in a text/calendar
    alternative, which mail clients show as a meeting, not as a file: without it
    the entry told readers neither when nor where. It is listed as "invite.ics" (a reader's
    calendar opens it), unless the sender attached the calendar as a file too
    (Google). Parts inside an attached message are that message's (forwards read them).
    """
    uid, found = "", None
    for part in _leaves(msg):
        if part.get_content_type() not in CALENDAR_TYPES:
            continue
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes) or not data.strip():
            continue
        if found is None and not part.get_filename():
            found = data
        uid = uid or scheduled_uid(data[:MAX_CALENDAR_BYTES], part.get_param("method"))
    files = [] if found is None or any(_is_calendar(a) for a in listed) else [Attachment(INVITE, CALENDAR, found)]
    return uid, files


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


def _is_calendar(a: Attachment) -> bool:
    return a.content_type in CALENDAR_TYPES or a.filename.lower().endswith((".ics", ".vcs"))


def scheduled_uid(data: bytes, method: object = None) -> str:
    """The first VEVENT's UID in iCalendar `data` when its METHOD (or the part's
    `method` parameter) is a scheduling one; "" otherwise."""
    text = _FOLD.sub(b"", data)
    found_method = str(method).upper() if isinstance(method, str) else ""
    in_event = False
    for m in _PROPERTY.finditer(text):
        name, value = m.group(1).upper(), m.group(2).strip()
        if name == b"METHOD" and not found_method:
            found_method = value.decode("ascii", "replace").upper()
        elif name == b"BEGIN":
            in_event = value.upper() == b"VEVENT"
        elif name == b"UID" and in_event:
            uid = value.decode("utf-8", "replace")
            ok = found_method in SCHEDULING and MIN_UID <= len(uid) <= MAX_UID
            return uid if ok else ""
    return ""
