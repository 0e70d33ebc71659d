"""Phrases and patterns that must never appear in a reply."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator

from policies.context import DraftContext
from policies.matching import Phrase, Regex, compile_any, quoted
from policies.rule import PASS, Rule, RuleOptions, RuleResult


class ForbiddenPhrasesOptions(RuleOptions):
    phrases: list[Phrase] = Field(
        default_factory=list,
        description="Phrases matched as whole words, case and spacing ignored.",
    )
    patterns: list[Regex] = Field(
        default_factory=list,
        description="Regular expressions (Python syntax), matched case-insensitively.",
    )
    outcome: Literal["block", "escalate"] = Field("block", description="What a match leads to.")

    @model_validator(mode="after")
    def _something(self) -> ForbiddenPhrasesOptions:
        if not self.phrases and not self.patterns:
            raise ValueError("expected at least one entry in `phrases` or `patterns`")
        return self


class ForbiddenPhrases(Rule[ForbiddenPhrasesOptions]):
    """Configured phrases and patterns that no reply may contain (promises, slurs, ...)."""

    name = "forbidden_phrases"
    Options = ForbiddenPhrasesOptions

    def __init__(self, options: ForbiddenPhrasesOptions) -> None:
        super().__init__(options)
        self.pattern: re.Pattern[str] | None = compile_any(options.phrases, options.patterns)

    def check(self, ctx: DraftContext) -> RuleResult:
        if self.pattern is None:
            return PASS
        found = [m.group(0) for m in self.pattern.finditer(ctx.text)]
        if not found:
            return PASS
        return self.fire(self.options.outcome, f"contains forbidden wording: {quoted(found)}")
