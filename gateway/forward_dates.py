"""Parse the dates mail clients write into forwarded-message header blocks.

These are not RFC 5322 dates: Gmail writes "Fri, Apr 26, 2013 at 8:13 PM",
Apple Mail "1. August 2011 23:28:15 GMT-07:00" or "March 24, 2016 at 20:16:25
GMT+1", Outlook "Thursday, March 7, 2013 7:09:41 PM", French Outlook "jeudi 7
mars 2013 19:09", Japanese "2026年3月2日(月) 18:01". A date with an offset becomes timezone-aware; one without stays
naive (the reader's zone is unknown); anything unreadable is None.

A numeric date both ways valid ("3/2/26"; with dots, "02.03.2026", it is day first) is read as the
header tells: a reading later than the forward itself (`before`, its Date:) cannot be the original's; a
12-hour "AM"/"PM" clock in a US or Canadian zone (Samsung Email's "3/2/26 10:15 AM (GMT-05:00)") is
month first, a 24-hour clock or a zone elsewhere day first; with neither, of two readings both before
the forward the closer (Lotus Notes' "03/02/2026 10:15 AM" in a forward of 5 March is 2 March, not
3 February); and with nothing to tell, day first.
"""

from __future__ import annotations

import contextlib
import re
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

MONTHS = {
    # English, German, French, Spanish, Swedish, Dutch, Italian, Portuguese, Danish/Norwegian
    # Russian (genitive, as in "14 июня 2017")
    **{
        m: i
        for i, m in enumerate(
            [
                "января",
                "февраля",
                "марта",
                "апреля",
                "мая",
                "июня",
                "июля",
                "августа",
                "сентября",
                "октября",
                "ноября",
                "декабря",
            ],
            start=1,
        )
    },
    # Polish (genitive, as Outlook writes "2 marca 2026")
    **{
        m: i
        for i, m in enumerate(
            [
                "stycznia",
                "lutego",
                "marca",
                "kwietnia",
                "maja",
                "czerwca",
                "lipca",
                "sierpnia",
                "września",
                "października",
                "listopada",
                "grudnia",
            ],
            start=1,
        )
    },
    **dict.fromkeys(
        ["jan", "january", "januar", "janvier", "janv", "enero", "ene", "januari", "gennaio", "gen", "janeiro"], 1
    ),
    **dict.fromkeys(
        [
            "feb",
            "february",
            "februar",
            "février",
            "fevrier",
            "févr",
            "fevr",
            "febrero",
            "februari",
            "febbraio",
            "fevereiro",
            "fev",
        ],
        2,
    ),
    **dict.fromkeys(["mar", "march", "märz", "maerz", "mars", "marzo", "maart", "março", "marco", "mär", "mrz"], 3),
    **dict.fromkeys(["apr", "april", "avril", "avr", "abril", "abr", "aprile"], 4),
    **dict.fromkeys(["may", "mai", "mayo", "maj", "mei", "maggio", "mag", "maio"], 5),
    **dict.fromkeys(["jun", "june", "juni", "juin", "junio", "giugno", "giu", "junho"], 6),
    **dict.fromkeys(["jul", "july", "juli", "juillet", "juil", "julio", "luglio", "lug", "julho"], 7),
    **dict.fromkeys(["aug", "august", "août", "aout", "agosto", "ago", "augusti", "augustus"], 8),
    **dict.fromkeys(["sep", "sept", "september", "septembre", "septiembre", "settembre", "set", "setembro"], 9),
    **dict.fromkeys(["oct", "october", "oktober", "octobre", "octubre", "okt", "ottobre", "ott", "outubro", "out"], 10),
    **dict.fromkeys(["nov", "november", "novembre", "noviembre", "novembro"], 11),
    **dict.fromkeys(
        [
            "dec",
            "december",
            "dezember",
            "décembre",
            "decembre",
            "déc",
            "diciembre",
            "dic",
            "dicembre",
            "dez",
            "dezembro",
        ],
        12,
    ),
}
_WORD = re.compile(r"[^\W\d_]+\.?", re.UNICODE)
# not a piece of a numeric date ("02.03.2026 18:01"), and after CJK text too ("下午6:01")
_TIME = re.compile(
    r"(?<![\d.:/-])(\d{1,2})[:.h](\d{2})(?:[:.](\d{2}))?(?!\d|[./-]\d)\s*(a\.?m\.?|p\.?m\.?)?", re.IGNORECASE
)
_OFFSET = re.compile(r"(?:GMT|UTC)\s*([+-])(\d{1,2})(?::?(\d{2}))?|(?<![\d:])([+-])(\d{2}):?(\d{2})\b", re.I)
_NUMERIC = re.compile(r"\b(\d{1,4})[./-] ?(\d{1,2})[./-] ?(\d{1,4})\b")  # Czech and Slovak: "4. 3. 2024"
_ISO_8601 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:?\d{2})?$")
# Japanese, Chinese and Korean: "2026年3月2日(月) 18:01", "2026년 3월 2일 (월) 오후 6:01"
_CJK_DATE = re.compile(r"(\d{4})\s*[年년]\s*(\d{1,2})\s*[月월]\s*(\d{1,2})\s*[日일]")
_CJK_PM = ("下午", "午後", "오후")
# their time in words: "午後3時12分", Apple Mail's Korean "오전 9시 12분 0초"; no AM/PM group, as _TIME has
_CJK_TIME = re.compile(r"(\d{1,2})\s*[時时시]\s*(\d{1,2})\s*[分분](?:\s*(\d{1,2})\s*[秒초])?()")
_YEAR = re.compile(r"\b(19\d{2}|20\d{2}|21\d{2})\b")
_DAY = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th|\.)?(?!\d|:)")
MAX_LEN = 200
_RFC5322 = re.compile(
    r"^\s*(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{2,4}\s+\d{1,2}:\d{2}(?::\d{2})?\s*(?:[+-]\d{4}|(?![AP]M\b)[A-Z]{1,5})?(?:\s*\([^)]{0,40}\))?\s*$"
)
# zone abbreviations US and European clients print after the time (Yahoo: "11:30:41 AM EDT")
ZONES: dict[str, float] = {
    "UTC": 0,
    "GMT": 0,
    "Z": 0,
    "EST": -5,
    "EDT": -4,
    "CST": -6,
    "CDT": -5,
    "MST": -7,
    "MDT": -6,
    "PST": -8,
    "PDT": -7,
    "AKST": -9,
    "AKDT": -8,
    "HST": -10,
    "WET": 0,
    "WEST": 1,
    "BST": 1,
    "CET": 1,
    "CEST": 2,
    "MEZ": 1,
    "MESZ": 2,
    "EET": 2,
    "EEST": 3,
    "MSK": 3,
    "IST": 5.5,
    "JST": 9,
    "KST": 9,
    "AEST": 10,
    "AEDT": 11,
}
_ZONE = re.compile(r"\b(" + "|".join(k for k in ZONES if len(k) > 1) + r")\b")
# Newfoundland's -3:30 to Hawaii's -10: the offsets of the US and Canada, whose clients write month first
_US_OFFSETS = (timedelta(hours=-10), timedelta(hours=-3, minutes=-30))
# a clock of the original's a day ahead of the forwarder's is no reason to call a reading impossible
_CLOCK_SLACK = timedelta(days=1)


