from __future__ import annotations

import pytest

from tests.policies.helpers import ctx, outcomes, run

CAPS = {
    "agent": {"USD": 200, "EUR": 180, "percent": 20},
    "supervisor": {"USD": 1000, "EUR": 900, "percent": 100},
}


def compensation(text: str, role: str = "agent", **options: object) -> list[str]:
    return outcomes(run("compensation", ctx(text, role=role), caps=CAPS, **options))


def reasons(text: str, role: str = "agent") -> str:
    result = run("compensation", ctx(text, role=role), caps=CAPS)
    return " | ".join(f.reason for f in result.findings)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("We will refund $200.", []),
        ("We will refund $200.00.", []),
        ("We will refund $200.01.", ["escalate"]),
        ("We will refund 199.99 USD.", []),
        ("Ti rimborsiamo 180 €.", []),
        ("Ti rimborsiamo 180,01 €.", ["escalate"]),
        ("We offer a 20% refund.", []),
        ("We offer a 21% refund.", ["escalate"]),
        ("We will refund $1000.", ["escalate"]),
        ("We will refund $1000.01.", ["block"]),
    ],
)
def test_agent_cap_boundaries(text: str, expected: list[str]) -> None:
    assert compensation(text) == expected


def test_supervisor_may_offer_more_than_an_agent() -> None:
    assert compensation("We will refund $500.", role="supervisor") == []
    assert compensation("We will refund $1000.", role="supervisor") == []
    assert compensation("We will refund $1000.01.", role="supervisor") == ["block"]


def test_escalation_names_the_role_that_may_approve() -> None:
    text = reasons("We will refund $250.")
    assert "250 USD" in text
    assert "agent cap of 200 USD" in text
    assert "supervisor (up to 1000 USD)" in text


def test_over_every_cap_is_blocked_naming_the_caps() -> None:
    text = reasons("Ti rimborsiamo 5.000 €.")
    assert "over every role's cap" in text
    assert "agent 180 EUR" in text
    assert "supervisor 900 EUR" in text


def test_unknown_currency_escalates() -> None:
    assert compensation("A £50 voucher for you.") == ["escalate"]
    assert "no role has a cap in" in reasons("A £50 voucher for you.")


def test_amount_without_currency_escalates() -> None:
    assert compensation("Ti mandiamo un buono da 30.") == ["escalate"]
    assert "without a currency" in reasons("Ti mandiamo un buono da 30.")


def test_role_without_caps_escalates() -> None:
    assert compensation("We refund $10.", role="intern") == ["escalate"]
    assert "'intern' has no compensation caps" in reasons("We refund $10.", role="intern")


def test_no_amount_no_finding() -> None:
    assert compensation("We are sorry about the delay.") == []


def test_each_currency_is_judged_on_its_own() -> None:
    assert compensation("We refund $150 and € 300.") == ["escalate"]
    assert compensation("We refund $1500 and € 100.") == ["block"]


def test_largest_amount_or_sum_per_currency() -> None:
    text = "We refund $150 now and send a $100 voucher."
    assert compensation(text) == []
    assert compensation(text, total="sum") == ["escalate"]
