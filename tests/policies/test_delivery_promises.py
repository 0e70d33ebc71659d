"""Delivery dates a reply promises must be backed by the order data."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from policies.dates import find_dates
from tests.policies.helpers import ctx, outcomes, run

# SEND_AT is Tuesday 24 November 2026.
TUESDAY = date(2026, 11, 24)
WEDNESDAY, THURSDAY, FRIDAY, SATURDAY = (date(2026, 11, d) for d in (25, 26, 27, 28))
NEXT_MONDAY = date(2026, 11, 30)


def promises(text: str, *known: date, **options: object) -> list[str]:
    return outcomes(run("delivery_promises", ctx(text, delivery_dates=known), **options))


@pytest.mark.parametrize(
    ("text", "known", "expected"),
    [
        # A deadline is backed by a known date on or before it.
        ("Your parcel will arrive by Friday.", FRIDAY, []),
        ("Your parcel will arrive by Friday.", THURSDAY, []),
        ("Your parcel will arrive by Friday.", SATURDAY, ["block"]),
        ("Il pacco arriva entro venerdì.", FRIDAY, []),
        ("Il pacco arriva entro venerdì.", SATURDAY, ["block"]),
        # A day is backed only by that very day.
        ("It will arrive tomorrow.", WEDNESDAY, []),
        ("It will arrive tomorrow.", TUESDAY, ["block"]),
        ("It will arrive tomorrow.", THURSDAY, ["block"]),
        ("Il corriere consegna domani.", WEDNESDAY, []),
        ("Delivery on 27 November.", FRIDAY, []),
        ("Delivery on 28 November.", FRIDAY, ["block"]),
        ("La consegna è prevista il 27/11.", FRIDAY, []),
        # Business days skip the weekend: 3 from Tuesday is Friday, 4 is Monday.
        ("Shipping takes 3 business days, it arrives within 3 business days.", FRIDAY, []),
        ("It arrives within 4 business days.", NEXT_MONDAY, []),
        ("It arrives within 4 business days.", date(2026, 12, 1), ["block"]),
        ("Consegna entro 3 giorni lavorativi.", FRIDAY, []),
        # Sending counts when we say we will (the README's own example).
        ("We will send you a new Tab 3 by Friday.", FRIDAY, []),
        ("We will send you a new Tab 3 by Friday.", SATURDAY, ["block"]),
        ("We'll send a replacement tomorrow.", THURSDAY, ["block"]),
        ("A new one will be sent by Friday.", SATURDAY, ["block"]),
        ("Te ne invieremo uno nuovo entro venerdì.", SATURDAY, ["block"]),
    ],
)
def test_promised_dates_against_the_order_data(text: str, known: date, expected: list[str]) -> None:
    assert promises(text, known) == expected


def test_without_a_known_delivery_date_every_promise_is_unbacked() -> None:
    assert promises("It will arrive tomorrow.") == ["block"]
    result = run("delivery_promises", ctx("It will arrive tomorrow."))
    assert result.findings[0].reason == (
        'promises delivery "tomorrow" (on Wed 2026-11-25), but the order data has no delivery date'
    )


def test_dates_that_are_not_about_delivery_are_no_promise() -> None:
    assert promises("We received your message today and will reply by Friday.") == []
    # Asking the customer to send something is not our promise.
    assert promises("Please send us a photo by Friday.") == []
    assert promises("Il nuovo modello esce il 3 dicembre.") == []
    assert promises("The Acme Tab costs 3.50 more since 24.11.") == []


def test_tomorrow_is_the_customers_tomorrow() -> None:
    # 23:30 UTC on Tuesday is still Tuesday in New York but already Wednesday in Rome:
    # "tomorrow" is Wednesday for one customer and Thursday for the other.
    late = datetime(2026, 11, 24, 23, 30, tzinfo=UTC)
    text = "Your parcel will arrive tomorrow."
    for zone, expected in (("America/New_York", []), ("Europe/Rome", ["block"])):
        draft = ctx(text, customer_tz=zone, send_at=late, delivery_dates=[WEDNESDAY])
        assert outcomes(run("delivery_promises", draft)) == expected, zone


def test_remove_drops_only_the_promising_sentence() -> None:
    text = "Sorry for the wait. Your parcel will arrive tomorrow. Write to us any time."
    result = run("delivery_promises", ctx(text), action="remove")
    assert outcomes(result) == ["amend"]
    assert result.text == "Sorry for the wait. Write to us any time."
    assert result.findings[0].reason.startswith("removed a delivery promise")


def test_outcome_extra_words_and_day_first() -> None:
    assert promises("It is yours tomorrow.") == []
    assert promises("It is yours tomorrow.", extra_words=[r"\byours\b"]) == ["block"]
    assert promises("It arrives tomorrow.", action="escalate") == ["escalate"]
    # 03/12: 3 December read day first, 12 March otherwise.
    assert promises("Delivery on 03/12.", date(2026, 12, 3)) == []
    assert promises("Delivery on 03/12.", date(2026, 12, 3), day_first=False) == ["block"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tomorrow", ("on", date(2026, 11, 25))),
        ("dopodomani", ("on", date(2026, 11, 26))),
        ("on Tuesday", ("on", TUESDAY)),
        ("next Tuesday", ("on", date(2026, 12, 1))),
        ("by Friday", ("by", FRIDAY)),
        ("within 3 days", ("by", date(2026, 11, 27))),
        ("in 3 days", ("on", date(2026, 11, 27))),
        ("in 48 hours", ("on", date(2026, 11, 26))),
        ("next week", ("by", date(2026, 12, 6))),
        ("la prossima settimana", ("by", date(2026, 12, 6))),
        ("il 24 novembre", ("on", TUESDAY)),
        ("November 23", ("on", date(2027, 11, 23))),
        ("2026-11-24", ("on", TUESDAY)),
    ],
)
def test_dates_resolve_against_the_sending_day(text: str, expected: tuple[str, date]) -> None:
    [found] = find_dates(text, TUESDAY)
    assert (("by" if found.by else "on"), found.date) == expected


def test_impossible_dates_are_ignored() -> None:
    assert find_dates("on 31/02", TUESDAY) == []
    assert find_dates("2026-13-01", TUESDAY) == []
