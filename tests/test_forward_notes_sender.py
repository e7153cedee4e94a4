"""Lotus Notes' forward header row "From: Bo Berg/ACME on 03/02/2026 10:15 AM": the sender and the date apart."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone

import pytest

from gateway.forward_fields import _NOTES_SENDER_ON, notes_sender
from gateway.message import Address, Forward
from tests.helpers import analysed_fixture

EST = timezone(timedelta(hours=-5))


def test_notes_from_row_with_its_date_gives_the_name_and_the_date() -> None:
    """The date stayed inside the author's name ("Bo Berg/ACME on 03/02/2026 10:15 AM") and the post had none."""
    c = analysed_fixture("lotus-notes-forward-from-name-on-date.eml").content
    assert (c.author, c.subject) == (Address("Bo Berg", ""), "Staging import")
    assert c.date == datetime(2026, 3, 2, 10, 15, tzinfo=EST)  # month first: a US forward of 5 March
    assert c.text == "Hi Ana,\n\nthe staging server is back up. Can you rerun the import tonight?\n\nBo"
    assert c.forward == Forward(
        by=Address("Ana Lund", "ana.lund@acme.example"),
        date=datetime(2026, 3, 5, 9, 45, tzinfo=EST),
        note="Can someone from ops pick this up?\n\nThanks,\nAna",
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Bo Berg/ACME on 03/02/2026 10:15 AM", ("Bo Berg/ACME", "03/02/2026 10:15 AM")),
        ("Bo Berg/Sales/ACME@ACME on 02.03.2026 18:01", ("Bo Berg/Sales/ACME@ACME", "02.03.2026 18:01")),
        ("bo@example.com on 03/02/2026 10:15:09 AM", ("bo@example.com", "03/02/2026 10:15:09 AM")),
        ("Jean on Time/ACME on 3/2/2026 9:05 PM", ("Jean on Time/ACME", "3/2/2026 9:05 PM")),
    ],
)
def test_a_notes_sender_row_is_split_before_its_date(value: str, expected: tuple[str, str]) -> None:
    assert notes_sender(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "Bo Berg <bo@example.com>",
        "Bo Berg on 03/02/2026 10:15 AM",  # no Notes name, no address: a name may say "on"
        "Bo Berg/ACME on Monday",
        "Bo Berg/ACME on 03/02/2026 10:15 AM about the import",
    ],
)
def test_other_senders_are_left_whole(value: str) -> None:
    assert notes_sender(value) == (value, "")


HOSTILE = 50_000


@pytest.mark.parametrize(
    "line",
    [
        "a " * (HOSTILE // 2) + "x",
        "a" * HOSTILE,
        "a/" * (HOSTILE // 2),
        "a b c d e f/g" + " " * HOSTILE + "on",
        "a/b on 1/2/3" + " " * HOSTILE + "4:05 x",
        "a/b on 1/2/3 4:05" + " " * HOSTILE + "x",
        "x@" + "y" * HOSTILE,
        "a on " * (HOSTILE // 5),
    ],
)
def test_the_notes_sender_pattern_fails_fast_on_50000_characters(line: str) -> None:
    """The pattern on its own, without the 2,000-character cut notes_sender makes."""
    pattern: re.Pattern[str] = _NOTES_SENDER_ON
    start = time.perf_counter()
    assert pattern.match(line) is None
    assert time.perf_counter() - start < 0.05
