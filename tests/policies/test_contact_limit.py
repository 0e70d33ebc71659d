from __future__ import annotations

from datetime import timedelta

import pytest

from tests.policies.helpers import SEND_AT, ctx, make_rule, outcomes, public, run


def earlier(*days_ago: float) -> tuple:
    return tuple(SEND_AT - timedelta(days=d) for d in days_ago)


@pytest.mark.parametrize(
    ("previous", "expected"),
    [
        (0, []),
        (2, []),  # this message is the 3rd: allowed
        (3, ["block"]),  # the 4th: one too many
        (5, ["block"]),
    ],
)
def test_nth_contact_allowed_and_one_more_blocked(previous: int, expected: list[str]) -> None:
    contacts = earlier(*[1 + i for i in range(previous)])
    result = run("contact_limit", ctx(previous_contacts=contacts), max_contacts=3, period_days=7)
    assert outcomes(result) == expected


def test_period_boundary() -> None:
    # Exactly one period ago has left the window; a second later has not.
    inside = earlier(1, 2, 7 - 1 / 86400)
    outside = earlier(1, 2, 7)
    assert outcomes(run("contact_limit", ctx(previous_contacts=inside))) == ["block"]
    assert outcomes(run("contact_limit", ctx(previous_contacts=outside))) == []


def test_contacts_after_the_send_time_do_not_count() -> None:
    later = (SEND_AT + timedelta(hours=1),) * 5
    assert outcomes(run("contact_limit", ctx(previous_contacts=later))) == []


def test_public_replies_are_counted_only_when_configured() -> None:
    contacts = earlier(1, 2, 3)
    assert outcomes(run("contact_limit", public("Ciao!", previous_contacts=contacts))) == []
    result = run("contact_limit", public("Ciao!", previous_contacts=contacts), public=True)
    assert outcomes(result) == ["block"]


def test_reason_and_lookback() -> None:
    result = run("contact_limit", ctx(previous_contacts=earlier(1)), max_contacts=1, period_days=14)
    assert result.findings[0].reason == (
        "the customer was already contacted 1 time(s) in the last 14 day(s); the limit is 1"
    )
    assert make_rule("contact_limit", period_days=14).lookback == timedelta(days=14)
