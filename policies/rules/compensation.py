"""Compensation caps by role and currency."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from policies.context import DraftContext
from policies.money import PERCENT, Amount, find_amounts
from policies.rule import PASS, Rule, RuleOptions, RuleResult
from policies.verdict import Outcome


def _currency(value: str) -> str:
    if value != PERCENT and not re.fullmatch(r"[A-Z]{3}", value):
        raise ValueError(f"expected an ISO 4217 code in capitals (USD, EUR, ...) or {PERCENT!r}")
    return value


Currency = Annotated[str, AfterValidator(_currency)]
Cap = Annotated[Decimal, Field(ge=0)]


class CompensationOptions(RuleOptions):
    caps: dict[str, dict[Currency, Cap]] = Field(
        min_length=1,
        description="Per role, the most it may offer per currency: `caps.agent = { USD = "
        '200, EUR = 180, percent = 20 }`; "percent" caps percentage refunds and discounts.',
    )
    dollar: Currency = Field("USD", description='Currency a bare "$" stands for.')
    total: Literal["largest", "sum"] = Field(
        "largest",
        description="Compare each amount to the cap (`largest`), or the sum of the amounts "
        "in one currency (`sum`; an amount repeated in the text then counts twice).",
    )


class Compensation(Rule[CompensationOptions]):
    """Amounts offered in the text must be within the approving role's cap in their currency.

    Over the role's cap: escalate to a role whose cap covers it; over every role's cap:
    block. A currency no role has a cap in, or an offered number without a currency:
    escalate.
    """

    name = "compensation"
    Options = CompensationOptions

    def check(self, ctx: DraftContext) -> RuleResult:
        amounts = find_amounts(ctx.text, dollar=self.options.dollar)
        if not amounts:
            return PASS
        role = ctx.role or ""
        caps = self.options.caps
        results: list[tuple[Outcome, str]] = []
        if role not in caps:
            roles = ", ".join(sorted(caps))
            listed = ", ".join(a.text for a in amounts)
            results.append(
                (
                    "escalate",
                    f"offers {listed} but role {role!r} has no compensation caps "
                    f"(roles with caps: {roles})",
                )
            )
            return self.findings(*results)
        for currency, offered in _by_currency(amounts, self.options.total):
            results += self._judge(role, currency, offered)
        return self.findings(*results)

    def _judge(self, role: str, currency: str | None, amount: Amount) -> list[tuple[Outcome, str]]:
        caps = self.options.caps
        if currency is None:
            return [
                (
                    "escalate",
                    f"offers {amount.text.strip()!r} without a currency: a person must "
                    "confirm what is offered",
                )
            ]
        unit = "%" if currency == PERCENT else f" {currency}"
        covering = {r: c[currency] for r, c in caps.items() if currency in c}
        if not covering:
            configured = sorted({c for limits in caps.values() for c in limits})
            return [
                (
                    "escalate",
                    f"offers {_show(amount.value)}{unit}, a currency no role has a cap in "
                    f"(caps are set in {', '.join(configured)})",
                )
            ]
        own = covering.get(role)
        if own is not None and amount.value <= own:
            return []
        above = sorted((c, r) for r, c in covering.items() if c >= amount.value)
        limit = (
            f"the {role} cap of {_show(own)}{unit}"
            if own is not None
            else f"what a {role} may offer (no cap in {currency})"
        )
        if above:
            who = ", ".join(f"{r} (up to {_show(c)}{unit})" for c, r in above)
            return [
                (
                    "escalate",
                    f"offers {_show(amount.value)}{unit}, over {limit}: needs approval by {who}",
                )
            ]
        every = ", ".join(f"{r} {_show(c)}{unit}" for r, c in sorted(covering.items()))
        return [
            (
                "block",
                f"offers {_show(amount.value)}{unit}, over every role's cap ({every})",
            )
        ]


def _by_currency(
    amounts: list[Amount], total: Literal["largest", "sum"]
) -> list[tuple[str | None, Amount]]:
    """Per currency, the amount to compare with the cap (bare numbers each on their own)."""
    groups: dict[str | None, list[Amount]] = {}
    for amount in amounts:
        groups.setdefault(amount.currency, []).append(amount)
    picked: list[tuple[str | None, Amount]] = []
    for currency, group in groups.items():
        if currency is None:
            picked += [(None, a) for a in group]
        elif total == "sum" and currency != PERCENT:
            value = sum((a.value for a in group), Decimal(0))
            joined = " + ".join(a.text for a in group)
            picked.append((currency, Amount(value, currency, joined, group[0].start, -1)))
        else:
            picked.append((currency, max(group, key=lambda a: a.value)))
    return picked


def _show(value: Decimal | None) -> str:
    """200 -> "200", 30.5 -> "30.50", 200.01 -> "200.01"."""
    if value is None:
        return "?"
    if value == value.to_integral_value():
        return f"{value.to_integral_value():f}"
    return f"{value:.2f}" if value == round(value, 2) else f"{value:f}"
