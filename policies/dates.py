"""Dates a text promises, in English and Italian, resolved against the day it is sent.

"tomorrow", "by Friday", "entro venerdì", "within 3 business days", "entro 3 giorni
lavorativi", "next week", "on 24 November", "il 24 novembre", "24/11", "2026-11-24".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

WEEKDAYS = {
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5,
    "sunday": 6, "lunedì": 0, "lunedi": 0, "martedì": 1, "martedi": 1, "mercoledì": 2,
    "mercoledi": 2, "giovedì": 3, "giovedi": 3, "venerdì": 4, "venerdi": 4, "sabato": 5,
    "domenica": 6,
}  # fmt: skip
MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12, "jan": 1,
    "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
    "oct": 10, "nov": 11, "dec": 12, "gennaio": 1, "febbraio": 2, "marzo": 3, "aprile": 4,
    "maggio": 5, "giugno": 6, "luglio": 7, "agosto": 8, "settembre": 9, "ottobre": 10,
    "novembre": 11, "dicembre": 12,
}  # fmt: skip
NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "a": 1, "un": 1, "uno": 1, "due": 2, "tre": 3, "quattro": 4,
    "cinque": 5, "sei": 6, "sette": 7, "otto": 8, "nove": 9, "dieci": 10,
}  # fmt: skip
RELATIVE = {
    "today": 0, "tonight": 0, "oggi": 0, "stasera": 0, "tomorrow": 1, "domani": 1,
    "the day after tomorrow": 2, "dopodomani": 2,
}  # fmt: skip


def _alternatives(words: object) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))  # type: ignore[call-overload]


_BY = r"by|before|no\s+later\s+than|until|till|entro|prima\s+di|non\s+oltre|al\s+più\s+tardi"
_FILL = r"(?:(?:on|the|this|coming|il|lo|la|l'|per|di|questo|questa)\s+)*"
_WEEKDAY = _alternatives(WEEKDAYS)
_MONTH = _alternatives(MONTHS)
_COUNT = rf"\d{{1,2}}|{_alternatives(NUMBERS)}"
_DATE = re.compile(
    rf"(?:\b(?P<by>{_BY})\s+)?{_FILL}(?:"
    rf"(?P<relative>\b(?:{_alternatives(RELATIVE)})\b)"
    rf"|(?P<next>\b(?:next|prossimo|prossima)\s+)?(?P<weekday>\b(?:{_WEEKDAY})\b)(?:\s+(?:prossimo|prossima))?"
    rf"|(?P<span>\b(?:within|in|entro|tra|fra)\s+(?:the\s+next\s+|i\s+prossimi\s+)?(?P<count>{_COUNT})\s+"
    r"(?P<business>(?:business|working)\s+)?(?P<unit>days?|weeks?|hours?|giorni|settimane|settimana|ore)"
    r"(?P<business_it>\s+(?:lavorativi|feriali|lavorative))?\b)"
    r"|(?P<week>\b(?:(?P<next_week>next|la\s+prossima|prossima)\s+week|this\s+week|"
    r"(?:la\s+)?(?P<next_week_it>prossima\s+)?settimana(?P<next_week_it2>\s+prossima)?|questa\s+settimana)\b)"
    r"|(?P<iso>\b(?P<iy>\d{4})-(?P<im>\d{1,2})-(?P<id>\d{1,2})\b)"
    r"|(?P<numeric>\b(?P<na>\d{1,2})[/.-](?P<nb>\d{1,2})(?:[/.-](?P<ny>\d{4}|\d{2}))?\b)"
    rf"|(?P<day_month>\b(?P<dm_d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<dm_m>{_MONTH})\b\.?(?:,?\s+(?P<dm_y>\d{{4}}))?)"
    rf"|(?P<month_day>\b(?P<md_m>{_MONTH})\.?\s+(?P<md_d>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(?P<md_y>\d{{4}}))?)"
    r")",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class PromisedDate:
    """A date in a text. `by` when it is a deadline ("by Friday"), else a day ("on Friday")."""

    date: date
    by: bool
    text: str
    start: int
    end: int

    def describe(self) -> str:
        return f"{'by' if self.by else 'on'} {self.date:%a %Y-%m-%d}"


def find_dates(text: str, today: date, *, day_first: bool = True) -> list[PromisedDate]:
    """Every date `text` names, resolved against `today` (the sending day)."""
    found = []
    for match in _DATE.finditer(text):
        resolved = _resolve(match, today, day_first)
        if resolved is None:
            continue
        when, deadline = resolved
        by = deadline or match.group("by") is not None
        found.append(PromisedDate(when, by, match.group(0).strip(), match.start(), match.end()))
    return found


def _resolve(match: re.Match[str], today: date, day_first: bool) -> tuple[date, bool] | None:
    g = match.group
    if g("relative"):
        key = re.sub(r"\s+", " ", g("relative").lower())
        return today + timedelta(days=RELATIVE[key]), False
    if g("weekday"):
        ahead = (WEEKDAYS[g("weekday").lower()] - today.weekday()) % 7
        if g("next") and ahead == 0:
            ahead = 7
        return today + timedelta(days=ahead), False
    if g("span"):
        count_text = g("count").lower()
        count = int(count_text) if count_text.isdigit() else NUMBERS[count_text]
        unit = g("unit").lower()
        deadline = g("span").lower().startswith(("within", "entro"))
        if unit.startswith(("week", "settiman")):
            return today + timedelta(weeks=count), deadline
        if unit.startswith(("hour", "ore")):
            return today + timedelta(days=-(-count // 24)), deadline
        if g("business") or g("business_it"):
            return _add_business_days(today, count), deadline
        return today + timedelta(days=count), deadline
    if g("week"):
        sunday = today + timedelta(days=6 - today.weekday())
        upcoming = g("next_week") or g("next_week_it") or g("next_week_it2")
        return (sunday + timedelta(weeks=1) if upcoming else sunday), True
    if g("iso"):
        return _date(int(g("iy")), int(g("im")), int(g("id")))
    if g("numeric"):
        a, b = int(g("na")), int(g("nb"))
        if "." in g("numeric") and not g("ny"):
            return None  # "3.50" is a price, "24.11" too likely one
        day, month = (a, b) if day_first else (b, a)
        if month > 12 and day <= 12:
            day, month = month, day
        year = g("ny")
        return _date(_year(year, today, day, month), month, day)
    if g("day_month"):
        day, month = int(g("dm_d")), MONTHS[g("dm_m").lower()]
        return _date(_year(g("dm_y"), today, day, month), month, day)
    if g("month_day"):
        day, month = int(g("md_d")), MONTHS[g("md_m").lower()]
        return _date(_year(g("md_y"), today, day, month), month, day)
    return None


def _date(year: int, month: int, day: int) -> tuple[date, bool] | None:
    try:
        return date(year, month, day), False
    except ValueError:
        return None


def _year(written: str | None, today: date, day: int, month: int) -> int:
    """The written year (2 or 4 digits), else the next time that day comes round."""
    if written:
        return int(written) + (2000 if len(written) == 2 else 0)
    try:
        this_year = date(today.year, month, day)
    except ValueError:
        return today.year
    return today.year if this_year >= today else today.year + 1


def _add_business_days(start: date, count: int) -> date:
    day = start
    while count > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            count -= 1
    return day


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence: split after . ! ? and at line breaks."""
    spans = []
    start = 0
    for match in re.finditer(r"(?<=[.!?])\s+|\n+", text):
        if match.start() > start:
            spans.append((start, match.start()))
        start = match.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans
