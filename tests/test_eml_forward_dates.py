"""Steps 3 to 6 on forwards whose header dates a numeric date that reads both ways ("3/2/26"): read as
the header tells (its clock, its zone, the forward's own date), not day first whatever it says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from gateway.forward import unwrap_text
from gateway.message import Address
from gateway.parse import parse
from tests.helpers import EML, analysed, analysed_fixture, html_only

EST = timezone(timedelta(hours=-5))


@pytest.mark.parametrize("html_alone", [False, True], ids=["text-and-html", "html-only"])
def test_samsung_emails_us_forward_header_is_read_month_first(html_alone: bool) -> None:
    """Samsung Email writes the original's date in the phone's locale: "3/2/26 10:15 AM (GMT-05:00)" from a
    US phone is 2 March, and was read as 3 February, a month before it was written."""
    name = "samsung-email-us-forward-month-first-date.eml"
    c = (analysed(html_only(name)) if html_alone else analysed_fixture(name)).content
    assert (c.author, c.subject) == (Address("Marcus Reyes", "marcus.reyes@example.net"), "Loading dock closure")
    assert c.date == datetime(2026, 3, 2, 10, 15, tzinfo=EST)
    assert c.forward is not None and c.forward.note == "Can someone confirm the trucks were rerouted?"
    assert c.text.startswith("Hi Dana,\n\nThe north loading dock is closed until Friday")


def _unwrapped(name: str) -> tuple[datetime | None, datetime | None]:
    """The original's date in the fixture's forward header, read without and with the forward's own date."""
    msg = parse((EML / name).read_bytes())
    alone = unwrap_text(msg.text, subject=msg.subject)
    told = unwrap_text(msg.text, subject=msg.subject, sent=msg.date)
    assert alone is not None and told is not None
    return alone.date, told.date


def test_lotus_notes_us_forward_header_is_read_by_the_forwards_own_date() -> None:
    """Lotus Notes in the US writes "03/02/2026 10:15 AM", with no zone: forwarded on 5 March it is 2 March
    (3 February, the other reading, is a month further from the forward), and was read as 3 February."""
    without, with_sent = _unwrapped("lotus-notes-us-forward-month-first-date.eml")
    assert with_sent == datetime(2026, 3, 2, 10, 15)  # naive: Notes writes no zone
    assert without == datetime(2026, 2, 3, 10, 15)  # nothing to tell: day first, as before


def test_lotus_notes_us_forward_is_posted_under_the_date_it_was_written() -> None:
    c = analysed_fixture("lotus-notes-us-forward-month-first-date.eml").content
    assert c.author == Address("Bo Berg", "")
    assert c.date == datetime(2026, 3, 2, 10, 15, tzinfo=EST)


def test_samsung_emails_uk_forward_header_stays_day_first_with_its_24_hour_clock() -> None:
    """Samsung Email in the UK writes "05/03/2026 14:20 (GMT+00:00)": forwarded on 10 May, 3 May would be the
    closer reading, but a 24-hour clock in a UK zone writes the day first; it is 5 March."""
    without, with_sent = _unwrapped("samsung-email-uk-forward-day-first-date.eml")
    assert with_sent == without == datetime(2026, 3, 5, 14, 20, tzinfo=UTC)
    c = analysed_fixture("samsung-email-uk-forward-day-first-date.eml").content
    assert (c.author.address, c.date) == (
        "oliver.grant@example.co.uk",
        datetime(2026, 3, 5, 14, 20, tzinfo=UTC),
    )
