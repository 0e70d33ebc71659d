"""At most N contacts per customer per period."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field

from policies.context import DraftContext
from policies.rule import PASS, Rule, RuleOptions, RuleResult


class ContactLimitOptions(RuleOptions):
    max_contacts: int = Field(
        3, ge=1, description="Most messages one customer may get within the period."
    )
    period_days: float = Field(7, gt=0, description="Length of the period, in days.")
    outcome: Literal["block", "escalate"] = Field(
        "block", description="What one message too many leads to."
    )
    public: bool = Field(
        False,
        description="Count against the limit public replies too (false: only private "
        "messages such as e-mail are limited).",
    )


class ContactLimit(Rule[ContactLimitOptions]):
    """A customer gets at most `max_contacts` messages in any `period_days`.

    Counts the context's `previous_contacts` within the period before the send time (a
    contact exactly one period ago has left it); this message would be one more.
    """

    name = "contact_limit"
    Options = ContactLimitOptions
    judges_text = False

    @property
    def lookback(self) -> timedelta:
        return timedelta(days=self.options.period_days)

    def check(self, ctx: DraftContext) -> RuleResult:
        if ctx.is_public and not self.options.public:
            return PASS
        at = ctx.sending_time
        since = at - self.lookback
        recent = sum(1 for contact in ctx.previous_contacts if since < contact <= at)
        limit = self.options.max_contacts
        if recent < limit:
            return PASS
        days = f"{self.options.period_days:g}"
        return self.fire(
            self.options.outcome,
            f"the customer was already contacted {recent} time(s) in the last {days} day(s); "
            f"the limit is {limit}",
        )
