"""Parse the dates mail clients write into forwarded-message header blocks.

These are not RFC 5322 dates: Gmail writes "Fri, Apr 26, 2013 at 8:13 PM",
Apple Mail "1. August 2011 23:28:15 GMT-07:00" or "March 24, 2016 at 20:16:25
GMT+1", Outlook "Thursday, March 7, 2013 7:09:41 PM", French Outlook "jeudi 7
mars 2013 19:09", Japanese "2026年3月2日(月) 18:01". A date with an offset becomes timezone-aware; one without stays
naive (the reader's zone is unknown); anything unreadable is None.
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


def parse_date(value: str) -> datetime | None:
    """The datetime a forward header's Date:/Sent: value names, or None."""
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
        return _loose(value)
    except (ValueError, OverflowError):
        return None


def _loose(value: str) -> datetime | None:
    tz, rest = _offset(value)
    time_match = _TIME.search(rest) or _CJK_TIME.search(rest)
    hour = minute = second = 0
    if time_match:
        hour, minute = int(time_match.group(1)), int(time_match.group(2))
        second = int(time_match.group(3) or 0)
        ampm = (time_match.group(4) or "").lower().replace(".", "")
        if (ampm == "pm" or any(pm in rest for pm in _CJK_PM)) and hour < 12:
            hour += 12
        elif ampm == "am" and hour == 12:
            hour = 0
        rest = rest[: time_match.start()] + " " + rest[time_match.end() :]
    cjk = _CJK_DATE.search(rest)
    ymd = (int(cjk.group(1)), int(cjk.group(2)), int(cjk.group(3))) if cjk else _numeric_date(rest) or _named_date(rest)
    if ymd is None:
        return None
    year, month, day = ymd
    return datetime(year, month, day, hour, minute, second, tzinfo=tz)


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


def _numeric_date(text: str) -> tuple[int, int, int] | None:
    m = _NUMERIC.search(text)
    if not m:
        return None
    a, b, c = (int(g) for g in m.groups())
    if a > 31:  # 2016-03-14
        return a, b, c
    year = c + (2000 if c < 50 else 1900) if c < 100 else c  # RFC 5322 4.3: "95" is 1995, not 2095
    if b > 12:  # US: 3/14/2016
        return year, a, b
    return year, b, a  # day first (Europe)


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