def parse_date(value: str, *, before: datetime | None = None) -> datetime | None:
    """The datetime a forward header's Date:/Sent: value names, or None; `before`, the forward's own
    date when known, decides a numeric date that reads both ways."""
    value = value.strip()
    if not value or len(value) > MAX_LEN:
        return None
    if _ISO_8601.match(value):  # T-Online: "2024-03-04T09:12:33+0100"
        with contextlib.suppress(ValueError):
            return datetime.fromisoformat(value)
    if _RFC5322.match(value):  # email.utils is lenient enough to misread "7:09:41 PM"
        try:
            return parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            pass
    try:
        return _loose(value, before)
    except (ValueError, OverflowError):
        return None


def _loose(value: str, before: datetime | None) -> datetime | None:
    tz, rest = _offset(value)
    time_match = _TIME.search(rest) or _CJK_TIME.search(rest)
    hour = minute = second = 0
    twelve_hour = False  # "AM"/"PM" as US clients write it (not "a.m.", not 午後)
    if time_match:
        hour, minute = int(time_match.group(1)), int(time_match.group(2))
        second = int(time_match.group(3) or 0)
        written = time_match.group(4) or ""
        twelve_hour = bool(written) and "." not in written
        ampm = written.lower().replace(".", "")
        if (ampm == "pm" or any(pm in rest for pm in _CJK_PM)) and hour < 12:
            hour += 12
        elif ampm == "am" and hour == 12:
            hour = 0
        rest = rest[: time_match.start()] + " " + rest[time_match.end() :]
    cjk = _CJK_DATE.search(rest)
    if cjk:
        readings = [(int(cjk.group(1)), int(cjk.group(2)), int(cjk.group(3)))]
    else:
        readings = _numeric_readings(rest)
        named = None if readings else _named_date(rest)
        readings = readings or ([named] if named else [])
    candidates = []
    for year, month, day in readings:
        with contextlib.suppress(ValueError):  # 2/30/2026 either way round
            candidates.append(datetime(year, month, day, hour, minute, second, tzinfo=tz))
    if not candidates:
        return None
    return _likeliest(candidates, _order(tz, clock=time_match is not None, twelve_hour=twelve_hour), before)


