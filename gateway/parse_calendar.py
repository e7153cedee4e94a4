"""Step 3, parse: the event a calendar invitation schedules, by its UID.

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
from email.message import Message

CALENDAR_TYPES = frozenset({"text/calendar", "application/ics", "text/x-vcalendar"})
SCHEDULING = frozenset({"REQUEST", "CANCEL", "REPLY", "ADD", "COUNTER", "DECLINECOUNTER", "REFRESH"})
MAX_CALENDAR_BYTES = 256 * 1024  # an invitation is a few KB; a bigger part is read no further
MAX_PARTS = 100  # parts looked at, at most
MIN_UID = 8  # shorter is no unique id ("1", "event"): a generator that reuses it would join strangers
MAX_UID = 1000

_FOLD = re.compile(rb"\r?\n[ \t]")
_PROPERTY = re.compile(rb"^(METHOD|UID|BEGIN)(?:;[^:\r\n]*)?:([^\r\n]*)", re.IGNORECASE | re.MULTILINE)


def event_uid(msg: Message) -> str:
    """The UID of the first event a scheduling calendar part of `msg` holds; "" when none.

    Parts inside an attached message are that message's (forwards read them).
    """
    stack, seen = [msg], 0
    while stack and seen < MAX_PARTS:
        part = stack.pop()
        seen += 1
        ctype = part.get_content_type()
        if part.is_multipart():
            if not ctype.startswith("message/"):
                stack.extend(reversed([c for c in part.get_payload() if isinstance(c, Message)]))
            continue
        if ctype not in CALENDAR_TYPES:
            continue
        data = part.get_payload(decode=True)
        if isinstance(data, bytes):
            uid = scheduled_uid(data[:MAX_CALENDAR_BYTES], part.get_param("method"))
            if uid:
                return uid
    return ""


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
