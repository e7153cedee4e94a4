"""Inline forward unwrapping: markers, header blocks, dates, forward vs reply."""

from __future__ import annotations

import email
import time
from datetime import UTC, datetime, timedelta, timezone
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from gateway import forward
from gateway.forward import InlineForward, is_forward_subject, parse_address, unwrap_html, unwrap_text
from gateway.forward_dates import parse_date
from gateway.message import Address

EML = Path(__file__).parent / "data" / "eml"


def load(name: str) -> tuple[str, str]:
    msg = email.message_from_bytes((EML / name).read_bytes(), policy=policy.default)
    assert isinstance(msg, EmailMessage)
    part = msg.get_body(preferencelist=("plain", "html"))
    assert part is not None
    return str(msg["subject"]), str(part.get_content())


def test_apple_begin_forwarded_message() -> None:
    subject, text = load("apple-begin-forwarded.eml")
    fwd = unwrap_text(text, subject=subject)
    assert fwd == InlineForward(
        note="FYI, see below.",
        author=Address("Venue Desk", "desk@venue.example"),
        date=datetime(2026, 3, 1, 12, 5, tzinfo=timezone(timedelta(hours=1))),
        subject="Venue confirmed",
        to="Nina Olsen <nina@example.com>",
        text="Your booking for 12 March is confirmed.",
    )


def test_gmail_forwarded_message_lowercases_the_address() -> None:
    subject, text = load("gmail-forwarded-message.eml")
    fwd = unwrap_text(text, subject=subject)
    assert fwd is not None
    assert fwd.author == Address("Ops Team", "ops@example.com")
    assert fwd.note == "Heads up."
    assert fwd.date == datetime(2026, 3, 2, 20, 13)  # Gmail prints no offset: naive
    assert fwd.text == "Maintenance window is Saturday 02:00-04:00."


def test_thunderbird_forwarded_message_without_a_note() -> None:
    subject, text = load("thunderbird-forwarded-message.eml")
    fwd = unwrap_text(text, subject=subject)
    assert fwd is not None
    assert (fwd.note, fwd.subject, fwd.author.address) == ("", "Minutes", "rolf@example.com")
    assert fwd.date == datetime(2026, 3, 3, 14, 54, 27, tzinfo=timezone(timedelta(hours=2)))


def test_original_message_block_is_a_forward_only_under_a_forward_subject() -> None:
    subject, text = load("outlook-forward-fw-subject.eml")
    assert unwrap_text(text) is None  # as a reply it is quoted history
    assert unwrap_text(text, subject="RE: Invoice 42") is None
    fwd = unwrap_text(text, subject=subject)
    assert fwd is not None
    assert (fwd.note, fwd.author.address, fwd.text) == (
        "Please pay this one.",
        "billing@vendor.example",
        "Invoice 42 is due on 30 June.",
    )


def test_a_reply_is_not_a_forward() -> None:
    _, text = load("gmail-reply.eml")
    assert unwrap_text(text) is None
    assert unwrap_text(text, subject="Re: Launch checklist") is None


def test_html_gmail_forward() -> None:
    html = (
        '<div dir="ltr">See below<br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">'
        "---------- Forwarded message ---------<br>From: <strong>Ops</strong> "
        '<span>&lt;<a href="mailto:ops@example.com">ops@example.com</a>&gt;</span><br>'
        "Date: Mon, Mar 2, 2026 at 8:13 PM<br>Subject: Window<br>To: &lt;otto@example.com&gt;<br></div><br>"
        "<div>Saturday night.</div></div></div>"
    )
    fwd = unwrap_html(html, subject="Fwd: Window")
    assert fwd is not None
    assert fwd.author == Address("Ops", "ops@example.com")
    assert (fwd.note, fwd.subject, fwd.text) == ("See below", "Window", "Saturday night.")
    assert fwd.html is not None and "Saturday night." in fwd.html


