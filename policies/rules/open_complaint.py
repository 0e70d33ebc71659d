"""No proactive message while a complaint of the customer's waits for a reply."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from policies.context import DraftContext
from policies.rule import PASS, Rule, RuleOptions, RuleResult

# How many mention ids a reason lists before "and N more".
SHOWN = 5


class OpenComplaintOptions(RuleOptions):
    outcome: Literal["block", "escalate"] = Field(
        "block", description="What a proactive message during an open complaint leads to."
    )


class OpenComplaint(Rule[OpenComplaintOptions]):
    """Care answers a complaint first: no check-in or campaign to a customer who has one open."""

    name = "open_complaint"
    Options = OpenComplaintOptions
    judges_text = False

    def check(self, ctx: DraftContext) -> RuleResult:
        if not ctx.proactive or not ctx.open_complaints:
            return PASS
        ids = ", ".join(f"#{i}" for i in ctx.open_complaints[:SHOWN])
        more = len(ctx.open_complaints) - SHOWN
        listed = f"{ids} and {more} more" if more > 0 else ids
        return self.fire(
            self.options.outcome,
            f"the customer has an open complaint (mention {listed}) without a reply: "
            "care answers it first",
        )
