"""Opt-out and suppression lists."""

from __future__ import annotations

from pydantic import Field, field_validator

from policies.context import DraftContext
from policies.rule import PASS, Rule, RuleOptions, RuleResult


class SuppressionOptions(RuleOptions):
    addresses: list[str] = Field(
        default_factory=list,
        description="Recipients (e-mail addresses or handles) never to contact, any case.",
    )
    domains: list[str] = Field(
        default_factory=list,
        description="E-mail domains never to contact, with their subdomains, e.g. "
        "competitor.example.",
    )
    public: bool = Field(
        True,
        description="Apply to public replies as well (false: opted-out customers still get "
        "a public answer to what they post).",
    )

    @field_validator("addresses", "domains")
    @classmethod
    def _lower(cls, values: list[str]) -> list[str]:
        return [v.strip().lower().lstrip("@") for v in values if v.strip()]


class Suppression(Rule[SuppressionOptions]):
    """Customers who opted out or are suppressed, and listed recipients, get nothing."""

    name = "suppression"
    Options = SuppressionOptions
    judges_text = False

    def check(self, ctx: DraftContext) -> RuleResult:
        if ctx.is_public and not self.options.public:
            return PASS
        reasons = []
        if ctx.opted_out:
            reasons.append("the customer opted out of contact")
        if ctx.suppressed:
            reasons.append("the customer is on the suppression list")
        recipient = (ctx.recipient or "").strip().lower()
        if recipient:
            if recipient.lstrip("@") in self.options.addresses:
                reasons.append(f"{ctx.recipient} is on the policy's suppression list")
            domain = recipient.rpartition("@")[2] if "@" in recipient.lstrip("@") else ""
            listed = next((d for d in self.options.domains if _within(domain, d)), None)
            if domain and listed:
                reasons.append(f"the domain {listed} is on the policy's suppression list")
        if not reasons:
            return PASS
        return self.findings(*(("block", r) for r in reasons))


def _within(domain: str, listed: str) -> bool:
    """`domain` is `listed` or one of its subdomains (mail.rival.example in rival.example)."""
    return domain == listed or domain.endswith(f".{listed}")
