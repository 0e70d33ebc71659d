"""Proactive messages only to customers who consented."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from policies.context import DraftContext
from policies.rule import PASS, Rule, RuleOptions, RuleResult


class ConsentOptions(RuleOptions):
    unknown: Literal["allow", "escalate", "block"] = Field(
        "block",
        description="What a proactive message to a customer whose consent is not recorded "
        "leads to; a refusal always blocks.",
    )


class Consent(Rule[ConsentOptions]):
    """Check-ins and campaigns go only to customers who gave consent; replies need none."""

    name = "consent"
    Options = ConsentOptions
    judges_text = False

    def check(self, ctx: DraftContext) -> RuleResult:
        if not ctx.proactive or ctx.consent is True:
            return PASS
        if ctx.consent is False:
            return self.fire("block", "the customer refused consent to be contacted")
        if self.options.unknown == "allow":
            return PASS
        return self.fire(self.options.unknown, "no consent to be contacted is recorded")
