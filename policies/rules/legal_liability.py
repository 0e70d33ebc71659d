"""No admission of legal liability."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field

from policies.context import DraftContext
from policies.matching import Regex, compile_any, quoted
from policies.rule import PASS, Rule, RuleOptions, RuleResult

# Admissions in English and Italian. An apology ("sorry, our mistake") is not one: what
# counts is accepting liability or legal responsibility.
ADMISSIONS = (
    r"\bwe(?:\s+are|'re|\s+were)\s+(?:fully\s+|legally\s+|entirely\s+)*(?:liable|responsible\s+for\s+(?:the\s+|any\s+|all\s+)?(?:damages?|injur\w+|losses))",
    r"\bwe\s+(?:accept|admit|acknowledge|take|assume)\s+(?:full\s+|all\s+|legal\s+|our\s+)*(?:liability|legal\s+responsibility)",
    r"\bour\s+fault,?\s+legally\b|\blegally\s+(?:it\s+is\s+|it's\s+)?our\s+fault\b",
    r"\bwe\s+will\s+(?:pay|cover|compensate\s+you\s+for)\s+(?:all|any)\s+(?:the\s+)?(?:damages|legal\s+costs)",
    r"\bammettiamo\s+(?:la\s+(?:nostra\s+)?|ogni\s+|piena\s+)?responsabilit[àa]",
    r"\b(?:riconosciamo|accettiamo|ci\s+assumiamo)\s+(?:la\s+(?:nostra\s+)?|ogni\s+|piena\s+|tutta\s+la\s+)?(?:responsabilit[àa]\s+(?:legale|per\s+(?:i|il|ogni)\s+dann\w+)|responsabilit[àa]\s+civile)",
    r"\bsiamo\s+(?:legalmente|civilmente|penalmente)\s+responsabili",
    r"\bsiamo\s+responsabili\s+(?:dei|del|di\s+ogni|per\s+i|per\s+il)\s+dann\w+",
    r"\b[èe]\s+colpa\s+nostra\s+(?:dal\s+punto\s+di\s+vista\s+)?legal\w*",
    r"\bci\s+assumiamo\s+(?:ogni|la\s+piena|tutta\s+la)\s+responsabilit[àa]",
)


class LegalLiabilityOptions(RuleOptions):
    extra_patterns: list[Regex] = Field(
        default_factory=list,
        description="More regular expressions for admissions, besides the built-in English "
        "and Italian ones.",
    )
    outcome: Literal["block", "escalate"] = Field(
        "block", description="What an admission leads to."
    )


class LegalLiability(Rule[LegalLiabilityOptions]):
    """Admissions of legal liability ("we are liable", "ammettiamo la responsabilità")."""

    name = "legal_liability"
    Options = LegalLiabilityOptions

    def __init__(self, options: LegalLiabilityOptions) -> None:
        super().__init__(options)
        pattern = compile_any(patterns=(*ADMISSIONS, *options.extra_patterns))
        assert pattern is not None
        self.pattern: re.Pattern[str] = pattern

    def check(self, ctx: DraftContext) -> RuleResult:
        found = [m.group(0) for m in self.pattern.finditer(ctx.text)]
        if not found:
            return PASS
        return self.fire(
            self.options.outcome,
            f"admits legal liability: {quoted(found)}; only the legal team may say that",
        )
