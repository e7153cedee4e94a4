"""Which calendar parts name an event a conversation is about, and its UID."""

from __future__ import annotations

from email import message_from_bytes
from pathlib import Path

from gateway.parse import parse
from gateway.parse_calendar import MAX_UID, meeting_lines, read_calendar, repeat_rule, scheduled_uid
from gateway.thread import event_key
from tests.helpers import analysed

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


def test_a_meetings_time_and_place_read_as_the_organizer_set_them() -> None:
    def lines(*props: str) -> str:
        return meeting_lines("\r\n".join(["BEGIN:VCALENDAR", "BEGIN:VEVENT", *props, "END:VEVENT"]).encode())

    assert lines("DTSTART:20260317T130000Z", "DTEND:20260317T140000Z", r"LOCATION:Harbour House\, room 2\nfloor 3") == (
        "When: Tue 17 Mar 2026 13:00–14:00 (UTC)\nWhere: Harbour House, room 2, floor 3"
    )
    overnight = ('DTSTART;TZID="America/New_York":20260317T230000', 'DTEND;TZID="America/New_York":20260318T010000')
    assert lines(*overnight) == "When: Tue 17 Mar 2026 23:00 – Wed 18 Mar 2026 01:00 (America/New_York)"
    assert lines("DTSTART;VALUE=DATE:20260317", "DTEND;VALUE=DATE:20260318") == "When: Tue 17 Mar 2026 (all day)"
    assert lines("DTSTART;VALUE=DATE:20260317", "DTEND;VALUE=DATE:20260320") == (
        "When: Tue 17 Mar 2026 – Thu 19 Mar 2026 (all day)"
    )
    # an alarm's properties are the alarm's; a start that is no date says no time, but the place still
    alarm = ("BEGIN:VALARM", "DTSTART:20990101T000000Z", "END:VALARM", "DTSTART:20260317T090000", "LOCATION:Room 9")
    assert lines(*alarm) == "When: Tue 17 Mar 2026 09:00\nWhere: Room 9"
    assert lines("DTSTART:20261399T250000", "LOCATION:Room 9") == "Where: Room 9"
    assert lines("DTSTART:20261399T250000") == ""
    # the extended form some generators write instead of RFC 5545's basic one
    assert lines("DTSTART:2026-03-20T10:00:00", "DTEND:20261341T250000") == "When: Fri 20 Mar 2026 10:00"
    # an end at or before the start, at the calendar's first day (one day less is no date)
    assert lines("DTSTART;VALUE=DATE:00010101", "DTEND;VALUE=DATE:00010101") == "When: Mon 1 Jan 1 (all day)"
    assert lines("DTSTART:99991231T235959Z", "DTEND:00010101T000000Z") == "When: Fri 31 Dec 9999 23:59 (UTC)"
    assert meeting_lines(b"\xff\x00 no calendar") == ""


def test_the_outlook_meeting_says_when_and_where_above_its_text_and_google_keeps_its_own() -> None:
    request = analysed((OUTLOOK / "01.eml").read_bytes()).content
    when = "When: Tue 17 Mar 2026 14:00–14:30 (W. Europe Standard Time)"
    assert request.text == f"{when}\nWhere: Room 4.12\n\nWalk through the open release blockers."
    assert request.html is not None and request.html.startswith(f"<p>{when}<br>Where: Room 4.12</p>")
    assert request.snippet.startswith(f"{when} Where: Room 4.12 Walk through")
    google = analysed((THREADS / "calendar-invitation-updates" / "01.eml").read_bytes()).content
    assert google.text.startswith("Quarterly planning\nThursday 12 March 2026") and "When:" not in google.text
    # a body that says when itself (a meeting Outlook forwarded, its header block quoted) gets no second line
    said = (OUTLOOK / "02.eml").read_bytes().replace(b"The release is postponed", b"When: next week. Postponed")
    assert "When: Tue" not in analysed(said).content.text


def test_an_attendees_answer_is_told_by_its_method_in_the_calendar_or_on_the_part() -> None:
    def sent(method: str, param: str = "") -> bytes:
        head = b"From: bo@example.org\nTo: team@example.com\nSubject: Accepted: Team sync\nMessage-ID: <a@x>\n"
        return head + f"Content-Type: text/calendar{param}\n\n".encode() + _ics(method, GOOGLE_UID)

    assert parse(sent("REPLY")).calendar_answer
    assert parse(sent("", "; method=REPLY")).calendar_answer
    assert not parse(sent("REQUEST")).calendar_answer and not parse(sent("CANCEL")).calendar_answer


def _lines(*props: str, method: str = "", charset: str | None = None, described: bool = False) -> str:
    head = ["BEGIN:VCALENDAR", *([f"METHOD:{method}"] if method else []), "BEGIN:VEVENT"]
    data = "\r\n".join([*head, *props, "END:VEVENT", "END:VCALENDAR"]).encode(charset or "utf-8")
    return meeting_lines(data, charset, described=described)


