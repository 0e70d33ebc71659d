from __future__ import annotations

from decimal import Decimal

import pytest

from policies.money import find_amounts, parse_number


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("We can refund $50 today.", [("50", "USD")]),
        ("A credit of 50 USD is on its way.", [("50", "USD")]),
        ("Ti offriamo un buono di € 30,50.", [("30.50", "EUR")]),
        ("Ti offriamo 30 euro di sconto.", [("30", "EUR")]),
        ("We offer a 20% refund.", [("20", "percent")]),
        ("Riceverai un rimborso di 40 € entro una settimana.", [("40", "EUR")]),
        ("Riceverai un rimborso di 40€.", [("40", "EUR")]),
        ("A voucher worth £25.", [("25", "GBP")]),
        ("We refund US$ 1,000.50.", [("1000.50", "USD")]),
        ("Rimborsiamo 1.000,50 EUR.", [("1000.50", "EUR")]),
        ("Rimborsiamo 200 eur.", [("200", "EUR")]),
        ("We refund 20 dollars.", [("20", "USD")]),
        ("Un rimborso di 20 dollari.", [("20", "USD")]),
        ("EUR 200.01 back to your card.", [("200.01", "EUR")]),
        ("Uno sconto del 15 per cento.", [("15", "percent")]),
        ("We refund CHF 20 and 10 GBP.", [("20", "CHF"), ("10", "GBP")]),
        ("Un buono da 30 per te.", [("30", None)]),
        ("A refund of 45 is on its way.", [("45", None)]),
    ],
)
def test_amounts_in_english_and_italian(text: str, expected: list[tuple[str, str | None]]) -> None:
    found = [(str(a.value), a.currency) for a in find_amounts(text)]
    assert found == [(str(Decimal(v)), c) for v, c in expected]


@pytest.mark.parametrize(
    "text",
    [
        "The battery drops to 20% overnight.",
        "Your Acme Tab 3 is covered by the warranty.",
        "We will look into it within 3 days.",
        "A refund for 2 items is on its way.",
        "It happened on 24/11 at 21:30.",
        "Firmware 2.1 fixes it.",
    ],
)
def test_no_amounts_where_none_are_offered(text: str) -> None:
    assert find_amounts(text) == []


def test_a_bare_dollar_sign_is_configurable() -> None:
    [amount] = find_amounts("A $40 credit.", dollar="CAD")
    assert amount.currency == "CAD"


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("1.000,50", "1000.50"),
        ("1,000.50", "1000.50"),
        ("30,50", "30.50"),
        ("1,000", "1000"),
        ("1.000", "1000"),
        ("200.01", "200.01"),
        ("1,5", "1.5"),
        ("12\u00a0000", "12000"),
    ],
)
def test_numbers_with_either_decimal_separator(raw: str, value: str) -> None:
    assert parse_number(raw) == Decimal(value)