def _order(tz: timezone | None, *, clock: bool, twelve_hour: bool) -> str | None:
    """ "month" (first) or "day" as the header's clock and zone suggest, or None when they tell nothing:
    an "AM"/"PM" clock in a US or Canadian zone is month first; a 24-hour clock, or a zone elsewhere,
    day first; "AM"/"PM" without a zone (Lotus Notes) is either (Australia writes it too)."""
    offset = tz.utcoffset(None) if tz is not None else None
    if offset is not None:
        in_us = _US_OFFSETS[0] <= offset <= _US_OFFSETS[1]
        return ("month" if twelve_hour else None) if in_us else "day"
    return "day" if clock and not twelve_hour else None


def _likeliest(candidates: list[datetime], order: str | None, before: datetime | None) -> datetime:
    """Of a numeric date's readings (day first, then month first), the one the header means."""
    if len(candidates) == 1:
        return candidates[0]
    possible = [c for c in candidates if before is None or not _later(c, before)]
    if len(possible) == 1:
        return possible[0]  # the other is later than the forward that carries it
    if order is not None:
        return candidates[1] if order == "month" else candidates[0]
    if before is not None and len(possible) == 2:
        return max(possible, key=lambda c: _comparable(c, before))  # the closer to the forward
    return candidates[0]


def _comparable(when: datetime, before: datetime) -> datetime:
    """`when` in `before`'s terms: a naive header time is the forwarder's local time (as extract reads it)."""
    if when.tzinfo is None and before.tzinfo is not None:
        return when.replace(tzinfo=before.tzinfo)
    if when.tzinfo is not None and before.tzinfo is None:
        return when.replace(tzinfo=None)
    return when


def _later(when: datetime, before: datetime) -> bool:
    return _comparable(when, before) > before + _CLOCK_SLACK


def _offset(value: str) -> tuple[timezone | None, str]:
    m = _OFFSET.search(value)
    if not m:
        named = _ZONE.search(value)
        if named:
            zone_hours = ZONES[named.group(1).upper()]
            return timezone(timedelta(hours=zone_hours)), value[: named.start()] + " " + value[named.end() :]
        return None, value
    sign, hours, minutes = (m.group(1), m.group(2), m.group(3)) if m.group(1) else (m.group(4), m.group(5), m.group(6))
    delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
    rest = value[: m.start()] + " " + value[m.end() :]
    return timezone(-delta if sign == "-" else delta), rest


def _numeric_readings(text: str) -> list[tuple[int, int, int]]:
    """The (year, month, day) a numeric date may be: one, or two when it reads both ways (day first
    first, as Europe writes it)."""
    m = _NUMERIC.search(text)
    if not m:
        return []
    a, b, c = (int(g) for g in m.groups())
    if a > 31:  # 2016-03-14
        return [(a, b, c)]
    year = c + (2000 if c < 50 else 1900) if c < 100 else c  # RFC 5322 4.3: "95" is 1995, not 2095
    if b > 12:  # US: 3/14/2016
        return [(year, a, b)]
    if a > 12 or a == b or "." in m.group(0):  # 13/02/2026 reads one way only; no one writes 3.2.2026 for March
        return [(year, b, a)]
    return [(year, b, a), (year, a, b)]


def _named_date(text: str) -> tuple[int, int, int] | None:
    month = None
    for word in _WORD.findall(text):
        month = MONTHS.get(word.lower().rstrip("."))
        if month:
            break
    year_match = _YEAR.search(text)
    if month is None or year_match is None:
        return None
    without_year = text[: year_match.start()] + " " + text[year_match.end() :]
    day_match = _DAY.search(without_year)
    if day_match is None:
        return None
    return int(year_match.group(1)), month, int(day_match.group(1))