def test_plain_html_is_not_a_forward() -> None:
    assert unwrap_html("<p>Hello</p>", subject="Fwd: x") is None


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Fwd: x", True),
        ("FW: x", True),
        ("WG: x", True),
        ("TR: x", True),
        ("RV: x", True),
        ("Fw: x", True),
        ("[team] Fwd: x", True),
        ("Re: Fwd: x", True),
        ("Re: x", False),
        ("Forward planning", False),
        ("", False),
    ],
)
def test_forward_subjects(subject: str, expected: bool) -> None:
    assert is_forward_subject(subject) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Fri, 19 Jun 2009 19:16:04 +0200", datetime(2009, 6, 19, 19, 16, 4, tzinfo=timezone(timedelta(hours=2)))),
        ("Fri, Apr 26, 2013 at 8:13 PM", datetime(2013, 4, 26, 20, 13)),
        ("1. August 2011 23:28:15 GMT-07:00", datetime(2011, 8, 1, 23, 28, 15, tzinfo=timezone(timedelta(hours=-7)))),
        ("Thursday, March 7, 2013 7:09:41 PM", datetime(2013, 3, 7, 19, 9, 41)),
        ("mercredi 17 septembre 2014 16:24", datetime(2014, 9, 17, 16, 24)),
        (
            "Thursday, September 4, 2025 at 11:30:41 AM EDT",
            datetime(2025, 9, 4, 11, 30, 41, tzinfo=timezone(timedelta(hours=-4))),
        ),
        ("2024-03-04T09:12:33+0100", datetime(2024, 3, 4, 9, 12, 33, tzinfo=timezone(timedelta(hours=1)))),  # T-Online
        ("4. 3. 2024 9:12:33", datetime(2024, 3, 4, 9, 12, 33)),  # Seznam
        ("7/20/95 1:12pm", datetime(1995, 7, 20, 13, 12)),  # RFC 5322's two-digit years: not 2095
        ("not a date", None),
        ("", None),
    ],
)
def test_forward_header_dates(value: str, expected: datetime | None) -> None:
    assert parse_date(value) == expected


EST = timezone(timedelta(hours=-5))


@pytest.mark.parametrize(
    ("value", "before", "expected"),
    [
        # Samsung Email from a US phone: "AM"/"PM" in a US zone is month first, by name or by offset
        ("3/2/26 10:15 AM (GMT-05:00)", None, datetime(2026, 3, 2, 10, 15, tzinfo=EST)),
        ("05/09/2015 10:12 AM (GMT-05:00)", None, datetime(2015, 5, 9, 10, 12, tzinfo=EST)),
        ("3/2/26 10:15 AM EST", None, datetime(2026, 3, 2, 10, 15, tzinfo=EST)),
        ("3/2/26 9:15 PM PST", None, datetime(2026, 3, 2, 21, 15, tzinfo=timezone(timedelta(hours=-8)))),
        # "AM" in a zone elsewhere (Australia, Europe) or a 24-hour clock: day first
        ("3/2/26 10:15 AM (GMT+10:00)", None, datetime(2026, 2, 3, 10, 15, tzinfo=timezone(timedelta(hours=10)))),
        ("05/03/2026 14:20", datetime(2026, 5, 10, 8, 5, tzinfo=UTC), datetime(2026, 3, 5, 14, 20)),
        # Lotus Notes writes no zone: of two readings before the forward, the closer ...
        ("03/02/2026 10:15 AM", datetime(2026, 3, 5, 9, 45, tzinfo=EST), datetime(2026, 3, 2, 10, 15)),
        # ... and a reading later than the forward is none, whatever the clock says
        ("03/02/2026 10:15 AM", datetime(2026, 2, 10, 9, 45, tzinfo=EST), datetime(2026, 2, 3, 10, 15)),
        ("03/10/2026 10:15", datetime(2026, 3, 12, 9, 45, tzinfo=EST), datetime(2026, 3, 10, 10, 15)),
        ("3/2/26 10:15 AM (GMT-05:00)", datetime(2026, 2, 20, tzinfo=EST), datetime(2026, 2, 3, 10, 15, tzinfo=EST)),
        # a day ahead is a clock's error, no reason to drop a reading
        ("03/02/2026 10:15 AM", datetime(2026, 3, 1, 20, 0, tzinfo=EST), datetime(2026, 3, 2, 10, 15)),
        # one way only, or nothing to tell: as before
        ("13/02/2026 10:15 AM (GMT-05:00)", None, datetime(2026, 2, 13, 10, 15, tzinfo=EST)),
        ("02.03.2026 10:15 AM", datetime(2026, 5, 1, tzinfo=EST), datetime(2026, 3, 2, 10, 15)),  # dots: day first
        ("03/03/2026 10:15 AM", None, datetime(2026, 3, 3, 10, 15)),
        ("03/02/2026 10:15 AM", None, datetime(2026, 2, 3, 10, 15)),
        ("2026-03-02 10:15", datetime(2026, 2, 1, tzinfo=EST), datetime(2026, 3, 2, 10, 15)),
    ],
)
def test_a_numeric_date_that_reads_both_ways_is_read_as_the_header_tells(
    value: str, before: datetime | None, expected: datetime
) -> None:
    assert parse_date(value, before=before) == expected


