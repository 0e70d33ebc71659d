"""How findings make a verdict: severity, composed amendments, the re-check."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from policies import DraftContext, Finding, PolicySet, Verdict
from policies.verdict import most_severe
from tests.policies.helpers import SEND_AT, ctx, policy, public

EVERYTHING = """
[suppression]
[human_topics]
[legal_liability]
[delivery_promises]
[compensation]
caps.agent = { USD = 200 }
caps.supervisor = { USD = 1000 }
[personal_data]
[quiet_hours]
"""


def test_most_severe_outcome_wins() -> None:
    assert most_severe([]) == "allow"
    assert most_severe(["allow", "amend"]) == "amend"
    assert most_severe(["amend", "escalate", "allow"]) == "escalate"
    assert most_severe(["escalate", "block", "amend"]) == "block"


def test_nothing_fires_allow() -> None:
    verdict = policy(EVERYTHING).check(ctx("Thanks, we are looking into it."))
    assert verdict == Verdict("allow", "Thanks, we are looking into it.", [], None)
    assert verdict.allowed


def test_amend_then_escalate_then_block() -> None:
    rules = policy(EVERYTHING)
    text = "Write to a@b.example and we refund $300."
    amended = rules.check(public("Write to a@b.example."))
    assert amended.outcome == "amend"
    assert amended.text == "Write to [removed]."
    escalated = rules.check(public(text))
    assert escalated.outcome == "escalate"
    assert escalated.text == "Write to [removed] and we refund $300."
    assert [f.outcome for f in escalated.findings] == ["escalate", "amend"]
    blocked = rules.check(public(text, opted_out=True, urgency=["safety"]))
    assert blocked.outcome == "block"
    assert [f.rule for f in blocked.findings] == [
        "suppression",
        "human_topics",
        "compensation",
        "personal_data",
    ]
    assert not blocked.allowed


def test_findings_follow_the_order_of_the_policy_file() -> None:
    reordered = policy(
        """
        [personal_data]
        [compensation]
        caps.agent = { USD = 200 }
        """
    )
    verdict = reordered.check(public("Write to a@b.example and we refund $300."))
    assert [f.rule for f in verdict.findings] == ["personal_data", "compensation"]


def test_amendments_compose() -> None:
    rules = policy(
        """
        [personal_data]
        [disclaimer]
        texts.en = "Terms apply."
        when = ["refund"]
        [quiet_hours]
        public = "defer"
        """
    )
    late = datetime(2026, 11, 24, 22, 30, tzinfo=UTC)
    verdict = rules.check(public("We refund $20, write to a@b.example", send_at=late))
    assert verdict.outcome == "amend"
    assert verdict.text == "We refund $20, write to [removed]\n\nTerms apply."
    assert [f.rule for f in verdict.findings] == ["personal_data", "disclaimer", "quiet_hours"]
    assert verdict.send_after == datetime(2026, 11, 25, 7, 0, tzinfo=UTC)


def test_amended_text_is_checked_again() -> None:
    # The disclaimer comes after the length check: only the re-check sees it too long.
    rules = policy(
        """
        [length]
        limits = { mastodon = 60 }
        [disclaimer]
        texts.en = "Vouchers are valid for 12 months; terms apply."
        """
    )
    verdict = rules.check(public("Here is a voucher for you."))
    assert verdict.outcome == "block"
    assert verdict.text.endswith("terms apply.")
    assert [(f.rule, f.outcome) for f in verdict.findings] == [
        ("length", "block"),
        ("disclaimer", "amend"),
    ]
    assert "74 characters; mastodon allows 60" in verdict.findings[0].reason


def test_a_problem_removed_by_an_amendment_is_gone_from_the_verdict() -> None:
    rules = policy(
        """
        [length]
        limits = { x = 80 }
        [delivery_promises]
        action = "remove"
        """
    )
    text = "Sorry for the wait. Your parcel will arrive tomorrow, we checked it ourselves."
    verdict = rules.check(public(text + " Thanks!", channel="x"))
    assert verdict.outcome == "amend"
    assert verdict.text == "Sorry for the wait. Thanks!"
    assert [(f.rule, f.outcome) for f in verdict.findings] == [("delivery_promises", "amend")]


def test_amendments_that_never_settle_escalate() -> None:
    # Truncation cuts the disclaimer, the disclaimer comes back, and so on.
    rules = policy(
        """
        [disclaimer]
        texts.en = "Terms and conditions apply to every voucher we send."
        [length]
        limits = { x = 60 }
        action = "truncate"
        """
    )
    verdict = rules.check(public("A voucher for you.", channel="x"))
    assert verdict.outcome == "escalate"
    last = verdict.findings[-1]
    assert last.rule == "policy"
    assert "kept changing the text" in last.reason
    assert "disclaimer, length" in last.reason


def test_default_role_applies_when_nobody_approved_yet() -> None:
    text = """
    [compensation]
    caps.agent = { USD = 200 }
    caps.supervisor = { USD = 1000 }
    """
    draft = ctx("We refund $500.", role=None)
    assert policy(text).check(draft).outcome == "escalate"
    assert policy(text, default_role="supervisor").check(draft).outcome == "allow"
    assert policy(text).check(ctx("We refund $500.", role="supervisor")).outcome == "allow"


def test_send_time_defaults_to_now() -> None:
    rules = policy("[quiet_hours]")
    draft = ctx(send_at=None, customer_tz="UTC")
    assert rules.check(draft, now=datetime(2026, 11, 24, 23, 0, tzinfo=UTC)).outcome == "amend"
    assert rules.check(draft, now=datetime(2026, 11, 24, 12, 0, tzinfo=UTC)).outcome == "allow"


def test_delivery_date_in_the_order_data_is_allowed() -> None:
    rules = policy(EVERYTHING)
    draft = ctx("Your parcel will arrive tomorrow.", delivery_dates=[date(2026, 11, 25)])
    assert rules.check(draft).outcome == "allow"
    assert rules.check(ctx("Your parcel will arrive tomorrow.")).outcome == "block"


def test_same_rules_for_every_customer() -> None:
    rules = policy(EVERYTHING)
    text = "We refund $300."
    verdicts = {rules.check(ctx(text, customer_id=n)).outcome for n in (1, 2, 3, None)}
    assert verdicts == {"escalate"}


def test_details_round_trip_and_explain() -> None:
    verdict = policy(EVERYTHING).check(public("Write to a@b.example and we refund $300."))
    stored = Verdict.from_details(verdict.outcome, verdict.text, verdict.details())
    assert stored.findings == verdict.findings
    assert verdict.details()[0] == {
        "rule": "compensation",
        "outcome": "escalate",
        "reason": "offers 300 USD, over the agent cap of 200 USD: needs approval by "
        "supervisor (up to 1000 USD)",
    }
    assert verdict.explain().splitlines()[0].startswith("escalate compensation: offers 300 USD")
    assert Verdict("allow", "x").explain() == "allow: no rule fired"
    with pytest.raises(ValueError, match="not one of"):
        Finding.from_dict({"rule": "x", "outcome": "maybe", "reason": ""})


def test_context_requires_aware_times_and_derives_publicity() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        DraftContext(text="x", channel="email", send_at=datetime(2026, 11, 24, 10, 0))
    with pytest.raises(ValueError, match="timezone-aware"):
        DraftContext(text="x", channel="email", previous_contacts=[datetime(2026, 11, 24)])
    assert not DraftContext(text="x", channel="email").is_public
    assert DraftContext(text="x", channel="mastodon").is_public
    assert DraftContext(text="x", channel="manual").is_public
    assert not DraftContext(text="x", channel="manual", public=False).is_public


def test_lookback_covers_the_contact_limit() -> None:
    rules = policy("[contact_limit]\nperiod_days = 30\n[quiet_hours]")
    assert rules.lookback.days == 30
    assert PolicySet([]).lookback.days == 0
    assert SEND_AT.tzinfo is UTC
