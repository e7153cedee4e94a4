"""Thunderbird's localized forward lines and its Arabic reply header, read as whole lines, in linear time."""

from __future__ import annotations

import re
import time

import pytest

from gateway.forward_dates import parse_date
from gateway.forward_markers import ARABIC_ATTRIBUTION, THUNDERBIRD_MARKER, in_english, is_arabic_attribution

RLM = "\u200f"


@pytest.mark.parametrize(
    "line",
    [
        "على 02/03/2026 18:01، كتب Bo Berg:",
        "على 2026-03-02 18:01:12، كتب خالد عمر:",
        "على 3/2/2026 6:01 PM، كتب Bo Berg <bo@example.com>:",
        # Arabic-Indic digits, with the direction marks Arabic dates carry, and "م" (PM)
        f"على ٠٢{RLM}/٠٣{RLM}/٢٠٢٦ ٦:٠١ م، كتب ليلى حسن:",
        "> على 02/03/2026 18:01، كتب Bo Berg:",
    ],
)
def test_thunderbirds_arabic_reply_header_is_read_whole(line: str) -> None:
    assert is_arabic_attribution(line)


@pytest.mark.parametrize(
    "line",
    [
        "على الطاولة، كتب كثيرة:",  # "on the table, many books:"
        "على 3 رفوف، كتب قديمة:",  # "on 3 shelves, old books:": a number, no date and time
        "على الساعة 10:30، كتب الطلاب:",  # "at 10:30, the students wrote:": a time, no date
        "كتب Bo Berg:",
        "على 02/03/2026 18:01، كتب Bo Berg: شكراً",  # the colon does not end the line
        "على 02/03/2026 18:01، كتب:",
        "On 02/03/2026 18:01, Bo Berg wrote:",
    ],
)
def test_arabic_prose_and_other_shapes_are_no_reply_header(line: str) -> None:
    assert not is_arabic_attribution(line)


def test_a_thunderbird_forward_line_is_given_to_quotequail_in_english_with_its_quote() -> None:
    text = "See below.\n\n> -------- Перенаправленное сообщение --------\n> Тема: Бюджет\nПеренаправленное сообщение"
    assert in_english(text) == (
        "See below.\n\n> -------- Forwarded Message --------\n> Тема: Бюджет\nПеренаправленное сообщение"
    )


HOSTILE = 50_000


@pytest.mark.parametrize(
    ("pattern", "line"),
    [
        (THUNDERBIRD_MARKER, "--" + " " * HOSTILE + "x"),
        (THUNDERBIRD_MARKER, "-" * HOSTILE + "x"),
        (THUNDERBIRD_MARKER, ">" * HOSTILE + "-"),
        (THUNDERBIRD_MARKER, "-- Перенаправленное" + " \t" * (HOSTILE // 2) + "x"),
        (THUNDERBIRD_MARKER, "-- Перенаправленное сообщение" + " " * HOSTILE + "x"),
        (THUNDERBIRD_MARKER, "-- Перенаправленное сообщение " + "-" * HOSTILE + " x"),
        (ARABIC_ATTRIBUTION, "على 1/2/3 4:05" + " " * HOSTILE + "x"),
        (ARABIC_ATTRIBUTION, "على 1/2/3 4:05، كتب " + "a " * (HOSTILE // 2) + "x"),
        (ARABIC_ATTRIBUTION, "على 1/2/3 4:05، كتب a" + " " * HOSTILE + "b"),
        (ARABIC_ATTRIBUTION, "على 1/2/3 4:05 " + "م " * (HOSTILE // 2)),
        (ARABIC_ATTRIBUTION, ">" * HOSTILE + "على"),
    ],
)
def test_the_new_patterns_fail_fast_on_50000_characters(pattern: re.Pattern[str], line: str) -> None:
    """Each pattern on its own, without the 2,000-character cut its callers make."""
    start = time.perf_counter()
    assert pattern.match(line) is None
    assert time.perf_counter() - start < 0.05


def test_a_numeric_date_both_ways_round_is_read_fast_on_50000_characters() -> None:
    start = time.perf_counter()
    for value in ("1/" * HOSTILE, "3/2/26 " + " " * HOSTILE + "10:15 AM (GMT-05:00)", "10:15 AM " * (HOSTILE // 9)):
        parse_date(value)  # over MAX_LEN: none
        parse_date(value[:199], before=None)
    assert time.perf_counter() - start < 0.05
