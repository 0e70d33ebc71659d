"""Topics that always go to a person."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from policies.context import DraftContext
from policies.rule import PASS, Rule, RuleOptions, RuleResult

WHY = {
    "safety": "a safety risk",
    "legal": "a legal threat",
    "press": "press or an influencer",
    "churn": "a customer about to leave",
}


class HumanTopicsOptions(RuleOptions):
    urgency: list[str] = Field(
        default_factory=lambda: ["safety", "legal", "press"],
        description="Urgency labels of the mention (classifier: safety, legal, churn, press) "
        "that always need a person.",
    )
    issues: list[str] = Field(
        default_factory=list,
        description="Issue labels (defect, delivery, billing, service, ...) that always need "
        "a person.",
    )
    outcome: Literal["escalate", "block"] = Field(
        "escalate", description="What such a topic leads to."
    )


class HumanTopics(Rule[HumanTopicsOptions]):
    """Mentions labelled with these urgencies or issues are never answered by a draft alone."""

    name = "human_topics"
    Options = HumanTopicsOptions

    def check(self, ctx: DraftContext) -> RuleResult:
        urgent = [u for u in ctx.urgency if u in self.options.urgency]
        issues = [i for i in ctx.issues if i in self.options.issues]
        if not urgent and not issues:
            return PASS
        topics = [f"{WHY.get(u, u)} ({u})" for u in urgent] + [f"issue {i!r}" for i in issues]
        return self.fire(
            self.options.outcome,
            f"the mention is about {', '.join(topics)}: a supervisor must handle it",
        )