def test_parse_address_forms() -> None:
    assert parse_address('"Doe, Jane" <Jane@Example.ORG>') == Address("Doe, Jane", "jane@example.org")
    assert parse_address("John Doe") == Address("John Doe", "")


def test_big_inputs_are_bounded() -> None:
    start = time.perf_counter()
    assert unwrap_text(">" * 1_000_000) is None
    unwrap_text("Begin forwarded message:\n" + "x" * 1_000_000)
    assert time.perf_counter() - start < 3.0


def test_html_quotequail_cannot_slice_is_read_from_its_text_rendering() -> None:
    """A tag name lxml refuses in an XPath ("<dˇ>") made quotequail raise; found by the fuzzer."""
    html = (
        "<dˇ><div>FYI<br>---------- Forwarded message ---------<br>From: Ops &lt;ops@example.com&gt;<br>"
        "Date: Mon, Mar 2, 2026 at 8:13 PM<br>Subject: Window<br><br>Saturday night.</div></dˇ>"
    )
    fwd = unwrap_html(html, subject="Fwd: Window")
    assert fwd is not None and (fwd.author, fwd.note) == (Address("Ops", "ops@example.com"), "FYI")


@pytest.mark.parametrize(
    ("fields", "forward"),
    [
        ("Fra: Ops <ops@example.com>\nSendt: 2. marts 2026 18:01\nTil: Ann\nEmne: Vindue", True),  # Danish forward
        (
            "Lähettäjä: Ops <ops@example.com>\nLähetetty: 2. maaliskuuta 2026 18.01\nVastaanottaja: Ann\nAihe: Ikkuna",
            False,
        ),
    ],
)
def test_vs_is_a_forward_in_danish_and_a_reply_in_finnish(fields: str, forward: bool) -> None:
    text = f"Se nedenfor.\n\n________________________________\n{fields}\n\nLørdag nat.\n"
    assert (unwrap_text(text, subject="VS: Vindue") is not None) is forward


@pytest.mark.parametrize(
    ("marker", "sender"),
    [
        ("Yönlendirilmiş ileti", "Gönderen"),
        ("Προωθημένο μήνυμα", "Από"),
        ("전달된 메일", "보낸사람"),
        ("Pesan terusan", "Dari"),
        ("Mesaj redirecționat", "De la"),
        ("Thư đã chuyển tiếp", "Từ"),
        ("הודעה שהועברה", "מאת"),
        ("Proslijeđena poruka", "Šalje"),
    ],
)
@pytest.mark.parametrize("subject", ["Fwd: Server maintenance", "Server maintenance"])
def test_gmail_forwards_in_more_languages(marker: str, sender: str, subject: str) -> None:
    """Gmail's localized marker and "From" field: with or without a forward subject, the original is read."""
    text = (
        f"FYI\n\n---------- {marker} ---------\n{sender}: Ops Team <ops@example.com>\n"
        "Date: Mon, Mar 2, 2026 at 8:13 PM\nSubject: Server maintenance\nTo: Otto Prem <otto@example.org>\n\n\n"
        "Maintenance window is Saturday 02:00-04:00.\n"
    )
    found = unwrap_text(text, subject=subject)
    assert found is not None
    assert (found.author, found.note, found.subject) == (
        Address("Ops Team", "ops@example.com"),
        "FYI",
        "Server maintenance",
    )
    assert found.text == "Maintenance window is Saturday 02:00-04:00."


