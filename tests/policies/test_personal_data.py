from __future__ import annotations

import pytest

from tests.policies.helpers import ctx, outcomes, public, run


def redacted(text: str, **overrides: object) -> str:
    result = run("personal_data", public(text, **overrides))
    assert result.text is not None, f"nothing found in {text!r}"
    assert outcomes(result) == ["amend"]
    return result.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Write to mario.rossi@example.com.", "Write to [removed]."),
        ("Call +39 333 123 4567 today", "Call [removed] today"),
        ("Call +393331234567.", "Call [removed]."),
        ("Chiamaci allo 0039 02 1234 5678.", "Chiamaci allo [removed]."),
        ("Il tuo numero 333 123 4567 risulta.", "Il tuo numero [removed] risulta."),
        ("Chiama lo 02 1234 5678.", "Chiama lo [removed]."),
        ("Chiama lo 06-12345678.", "Chiama lo [removed]."),
        ("Call (555) 123-4567.", "Call [removed]."),
        ("Call +1-555-123-4567.", "Call [removed]."),
        ("UK: +44 20 7946 0958.", "UK: [removed]."),
        ("Your order #100234 ships.", "Your order [removed] ships."),
        ("L'ordine n. 100234 è partito.", "L'ordine n. [removed] è partito."),
        ("Order number: A-55667788.", "Order number: [removed]."),
    ],
)
def test_personal_data_is_redacted_from_public_replies(text: str, expected: str) -> None:
    assert redacted(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "The Acme Tab 3 costs 399 EUR.",
        "Firmware 2.1.3 fixes it, see https://acme.example/support/12345678",
        "It happened on 2026-11-24 at 21:30.",
        "We refund 1,000.50 USD within 3 days.",
        "Reply within 48 hours.",
    ],
)
def test_no_false_positives(text: str) -> None:
    assert run("personal_data", public(text)).findings == ()


def test_the_customers_own_order_numbers_are_always_recognised() -> None:
    assert redacted("We found AC-77 and AC-7781 in our system.", order_ids=["AC-7781"]) == (
        "We found AC-77 and [removed] in our system."
    )


def test_reason_counts_without_repeating_the_data() -> None:
    result = run("personal_data", public("a@b.example, c@d.example, +39 333 123 4567"))
    reason = result.findings[0].reason
    assert reason == "removed 2 e-mail addresses, 1 phone number from a public reply"
    assert "@" not in reason


def test_private_messages_may_carry_personal_data() -> None:
    assert run("personal_data", ctx("Your order #100234, call +39 333 123 4567")).findings == ()


def test_allowed_addresses_stay() -> None:
    result = run(
        "personal_data", public("Write to support@acme.example."), allowed=["Support@Acme.example"]
    )
    assert result.findings == ()


def test_block_instead_of_redacting() -> None:
    result = run("personal_data", public("Write to a@b.example"), action="block")
    assert outcomes(result) == ["block"]
    assert result.text is None
    assert result.findings[0].reason == "a public reply contains 1 e-mail address"


def test_kinds_patterns_and_replacement_are_configurable() -> None:
    result = run(
        "personal_data",
        public("Ticket TK-9911, mail a@b.example"),
        kinds=["order_number"],
        order_patterns=[r"\bTK-\d+\b"],
        replacement="***",
    )
    assert result.text == "Ticket ***, mail a@b.example"


@pytest.mark.parametrize(
    ("text", "found"),
    [
        # Phone numbers have 8 to 15 digits, country code included.
        ("Call +3 123456 now", False),
        ("Call +39 123456 now", True),
        ("Call +39 1234567890123 now", True),
        ("Call +39 12345678901234 now", False),
        # Order numbers have at least 4 digits.
        ("Your order 123 ships.", False),
        ("Your order 1234 ships.", True),
        ("Ticket #123 is fixed.", False),
        ("Ticket #1234 is fixed.", True),
        # A top-level domain has at least 2 letters.
        ("Write to a@b.c now", False),
        ("Write to a@b.co now", True),
    ],
)
def test_boundaries_of_what_counts_as_personal_data(text: str, found: bool) -> None:
    assert bool(run("personal_data", public(text)).findings) is found


def test_short_customer_order_ids_are_not_matched_everywhere() -> None:
    # An id under 4 characters would match ordinary words and numbers.
    assert run("personal_data", public("Size 42, colour red.", order_ids=["42"])).findings == ()
    assert redacted("Ref A123 noted.", order_ids=["A123"]) == "Ref [removed] noted."
