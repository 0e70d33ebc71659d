from __future__ import annotations

import pytest

from tests.policies.helpers import ctx, outcomes, run


@pytest.mark.parametrize(
    ("urgency", "expected"),
    [
        (["safety"], ["escalate"]),
        (["legal"], ["escalate"]),
        (["press"], ["escalate"]),
        (["churn"], []),
        ([], []),
        (["churn", "safety"], ["escalate"]),
    ],
)
def test_safety_legal_and_press_go_to_a_person(urgency: list[str], expected: list[str]) -> None:
    assert outcomes(run("human_topics", ctx(urgency=urgency))) == expected


def test_reason_names_every_topic() -> None:
    result = run("human_topics", ctx(urgency=["safety", "press"]))
    reason = result.findings[0].reason
    assert "a safety risk (safety)" in reason
    assert "press or an influencer (press)" in reason


def test_issues_and_outcome_are_configurable() -> None:
    result = run(
        "human_topics", ctx(issues=["billing"]), urgency=[], issues=["billing"], outcome="block"
    )
    assert outcomes(result) == ["block"]
    assert outcomes(run("human_topics", ctx(urgency=["safety"]), urgency=[])) == []
