"""Proactive messages (check-ins): consent, open complaints, and screening before writing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from policies import DraftContext
from tests.policies.helpers import SEND_AT, ctx, outcomes, policy, public, run

SCREENING = """
[suppression]
[consent]
unknown = "block"
[open_complaint]
[human_topics]
[compensation]
caps.agent = { USD = 200 }
[contact_limit]
max_contacts = 1
period_days = 14
[quiet_hours]
default_tz = "UTC"
"""


def checkin(text: str = "How did it go with your order?", **overrides: object) -> DraftContext:
    return ctx(text, **{"proactive": True, "consent": True, **overrides})


@pytest.mark.parametrize(
    ("consent", "unknown", "expected"),
    [
        (True, "block", []),
        (False, "allow", ["block"]),
        (False, "block", ["block"]),
        (None, "allow", []),
        (None, "escalate", ["escalate"]),
        (None, "block", ["block"]),
    ],
)
def test_consent_given_refused_or_not_recorded(
    consent: bool | None, unknown: str, expected: list[str]
) -> None:
    result = run("consent", checkin(consent=consent), unknown=unknown)
    assert outcomes(result) == expected


def test_replies_need_no_consent() -> None:
    assert run("consent", ctx(consent=False)).findings == ()
    assert run("consent", public("Grazie!", consent=None)).findings == ()


def test_consent_reasons() -> None:
    refused = run("consent", checkin(consent=False))
    assert refused.findings[0].reason == "the customer refused consent to be contacted"
    unknown = run("consent", checkin(consent=None))
    assert unknown.findings[0].reason == "no consent to be contacted is recorded"


@pytest.mark.parametrize(
    ("open_complaints", "expected"),
    [((), []), ((7,), ["block"]), ((7, 8, 9), ["block"])],
)
def test_open_complaint_blocks_a_checkin(
    open_complaints: tuple[int, ...], expected: list[str]
) -> None:
    result = run("open_complaint", checkin(open_complaints=open_complaints))
    assert outcomes(result) == expected


def test_open_complaint_reason_lists_at_most_five_mentions() -> None:
    five = run("open_complaint", checkin(open_complaints=(1, 2, 3, 4, 5)))
    assert "(mention #1, #2, #3, #4, #5)" in five.findings[0].reason
    six = run("open_complaint", checkin(open_complaints=(1, 2, 3, 4, 5, 6)))
    assert "(mention #1, #2, #3, #4, #5 and 1 more)" in six.findings[0].reason
    assert six.findings[0].reason.endswith("care answers it first")


def test_open_complaint_does_not_hold_back_the_reply_to_it() -> None:
    assert run("open_complaint", ctx(open_complaints=(7,))).findings == ()
    escalated = run("open_complaint", checkin(open_complaints=(7,)), outcome="escalate")
    assert outcomes(escalated) == ["escalate"]


def test_screen_runs_only_the_rules_about_recipient_and_moment() -> None:
    rules = policy(SCREENING)
    # The text would be blocked (compensation) and escalated (human topics); screening
    # does not look at the text or the mention.
    draft = checkin("We refund $500.", urgency=["safety"], consent=True)
    assert rules.screen(draft).outcome == "allow"
    assert rules.check(draft).outcome == "block"


def test_screen_gives_every_reason_to_skip_a_customer() -> None:
    rules = policy(SCREENING)
    draft = checkin(
        "",
        opted_out=True,
        consent=None,
        open_complaints=(12,),
        previous_contacts=(SEND_AT - timedelta(days=3),),
    )
    verdict = rules.screen(draft)
    assert verdict.outcome == "block"
    assert [f.rule for f in verdict.findings] == [
        "suppression",
        "consent",
        "open_complaint",
        "contact_limit",
    ]
    assert verdict.text == ""


def test_screen_says_when_a_checkin_may_leave() -> None:
    rules = policy(SCREENING)
    late = datetime(2026, 11, 24, 22, 30, tzinfo=UTC)
    verdict = rules.screen(checkin("", customer_tz="Europe/Rome", send_at=late))
    assert verdict.outcome == "amend"
    assert verdict.send_after == datetime(2026, 11, 25, 7, 0, tzinfo=UTC)


def test_contact_outside_the_period_lets_a_checkin_through() -> None:
    rules = policy(SCREENING)
    old = (SEND_AT - timedelta(days=14),)
    assert rules.screen(checkin("", previous_contacts=old)).outcome == "allow"
    recent = (SEND_AT - timedelta(days=14) + timedelta(seconds=1),)
    assert rules.screen(checkin("", previous_contacts=recent)).outcome == "block"
