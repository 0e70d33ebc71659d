"""No delivery date that the order data does not back."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Literal

from pydantic import Field

from policies.context import DraftContext
from policies.dates import PromisedDate, find_dates, sentences
from policies.matching import Regex
from policies.rule import PASS, Rule, RuleOptions, RuleResult

# A date is a delivery promise when its sentence speaks of delivery; "we received your
# message today" is not one, "it will arrive today" is.
DELIVERY_WORDS = (
    r"\bdeliver(?:y|ies|ed|ing|s)?\b|\barriv(?:e|es|ing|al)\b|\bship(?:s|ped|ping|ment)?\b|"
    r"\bdispatch\w*|\bcourier\b|\bparcel\b|\bpackage\b|\bin\s+your\s+hands\b|"
    r"\bbe\s+with\s+you\b|\b(?:you'?ll|you\s+will|you\s+should)\s+(?:receive|get|have)\b|"
    r"\bconsegn\w*|\bspedi\w*|\bcorriere\b|\bpacco\b|\barriv\w*|\brecapit\w*|"
    r"\b(?:riceverai|riceverà|riceverete|avrai|avrete)\b|"
    # Sending is delivering too, when we say we will: "we will send you a new Tab 3 by
    # Friday", "a replacement will be sent tomorrow", "te lo invieremo entro venerdì".
    r"\b(?:we|i)(?:'ll|\s+will|\s+shall|\s+can|\s+are\s+going\s+to|'re\s+going\s+to)\s+"
    r"(?:re)?(?:send|mail|post|replace)\b|\bwill\s+be\s+(?:re)?(?:sent|mailed|posted|replaced)\b|"
    r"\b(?:invieremo|manderemo|rispediremo|sostituiremo)\b"
)


class DeliveryPromisesOptions(RuleOptions):
    action: Literal["block", "escalate", "remove"] = Field(
        "block",
        description="What an unbacked delivery date leads to; `remove` amends the draft by "
        "dropping the sentence that makes the promise.",
    )
    extra_words: list[Regex] = Field(
        default_factory=list,
        description="More regular expressions that make a sentence about delivery.",
    )
    day_first: bool = Field(True, description="Read 03/04 as 3 April (true) or as March 4 (false).")


class DeliveryPromises(Rule[DeliveryPromisesOptions]):
    """Delivery dates in the text ("by Friday", "domani") must match the order's known dates.

    A deadline ("by Friday", "entro 3 giorni") is backed by a known delivery date on or
    before it; a day ("tomorrow", "il 24 novembre") by that very date. Without any known
    delivery date every promised date is unbacked.
    """

    name = "delivery_promises"
    Options = DeliveryPromisesOptions

    def __init__(self, options: DeliveryPromisesOptions) -> None:
        super().__init__(options)
        words = "|".join([DELIVERY_WORDS, *(f"(?:{w})" for w in options.extra_words)])
        self.delivery = re.compile(words, re.IGNORECASE)

    def check(self, ctx: DraftContext) -> RuleResult:
        today = _sending_day(ctx)
        unbacked: list[tuple[tuple[int, int], PromisedDate]] = []
        for start, end in sentences(ctx.text):
            sentence = ctx.text[start:end]
            if not self.delivery.search(sentence):
                continue
            for promise in find_dates(sentence, today, day_first=self.options.day_first):
                if not _backed(promise, ctx.delivery_dates):
                    unbacked.append(((start, end), promise))
        if not unbacked:
            return PASS
        known = (
            "the order data has "
            + ", ".join(f"{d:%a %Y-%m-%d}" for d in sorted(ctx.delivery_dates))
            if ctx.delivery_dates
            else "the order data has no delivery date"
        )
        promised = "; ".join(f'"{p.text}" ({p.describe()})' for _, p in unbacked)
        if self.options.action == "remove":
            cut = sorted({span for span, _ in unbacked}, reverse=True)
            text = ctx.text
            for start, end in cut:
                text = text[:start] + text[end:]
            text = re.sub(r"[ \t]{2,}", " ", text).strip()
            return self.fire(
                "amend",
                f"removed a delivery promise the order data does not back: {promised}; {known}",
                text=text,
            )
        return self.fire(
            self.options.action,
            f"promises delivery {promised}, but {known}",
        )


def _sending_day(ctx: DraftContext) -> date:
    """The day the customer reads it on: "tomorrow" is relative to their calendar."""
    zone, _ = ctx.zone()
    return ctx.sending_time.astimezone(zone).date()


def _backed(promise: PromisedDate, known: Sequence[date]) -> bool:
    if promise.by:
        return any(d <= promise.date for d in known)
    return promise.date in known
