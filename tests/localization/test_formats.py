"""Choosing the language, and dates, numbers and money as each language writes them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from ascolto.localization import (
    command_line_language,
    day,
    gettext,
    money,
    negotiate,
    ngettext,
    number,
    percent,
    pgettext,
    short_day,
    terminal_language,
    use_language,
    when,
)

MOMENT = datetime(2026, 12, 5, 14, 3, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("chosen", "accept", "default", "expected"),
    [
        ("it", "en-US,en;q=0.9", "en", "it"),  # the person's choice wins
        (None, "it-IT,it;q=0.9,en;q=0.8", "en", "it"),  # then the browser's
        (None, "fr-FR, en-GB;q=0.5", "it", "en"),  # the first language we speak
        (None, "en;q=0.2, it;q=0.8", "en", "it"),  # by weight, not by order
        (None, "fr, de", "it", "it"),  # then the administrator's default
        (None, None, "it", "it"),
        (None, "it;q=0", "en", "en"),  # q=0 means "not this one"
        (None, "garbage;q=x, ,;", "en", "en"),
        ("xx", None, "en", "en"),
    ],
)
def test_negotiate(chosen: str | None, accept: str | None, default: str, expected: str) -> None:
    assert negotiate(chosen, accept, default) == expected


def test_dates_numbers_and_money_per_language() -> None:
    with use_language("it"):
        assert when(MOMENT) == "5 dic 2026, 14:03"
        assert when(MOMENT, seconds=True) == "5 dic 2026, 14:03:09"
        assert day(date(2026, 12, 5)) == "5 dic 2026"
        assert short_day(date(2026, 12, 5)) == "5 dic"
        assert number(1234.5) == "1.234,5"
        assert number(0.5, 2) == "0,50"
        assert money(Decimal("329.00"), "EUR") == "329,00\xa0€"
        assert percent(42.5, 1) == "42,5%"
    with use_language("en"):
        assert when(MOMENT) == "Dec 5, 2026, 14:03"
        assert number(1234.5) == "1,234.5"
        assert money(Decimal("329.00"), "EUR") == "€329.00"
        assert money(12, "usd") == "$12.00"
        assert percent(42.5, 1) == "42.5%"
    assert number(None) == money(None, "EUR") == percent(None) == when(None) == "\u2013"


def test_gettext_follows_the_language_in_force() -> None:
    with use_language("it"):
        assert gettext("Review queue") == "Coda di revisione"
        assert gettext("Approve and send") == "Approva e invia"
        assert gettext("Draft #%(id)s", id=7) == "Bozza n. 7"
        assert ngettext("%(num)s rule fired", "%(num)s rules fired", 2) == "2 regole applicate"
        assert ngettext("%(num)s rule fired", "%(num)s rules fired", 1) == "1 regola applicata"
        # A string the catalogue does not know stays as it is.
        assert gettext("ascolto 1.2") == "ascolto 1.2"
    with use_language("en"):
        assert gettext("Review queue") == "Review queue"
    with use_language("fr"):
        assert gettext("Review queue") == "Review queue"


@pytest.mark.parametrize(
    ("environ", "default", "expected"),
    [
        ({"LANG": "it_IT.UTF-8"}, "en", "it"),
        ({"LC_ALL": "en_US.UTF-8", "LANG": "it_IT.UTF-8"}, "it", "en"),
        ({"LC_MESSAGES": "it_CH", "LANG": "en_GB"}, "en", "it"),
        ({"LANG": "C.UTF-8"}, "it", "it"),  # no language of its own: the default
        ({}, "it", "it"),
        ({"LANG": "de_DE.UTF-8"}, "en", "en"),
    ],
)
def test_terminal_language(environ: dict[str, str], default: str, expected: str) -> None:
    assert terminal_language(default, environ) == expected


@pytest.mark.parametrize(
    ("chosen", "configured", "environ", "expected"),
    [
        ("it", "en", {"LANG": "en_US.UTF-8"}, "it"),
        ("it_IT.UTF-8", None, {}, "it"),
        ("IT-it", None, {}, "it"),
        ("en", "it", {"LANG": "it_IT.UTF-8"}, "en"),
        ("fr", None, {"LANG": "it_IT.UTF-8"}, "it"),  # refused by the caller; the locale's
        (None, "it", {"LANG": "en_GB.UTF-8"}, "it"),
        (None, "en", {"LANG": "it_IT.UTF-8"}, "en"),
        (None, None, {"LANG": "it_IT.UTF-8"}, "it"),
        (None, None, {"LANG": "C.UTF-8"}, "en"),
        (None, None, {}, "en"),
    ],
)
def test_command_line_language(
    chosen: str | None, configured: str | None, environ: dict[str, str], expected: str
) -> None:
    assert command_line_language(chosen, configured, environ) == expected


def test_a_word_is_translated_as_meant_in_its_context() -> None:
    with use_language("it"):
        assert pgettext("user", "active") == "attivo"
        assert gettext("active") == "attiva"
    with use_language("en"):
        assert pgettext("user", "active") == "active"