@pytest.mark.parametrize(
    ("marker", "labels"),
    [
        ("Inizio messaggio inoltrato:", ("Da", "Oggetto", "Data", "A")),
        ("Begin doorgestuurd bericht:", ("Van", "Onderwerp", "Datum", "Aan")),
        ("Início da mensagem encaminhada:", ("De", "Assunto", "Data", "Para")),
        ("Začátek přeposílané zprávy:", ("Od", "Předmět", "Datum", "Komu")),
        ("Początek przekazywanej wiadomości:", ("Od", "Temat", "Data", "Do")),
        ("Начало переадресованного сообщения:", ("От", "Тема", "Дата", "Кому")),
        ("Start på videresendt besked:", ("Fra", "Emne", "Dato", "Til")),
        ("Välitetty viesti alkaa:", ("Lähettäjä", "Aihe", "Päiväys", "Vastaanottaja")),
        ("Vidarebefordrat mejl:", ("Från", "Ämne", "Datum", "Till")),
        ("Továbbított levél kezdete:", ("Feladó", "Tárgy", "Dátum", "Címzett")),
        ("Début du message transféré :", ("De", "Objet", "Date", "À")),
    ],
)
def test_apple_mail_forward_markers_count_without_a_forward_subject(marker: str, labels: tuple[str, ...]) -> None:
    """The forwarder retyped the subject: Apple Mail's localized marker alone says it is a forward."""
    sender, subject, date, to = labels
    text = (
        f"FYI\n\n{marker}\n\n{sender}: Ops Team <ops@example.com>\n{subject}: Server maintenance\n"
        f"{date}: 2 March 2026 20:13:00 CET\n{to}: Otto Prem <otto@example.org>\n\nMaintenance window is Saturday."
    )
    found = unwrap_text(text, subject="Saturday's maintenance")
    assert found is not None
    assert (found.author.address, found.note, found.text) == (
        "ops@example.com",
        "FYI",
        "Maintenance window is Saturday.",
    )


def test_a_forward_whose_body_follows_its_header_block_with_no_blank_line_keeps_its_subject_and_body() -> None:
    """The new Outlook's text part puts the body right under "Subject:": quotequail read the body's
    first line as the rest of the subject, and it was missing from the text."""
    text = (
        "See below.\n\nFrom: Jana Nová <jana@example.cz>\nDate: Thursday, 5 November 2026 at 09:12\n"
        "To: team@example.com\nSubject: Budget 2027\nThe budget passed the board this morning.\n"
        "Details follow on Monday.\n"
    )
    found = unwrap_text(text, subject="FW: Budget 2027")
    assert found is not None and found.subject == "Budget 2027"
    assert found.text.startswith("The budget passed the board this morning.")
    # a subject a renderer wrapped onto a short line, then a blank one, stays the subject
    wrapped = text.replace("Budget 2027\nThe budget", "Budget 2027 and the plan for the\nnew office\n\nThe budget")
    rewrapped = unwrap_text(wrapped, subject="FW: Budget")
    assert rewrapped is not None and rewrapped.subject == "Budget 2027 and the plan for the new office"
    # the message's own subject tells: this one was wrapped, and a salutation under a whole one is the body
    assert unwrap_text(wrapped, subject="FW: Budget 2027 and the plan for the new office").subject == (  # type: ignore[union-attr]
        "Budget 2027 and the plan for the new office"
    )
    salutation = text.replace("Budget 2027\nThe budget", "Budget 2027\nDear all,\n\nThe budget")
    greeted = unwrap_text(salutation, subject="FW: Budget 2027")
    assert greeted is not None and greeted.subject == "Budget 2027"
    assert greeted.text.startswith("Dear all,\n\nThe budget passed")


def test_a_forwarded_bodys_first_line_with_a_colon_is_no_header_field() -> None:
    """quotequail read "Found this at gate 3 at 07:45 today." under Gmail's header (two blank lines
    above it) as one more field, and the original lost its first words."""
    text = (
        "FYI\n\n---------- Forwarded message ---------\nFrom: Olena Koval <olena@example.org>\n"
        "Date: Thu, Mar 14, 2024 at 8:12 AM\nSubject: Gate\nTo: Priya Nair <priya@example.net>\n\n\n"
        "Found this at gate 3 at 07:45 today.\n\nOlena\n"
    )
    found = unwrap_text(text, subject="Fwd: Gate")
    assert found is not None and found.text.strip() == "Found this at gate 3 at 07:45 today.\n\nOlena"


def test_an_rfc_934_forward_has_its_dash_lines_unstuffed() -> None:
    """mblaze writes the original under RFC 934's rule: each line that starts with a dash gets "- "
    before it, so the original's list read "- - item" and its signature line "- -- "."""
    text = (
        "FYI\n\n----- Forwarded message from Bo Berg <bo@example.net> -----\n\nFrom: Bo Berg <bo@example.net>\n"
        "Subject: Deploy\nDate: Mon, 02 Mar 2026 09:12:00 +0100\n\nSteps:\n- - backup first\n- - then migrate\n"
        "- -- \nBo Berg, Ops\n\n----- End forwarded message -----\n"
    )
    found = unwrap_text(text, subject="[Bo Berg] Deploy")
    assert found is not None and found.author.address == "bo@example.net"
    assert found.text == "Steps:\n- backup first\n- then migrate\n-- \nBo Berg, Ops"
    # a list written with no stuffing is left as it is
    plain = unwrap_text(text.replace("- - ", "- ").replace("- -- ", "-- "), subject="[Bo Berg] Deploy")
    assert plain is not None and plain.text == "Steps:\n- backup first\n- then migrate\n-- \nBo Berg, Ops"


