"""Which calendar parts name an event a conversation is about, and its UID."""

from __future__ import annotations

from email import message_from_bytes
from pathlib import Path

from gateway.parse import parse
from gateway.parse_calendar import MAX_UID, read_calendar, scheduled_uid
from gateway.thread import event_key

THREADS = Path(__file__).parent / "data" / "threads"
OUTLOOK = THREADS / "outlook-meeting-cancellation"
GOOGLE_UID = "5q3k9v1b7d2m8c0h6t4r2p1s0f@google.com"


def event_uid(raw: bytes) -> str:
    return read_calendar(message_from_bytes(raw), [])[0]


def _ics(method: str, uid: str, *, event: str = "VEVENT") -> bytes:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0"]
    lines += [f"METHOD:{method}"] if method else []
    lines += [f"BEGIN:{event}", "DTSTART:20260312T100000Z", f"UID:{uid}", f"END:{event}", "END:VCALENDAR"]
    return "\r\n".join(lines).encode()


def test_the_uid_of_each_scheduling_method_is_read_and_publish_is_not() -> None:
    for method in ("REQUEST", "CANCEL", "REPLY", "COUNTER", "request"):
        assert scheduled_uid(_ics(method, GOOGLE_UID)) == GOOGLE_UID, method
    # a newsletter's "add to calendar" file names an event, not a conversation about it
    assert scheduled_uid(_ics("PUBLISH", GOOGLE_UID)) == ""
    assert scheduled_uid(_ics("", GOOGLE_UID)) == ""
    assert scheduled_uid(_ics("", GOOGLE_UID), "REQUEST") == GOOGLE_UID  # the part's method= parameter


def test_a_uid_outside_an_event_too_short_or_too_long_names_nothing() -> None:
    assert scheduled_uid(_ics("REQUEST", GOOGLE_UID, event="VTODO")) == ""
    assert scheduled_uid(_ics("REQUEST", "1")) == ""  # a generator's constant would join strangers
    assert scheduled_uid(_ics("REQUEST", "x" * (MAX_UID + 1))) == ""
    assert scheduled_uid(b"\xff\xfe not a calendar \x00") == ""


def test_folded_uid_lines_and_parameters_are_read_whole() -> None:
    data = _ics("REQUEST", GOOGLE_UID).replace(b"UID:5q3k9v1b", b"UID;X-PARAM=1:5q3k\r\n 9v1b")
    assert scheduled_uid(data) == GOOGLE_UID


def test_every_message_of_an_event_gives_one_key_and_other_mail_none() -> None:
    scenario = THREADS / "calendar-invitation-updates"
    uids = {p.name: event_uid(p.read_bytes()) for p in sorted(scenario.glob("*.eml"))}
    assert uids == {
        "01.eml": GOOGLE_UID,  # text/calendar inside multipart/alternative, and invite.ics
        "02.eml": GOOGLE_UID,
        "03.eml": "",
        "04.eml": GOOGLE_UID,
        "05.eml": "",
        "06.eml": GOOGLE_UID,  # the invitation attached again
    }
    outlook = [event_uid(p.read_bytes()) for p in sorted(OUTLOOK.glob("*.eml"))]
    assert (
        outlook[0] == outlook[1]
        and outlook[0].startswith("040000008200E00074C5B7101A82E008")
        and len(outlook[0]) == 112
    )
    assert event_key(GOOGLE_UID) == event_key(GOOGLE_UID) != event_key(outlook[0])
    assert event_key("") is None


def test_an_event_inside_an_attached_message_is_that_messages() -> None:
    inner = (THREADS / "calendar-invitation-updates" / "02.eml").read_bytes()
    outer = (
        b"From: a@example.com\r\nSubject: Fwd: Updated invitation\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nFYI\r\n'
        b"--b\r\nContent-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--b--\r\n"
    )
    assert event_uid(outer) == ""


def test_a_calendar_sent_only_as_a_body_part_is_listed_as_invite_ics_once() -> None:
    # Outlook: the time and place are only in the text/calendar alternative
    request = parse((OUTLOOK / "01.eml").read_bytes())
    [invite] = request.attachments
    assert (invite.filename, invite.content_type) == ("invite.ics", "text/calendar")
    assert b"DTSTART;TZID=W. Europe Standard Time:20260317T140000" in invite.data
    assert "Room 4.12" not in request.text  # what the reader had before: no time, no place
    # Google attaches invite.ics beside its alternative: one file, not two
    google = parse((THREADS / "calendar-invitation-updates" / "01.eml").read_bytes())
    assert [(a.filename, a.content_type) for a in google.attachments] == [("invite.ics", "application/ics")]
