"""No personal data in public replies."""

from __future__ import annotations

import re
from collections import Counter
from typing import Literal

from pydantic import Field

from policies.context import DraftContext
from policies.matching import Regex
from policies.personal_data import (
    DEFAULT_ORDER_PATTERNS,
    KIND_WORDS,
    find_personal_data,
    redact,
)
from policies.rule import PASS, Rule, RuleOptions, RuleResult

Kind = Literal["email", "phone", "order_number"]
KINDS: tuple[Kind, ...] = ("email", "phone", "order_number")


class PersonalDataOptions(RuleOptions):
    action: Literal["redact", "block", "escalate"] = Field(
        "redact",
        description="`redact` amends the reply by replacing the data; `block` or "
        "`escalate` leave the text alone.",
    )
    kinds: list[Kind] = Field(
        default_factory=lambda: list(KINDS),
        description="What counts as personal data: email, phone, order_number.",
    )
    order_patterns: list[Regex] = Field(
        default_factory=lambda: list(DEFAULT_ORDER_PATTERNS),
        description="Regular expressions of order numbers; with a group, only the group is "
        "redacted (keeping e.g. the word 'order'). The customer's own order numbers are "
        "always recognised.",
    )
    allowed: list[str] = Field(
        default_factory=list,
        description="Addresses and numbers that may appear, e.g. the brand's support address.",
    )
    replacement: str = Field("[removed]", description="What replaces redacted data.")


class PersonalData(Rule[PersonalDataOptions]):
    """Public replies carry no e-mail address, phone number or order number."""

    name = "personal_data"
    Options = PersonalDataOptions

    def __init__(self, options: PersonalDataOptions) -> None:
        super().__init__(options)
        self.order_patterns = [re.compile(p) for p in options.order_patterns]

    def check(self, ctx: DraftContext) -> RuleResult:
        if not ctx.is_public:
            return PASS
        found = find_personal_data(
            ctx.text,
            kinds=self.options.kinds,
            order_patterns=self.order_patterns,
            order_ids=ctx.order_ids,
            allowed=self.options.allowed,
        )
        if not found:
            return PASS
        counts = Counter(f.kind for f in found)
        what = ", ".join(
            f"{n} {KIND_WORDS[k]}{'es' if n > 1 and k == 'email' else 's' if n > 1 else ''}"
            for k, n in counts.items()
        )
        if self.options.action == "redact":
            return self.fire(
                "amend",
                f"removed {what} from a public reply",
                text=redact(ctx.text, found, self.options.replacement),
            )
        return self.fire(self.options.action, f"a public reply contains {what}")