BO_SAYS = "Hi all,\n\nthe deploy window moves to Thursday 20:00.\n\nBo\n-- \nBo Berg, Ops\n"


def test_aercs_and_alots_one_line_forward_intros_are_unwrapped() -> None:
    """aerc's "Forwarded message from Bo Berg on Mon Mar 2, 2026 at 9:12 AM:" and alot's "… from Bo
    Berg (2026-03-02 09:12:00):", with the original ">"-quoted, have no header block: Bo's words
    were shown as the forwarder's."""
    aerc = f"FYI\n\nForwarded message from Bo Berg on Mon Mar 2, 2026 at 9:12 AM:\n{BO_SAYS}\n-- \nAna Alves\n"
    found = unwrap_text(aerc, subject="Fwd: Deploy window")
    assert found is not None
    assert (found.author.name, found.subject, found.note) == ("Bo Berg", "Deploy window", "FYI")
    assert found.date is not None and (found.date.day, found.date.hour, found.date.minute) == (2, 9, 12)
    assert found.text == BO_SAYS.rstrip("\n")  # the forwarder's own signature, the last one, is left out
    quoted = "".join(f"> {line}\n" if line else ">\n" for line in BO_SAYS.rstrip("\n").split("\n"))
    alot = unwrap_text(f"FYI\n\nForwarded message from Bo Berg (2026-03-02 09:12:00):\n{quoted}", subject="Fwd: Deploy")
    assert alot is not None and alot.author.name == "Bo Berg" and alot.text == BO_SAYS.rstrip("\n")
    # not under a forward's subject: a sentence the author wrote
    assert unwrap_text(aerc, subject="Deploy window") is None


def test_himalayas_signature_above_the_forward_is_no_note() -> None:
    text = (
        "FYI, see below.\n\n-- \nAna Alves\nPlatform team\n\n-------- Forwarded Message --------\n"
        "Date: Mon, 2 Mar 2026 09:12:00 +0100\nFrom: Bo Berg <bo@example.net>\nSubject: Deploy\n\n" + BO_SAYS
    )
    found = unwrap_text(text, subject="Fwd: Deploy")
    assert found is not None and found.note == "FYI, see below."
    signed_only = unwrap_text(text.replace("FYI, see below.\n\n", ""), subject="Fwd: Deploy")
    assert signed_only is not None and signed_only.note == ""


@pytest.mark.parametrize(
    "body",
    [
        "From: a\n" * 12_500,  # 100 kB
        "From: a\nwrapped\n" * 6_000,  # one wrapped line between fields does not end quotequail's run
        "From: a\n\n" * 6_000,  # nor do blank lines
        "> From: a\n" * 8_000,  # nor quote marks: it reads a quoted forward again without them
    ],
)
def test_a_flood_of_field_lines_is_not_given_to_quotequail(monkeypatch: pytest.MonkeyPatch, body: str) -> None:
    """quotequail reads the field lines below each field line again: 12,500 "From: a" lines under "Fwd:"
    held a worker for 149 s, so any sender could stall everyone's mail. Such a body is no forward header."""

    def never(*_: object) -> None:
        raise AssertionError("quotequail was given the flood")

    monkeypatch.setattr(forward.quotequail, "unwrap", never)
    monkeypatch.setattr(forward.quotequail, "unwrap_html", never)
    assert forward.unwrap_text(body, subject="Fwd: x") is None
    html = "".join(f"<div>{line}</div>" for line in body.split("\n")[:6_000])
    assert forward.unwrap_html(html, subject="Fwd: x") is None


def test_a_forward_of_a_long_form_still_unwraps() -> None:
    """A forwarded web form's notification has many "Name: value" lines, far fewer than the flood's."""
    fields = "".join(f"Field {i}: value {i}\n" for i in range(150))
    text = (
        "FYI\n\n---------- Forwarded message ---------\nFrom: Web Form <form@example.com>\n"
        "Date: Mon, Mar 2, 2026 at 8:13 PM\nSubject: New entry\nTo: Ann <ann@example.com>\n\n" + fields
    )
    got = forward.unwrap_text(text, subject="Fwd: New entry")
    assert got is not None and got.author.address == "form@example.com" and "Field 149: value 149" in got.text