def test_exchanges_quoted_zone_with_a_colon_keeps_the_time() -> None:
    """TZID="(UTC+01:00) Amsterdam, …": the parameters were read up to the colon inside the quotes,
    and the entry lost its time and place."""
    zone = '"(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna"'
    assert _lines(f"DTSTART;TZID={zone}:20260318T110000", f"DTEND;TZID={zone}:20260318T120000", "LOCATION:Room 2") == (
        "When: Wed 18 Mar 2026 11:00–12:00 ((UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna)\n"
        "Where: Room 2"
    )


def test_a_cancellation_says_so_and_a_series_says_how_it_repeats() -> None:
    """On the thread a comment shows no subject: an Outlook cancellation read as a fresh invitation,
    and a weekly series (its body empty) as one meeting."""
    start = "DTSTART:20260317T140000Z"
    assert _lines(start, method="CANCEL").startswith("Canceled: this event will not take place.\nWhen: Tue 17 Mar")
    assert _lines(start, "STATUS:CANCELLED").startswith("Canceled:")
    assert _lines(start, "RRULE:FREQ=WEEKLY;BYDAY=TU,TH;UNTIL=20260630T220000Z") == (
        "When: Tue 17 Mar 2026 14:00 (UTC)\nRepeats: weekly on Tue, Thu until Tue 30 Jun 2026"
    )
    assert repeat_rule("FREQ=WEEKLY;INTERVAL=2;COUNT=10") == "every 2 weeks, 10 times"
    assert repeat_rule("FREQ=MONTHLY;BYDAY=-1FR") == "monthly on last Fri"
    assert repeat_rule("FREQ=SECONDLY") == "" and repeat_rule("") == ""


def test_a_calendar_is_read_in_its_parts_charset() -> None:
    latin = _lines("DTSTART:20260320T090000Z", "LOCATION:Besprechungsraum Müller", charset="iso-8859-1")
    assert latin.endswith("Where: Besprechungsraum Müller")


def test_an_invitation_with_no_words_of_its_own_shows_its_calendars_time_place_and_description() -> None:
    """A booking system's invitation whose only text is its .ics (a body part, or an attached file):
    the entry was blank, or said when and where but not what the meeting was about."""
    ics = "\r\n".join(
        [
            "BEGIN:VCALENDAR",
            "METHOD:REQUEST",
            "BEGIN:VEVENT",
            "UID:kickoff-2026-0042@booking.example.net",
            "DTSTART:20260320T090000Z",
            "LOCATION:Harbour House",
            r"DESCRIPTION:Please read the brief.\nDial-in: https://meet.example.net/k",
            "END:VEVENT",
            "END:VCALENDAR",
        ]
    )
    head = "From: Ana <ana@example.com>\nTo: team@example.com\nSubject: Kickoff\nMessage-ID: <k@x>\nMIME-Version: 1.0\n"
    shown = "When: Fri 20 Mar 2026 09:00 (UTC)\nWhere: Harbour House\n\nPlease read the brief.\nDial-in: https://meet.example.net/k"
    bare = analysed(f"{head}Content-Type: text/calendar; method=REQUEST\n\n{ics}\n".encode()).content
    assert bare.text == shown
    attached = (
        f'{head}Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/calendar\n'
        f'Content-Disposition: attachment; filename="invite.ics"\n\n{ics}\n--b--\n'
    )
    content = analysed(attached.encode()).content
    assert content.text == shown
    assert [a.filename for a in content.attachments] == ["invite.ics"]


def test_an_outlook_forward_of_a_meeting_keeps_its_time_and_place() -> None:
    """Outlook forwards a meeting with "When:" and "Where:" among the original's header fields, which
    went with the header: the forwarded post said neither. The calendar it carries says them."""
    ics = _ics("REQUEST", GOOGLE_UID).replace(
        b"DTSTART:20260312T100000Z", b"DTSTART:20260317T140000Z\r\nLOCATION:Room 4"
    )
    raw = (
        b"From: Bo <bo@example.com>\nTo: team@example.com\nSubject: FW: Team sync\nMessage-ID: <fw-meeting@x>\n"
        b"Date: Fri, 6 Mar 2026 07:00:00 +0000\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/alternative; boundary="b"\n\n'
        b"--b\nContent-Type: text/plain\n\nCleo, can you join?\n\n-----Original Appointment-----\n"
        b"From: Ana Lima <ana@example.com>\nSent: Wednesday, March 4, 2026 10:12 AM\nTo: team@example.com\n"
        b"Subject: Team sync\nWhen: Tuesday, March 17, 2026 3:00 PM-3:30 PM (UTC+01:00) Amsterdam.\nWhere: Room 4\n\n"
        b"Agenda: budget first.\n\n--b\nContent-Type: text/calendar; method=REQUEST\n\n" + ics + b"\n--b--\n"
    )
    c = analysed(raw).content
    assert c.author.address == "ana@example.com" and c.forward is not None
    assert c.text == "When: Tue 17 Mar 2026 14:00 (UTC)\nWhere: Room 4\n\nAgenda: budget first."
