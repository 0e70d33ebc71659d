"""Dates written with day and month names in other languages ("Seg, 24 Set 2018 10:00:00 -0300").

Feeds from Italian, Portuguese, Spanish, French and German sites often print RFC 822 dates
with their own names, which feedparser does not read. `parse_localized_date` puts the month
in English and lets the standard RFC 822 parser do the rest; the weekday is only a label and
is dropped. A small table instead of a date-parsing library: these five languages cover the
sources seen, and the names do not change.
"""

from __future__ import annotations

import calendar
import re
import time
from email.utils import parsedate_tz

_MONTH_NAMES = {
    "jan": ("gennaio", "gen", "janeiro", "enero", "ene", "janvier", "janv", "januar", "jän"),
    "feb": (
        "febbraio",
        "fevereiro",
        "fev",
        "febrero",
        "février",
        "fevrier",
        "févr",
        "fevr",
        "februar",
    ),
    "mar": ("marzo", "março", "marco", "mars", "märz", "marz", "mär", "mrz"),
    "apr": ("aprile", "abril", "abr", "avril", "avr"),
    "may": ("maggio", "mag", "maio", "mai", "mayo"),
    "jun": ("giugno", "giu", "junho", "junio", "juin", "juni"),
    "jul": ("luglio", "lug", "julho", "julio", "juillet", "juil", "juli"),
    "aug": ("agosto", "ago", "août", "aout", "aoû", "aou", "august"),
    "sep": (
        "settembre",
        "set",
        "setembro",
        "septiembre",
        "setiembre",
        "sept",
        "septembre",
        "september",
    ),
    "oct": ("ottobre", "ott", "outubro", "out", "octubre", "octobre", "oktober", "okt"),
    "nov": ("novembre", "novembro", "noviembre", "november"),
    "dec": (
        "dicembre",
        "dic",
        "dezembro",
        "dez",
        "diciembre",
        "décembre",
        "decembre",
        "déc",
        "dezember",
    ),
}
_MONTHS = {name: english for english, names in _MONTH_NAMES.items() for name in names}
# "24 de setembro de 2018", "24 de septiembre del 2018"
_FILLERS = frozenset({"de", "del"})
_LEADING_WEEKDAY = re.compile(r"^([^\W\d_]+)\.?\s*,\s*")
_ENGLISH_DAYS = frozenset(
    (
        "mon",
        "tue",
        "wed",
        "thu",
        "fri",
        "sat",
        "sun",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    )
)
_ORDINAL_DAY = re.compile(r"^(\d{1,2})\.$")  # German "24. Sep"


def parse_localized_date(value: str) -> time.struct_time | None:
    """The UTC time of an RFC 822-style date with localized names, or None.

    None for English dates and any form this does not know, so feedparser's own handlers
    read those. A date without a zone is taken as UTC.
    """
    text = value.strip()
    weekday = _LEADING_WEEKDAY.match(text)
    # Left to feedparser unless something here is not English: it knows more time zones.
    foreign = False
    if weekday:
        text = text[weekday.end() :]
        foreign = weekday.group(1).casefold() not in _ENGLISH_DAYS
    words: list[str] = []
    for word in text.split():
        key = word.casefold().rstrip(".,")
        ordinal = _ORDINAL_DAY.match(word)
        if key in _FILLERS:
            foreign = True
        elif key in _MONTHS:
            words.append(_MONTHS[key])
            foreign = True
        elif ordinal:
            words.append(ordinal.group(1))
            foreign = True
        else:
            words.append(word)
    if not foreign:
        return None
    if len(words) == 3:  # a date alone ("24 de setembro de 2018"): midnight
        words.append("00:00:00")
    parts = parsedate_tz(" ".join(words))
    if parts is None:
        return None
    offset = parts[9] or 0
    return time.gmtime(calendar.timegm((*parts[:6], 0, 1, -1)) - offset)
