"""Thunderbird's localized forward lines, read as whole lines, in linear time."""

from __future__ import annotations

import re
import time

import pytest

from gateway.forward_dates import parse_date
from gateway.forward_markers import THUNDERBIRD_MARKER, in_english


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
