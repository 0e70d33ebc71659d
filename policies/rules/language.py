"""Reply in the customer's language."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from policies.context import DraftContext, primary_language
from policies.rule import PASS, Rule, RuleOptions, RuleResult

if TYPE_CHECKING:
    from classify.language import LanguageIdentifier


class LanguageOptions(RuleOptions):
    outcome: Literal["block", "escalate"] = Field(
        "block", description="What a reply in another language leads to."
    )
    detect: bool = Field(
        True,
        description="Also detect the language the text is written in (an edit can change "
        "it), not only trust the draft's declared language.",
    )
    min_chars: int = Field(
        40, ge=1, description="Shortest text whose detected language is trusted."
    )
    min_confidence: float = Field(
        0.8, ge=0, le=1, description="Lowest detection confidence that counts."
    )


@lru_cache(maxsize=1)
def _identifier() -> LanguageIdentifier:
    from classify.language import LanguageIdentifier

    return LanguageIdentifier()


class Language(Rule[LanguageOptions]):
    """The reply is in the customer's language (when it is known)."""

    name = "language"
    Options = LanguageOptions

    def check(self, ctx: DraftContext) -> RuleResult:
        wanted = primary_language(ctx.customer_language)
        if wanted is None:
            return PASS
        declared = primary_language(ctx.language)
        if declared is not None and declared != wanted:
            return self.fire(
                self.options.outcome,
                f"the draft is in {declared!r} but the customer's language is {wanted!r}",
            )
        if not self.options.detect or len(ctx.text.strip()) < self.options.min_chars:
            return PASS
        [(detected, confidence)] = _identifier().detect([ctx.text])
        if detected != wanted and confidence >= self.options.min_confidence:
            return self.fire(
                self.options.outcome,
                f"the text reads as {detected!r} (confidence {confidence:.2f}) but the "
                f"customer's language is {wanted!r}",
            )
        return PASS
