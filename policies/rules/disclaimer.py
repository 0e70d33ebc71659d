"""A required disclaimer, appended when the text calls for it."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator

from policies.context import DraftContext, primary_language
from policies.matching import Regex
from policies.rule import PASS, Rule, RuleOptions, RuleResult


class DisclaimerOptions(RuleOptions):
    texts: dict[str, str] = Field(
        description='The disclaimer per language: `{ en = "...", it = "..." }`.'
    )
    when: list[Regex] = Field(
        default_factory=list,
        description="Regular expressions (case-insensitive); the disclaimer is required "
        "when one matches the text. Empty: always required.",
    )
    channels: list[str] = Field(
        default_factory=list, description="Only on these channels; empty: on every channel."
    )
    separator: str = Field("\n\n", description="Put between the text and the disclaimer.")
    missing: Literal["escalate", "block"] = Field(
        "escalate",
        description="What happens when there is no disclaimer in the reply's language.",
    )

    @model_validator(mode="after")
    def _some_text(self) -> DisclaimerOptions:
        if not self.texts or not all(t.strip() for t in self.texts.values()):
            raise ValueError("expected a non-empty disclaimer per language in `texts`")
        return self


class Disclaimer(Rule[DisclaimerOptions]):
    """Appends the disclaimer in the reply's language unless the text already has it."""

    name = "disclaimer"
    Options = DisclaimerOptions

    def __init__(self, options: DisclaimerOptions) -> None:
        super().__init__(options)
        self.when = [re.compile(p, re.IGNORECASE) for p in options.when]
        self.texts = {primary_language(k) or k: v.strip() for k, v in options.texts.items()}

    def check(self, ctx: DraftContext) -> RuleResult:
        if self.options.channels and ctx.channel not in self.options.channels:
            return PASS
        if self.when and not any(p.search(ctx.text) for p in self.when):
            return PASS
        language = primary_language(ctx.language) or primary_language(ctx.customer_language)
        disclaimer = self.texts.get(language or "")
        if disclaimer is None:
            which = repr(language) if language else "an unknown language"
            return self.fire(
                self.options.missing,
                f"a disclaimer is required but there is none in {which} "
                f"(configured: {', '.join(sorted(self.texts))})",
            )
        if _normal(disclaimer) in _normal(ctx.text):
            return PASS
        return self.fire(
            "amend",
            "appended the required disclaimer",
            text=ctx.text.rstrip() + self.options.separator + disclaimer,
        )


def _normal(text: str) -> str:
    return " ".join(text.split()).lower()
