"""When a stance was held: date phrases resolved against the publication date.

Precision matters for merging: an explicit day ("on March 3", "on Monday") beats a
relative one ("a day earlier"), which beats month precision ("last month" -> the
first of the previous month); with no phrase the publication date is used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import IntEnum

MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

_MONTH_NAME = r"(?:Jan(?:uary)?|Feb(?:ruary)?|March|Mar|April|Apr|May|June?|July?|Aug(?:ust)?|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
_EXPLICIT = re.compile(rf"\b(?:on|since|from|until|by)\s+({_MONTH_NAME})\.?\s+(\d{{1,2}})\b")
_WEEKDAY = re.compile(r"\b(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)(?!'s)\b")
# "after Thursday's summit": a past event named by its weekday.
_AFTER_WEEKDAY = re.compile(
    r"\b(?:after|since|at|during|following)\s+(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)'s\b"
)
_DAY_EARLIER = re.compile(r"\b(a|one|two|three) days? (earlier|before|after|later)\b", re.IGNORECASE)
_LAST_MONTH = re.compile(r"\blast month\b", re.IGNORECASE)
_THIS_MONTH = re.compile(
    r"\b(earlier this month|this month|(at )?the (start|beginning) of the month)\b", re.I
)
# "in February", "back in March": month precision (not "in February 2022": a year names history).
_IN_MONTH = re.compile(
    r"\b(?:in|during|since|from|early|late|mid-)\s*(January|February|March|April|May|June|July|August|"
    r"September|October|November|December)\b(?!\s+\d)"
)
_LAST_WEEK = re.compile(r"\blast week\b", re.IGNORECASE)
_FUTURE = re.compile(
    r"\b(will|is due|are due|due to|expected to|is to|are to|next|plans? to|scheduled|ahead of|"
    r"would \w+)\b[^.;]{0,40}$",
    re.IGNORECASE,
)
_EARLIER_TIME = re.compile(r"\b(initially|had (both )?(suggested|proposed|offered|said))\b", re.IGNORECASE)
# "LONDON, Feb 17 (Meridian Wire) - " opens the lead: it dates the report, not the statement.
DATELINE = re.compile(rf"^[^\n]{{0,80}}?\b{_MONTH_NAME}\.?\s+\d{{1,2}}\s+\([^)]*\)\s+-\s+")
_NUMBERS = {"a": 1, "one": 1, "two": 2, "three": 3}


class Precision(IntEnum):
    DEFAULT = 0  # the publication date
    CONTEXT = 1  # the day of the event the article reports (an undated "said" in a report of it)
    MONTH = 2
    RELATIVE = 3
    DAY = 4


@dataclass(frozen=True)
class DatePhrase:
    start: int
    end: int
    day: date
    precision: Precision


def _month_number(name: str) -> int:
    return MONTHS[name[:3].lower()]


def _latest_weekday(name: str, published: date) -> date:
    delta = (published.weekday() - WEEKDAYS.index(name.lower())) % 7
    return published - timedelta(days=delta)


def first_of_previous_month(day: date) -> date:
    return (day.replace(day=1) - timedelta(days=1)).replace(day=1)


def find_dates(text: str, published: date, anchor: date | None = None) -> list[DatePhrase]:
    """Date phrases in one sentence, resolved against `published` (and `anchor` for "a day earlier")."""
    skip = DATELINE.match(text)
    offset = skip.end() if skip else 0
    phrases: list[DatePhrase] = []
    for match in _EXPLICIT.finditer(text, offset):
        month, day_number = _month_number(match.group(1)), int(match.group(2))
        year = published.year if month <= published.month else published.year - 1
        try:
            phrases.append(
                DatePhrase(match.start(), match.end(), date(year, month, day_number), Precision.DAY)
            )
        except ValueError:
            continue
    for match in _WEEKDAY.finditer(text, offset):
        if _FUTURE.search(text[max(offset, match.start() - 60) : match.start()]):
            continue
        day = _latest_weekday(match.group(1), published)
        phrases.append(DatePhrase(match.start(), match.end(), day, Precision.DAY))
    for match in _AFTER_WEEKDAY.finditer(text, offset):
        day = _latest_weekday(match.group(1), published)
        phrases.append(DatePhrase(match.start(1), match.end(), day, Precision.DAY))
    for match in _DAY_EARLIER.finditer(text, offset):
        days = _NUMBERS[match.group(1).lower()]
        sign = -1 if match.group(2).lower() in ("earlier", "before") else 1
        base = anchor or published
        day = base + timedelta(days=sign * days)
        if day <= published:
            phrases.append(DatePhrase(match.start(), match.end(), day, Precision.RELATIVE))
    for match in _LAST_MONTH.finditer(text, offset):
        day = first_of_previous_month(published)
        phrases.append(DatePhrase(match.start(), match.end(), day, Precision.MONTH))
    for match in _THIS_MONTH.finditer(text, offset):
        phrases.append(DatePhrase(match.start(), match.end(), published.replace(day=1), Precision.MONTH))
    for match in _IN_MONTH.finditer(text, offset):
        month = _month_number(match.group(1))
        year = published.year if month <= published.month else published.year - 1
        phrases.append(DatePhrase(match.start(), match.end(), date(year, month, 1), Precision.MONTH))
    for match in _LAST_WEEK.finditer(text, offset):
        day = published - timedelta(days=7)
        phrases.append(DatePhrase(match.start(), match.end(), day, Precision.RELATIVE))
    phrases.sort(key=lambda phrase: phrase.start)
    return [phrase for phrase in phrases if phrase.day <= published]


def refers_earlier(text: str) -> bool:
    """True for "initially", "had suggested": the date comes from the surrounding article."""
    return bool(_EARLIER_TIME.search(text))


def pick(phrases: list[DatePhrase], start: int, end: int) -> DatePhrase | None:
    """The most precise phrase inside [start, end), first one on ties."""
    inside = [p for p in phrases if start <= p.start < end]
    if not inside:
        return None
    return max(inside, key=lambda p: (p.precision, -p.start))
