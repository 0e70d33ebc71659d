"""Which complaints can form defect clusters: reports of the product misbehaving.

The classifier's labels are broad (a price-drop news item or a "should I wait for Black
Friday?" post can come out as a defect complaint); a defect cluster must hold only what a
product team would fix. `reason_left_out` names why a labelled complaint is not such a
report, or returns None when it is one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

NOT_DEFECT = "no defect label"
PRAISE = "praise"
NEWS = "news article"
PROMOTION = "promotion or price news"
PURCHASE_QUESTION = "purchase question"

# "… - GadgetWire", "… | TecnoNotizie": a headline with its publication's name.
_HEADLINE = re.compile(
    r"\s[-\u2013\u2014|]\s(?!(?:Help|Please|Urgent|Update|Fixed|Solved|Aiuto|Risolto|Urgente)\b)"
    r"(?:[A-Z][\w.&']*)(?:\s[A-Z][\w.&']*){0,2}\s*$"
)
_PROMOTION = re.compile(
    r"black friday|cyber monday|prime day|\bdeals?\b|\bsconto|\bsconti\b|\bofferta|\bcoupon|"
    r"\bpromo|price drop|drops to|\bsale\b|\bsaldi\b|(?:[$€£]\s?\d)|(?:\d\s?[$€£])",
    re.IGNORECASE,
)
_PURCHASE = re.compile(
    r"\bor wait\b|should i (?:buy|get|wait)|worth (?:it|buying|the)|which (?:one|should)|"
    r"\bbuy(?:ing)? now\b|vale la pena|conviene|meglio aspettare|o aspetto|aspettare il|"
    r"quale (?:prendere|compr)|lo compro|la compro",
    re.IGNORECASE,
)


def reason_left_out(
    *,
    title: str | None,
    text: str,
    sentiment: str | None,
    complaint: bool | None,
    issues: Sequence[str],
) -> str | None:
    """Why a labelled mention is no report of the product misbehaving (None: it is one)."""
    if "defect" not in issues:
        return NOT_DEFECT
    if "praise" in issues or sentiment == "positive":
        return PRAISE
    whole = f"{title or ''}\n{text}"
    if _PURCHASE.search(whole):
        return PURCHASE_QUESTION
    if _PROMOTION.search(whole) and sentiment != "negative":
        return PROMOTION
    if title and _HEADLINE.search(title.strip()):
        return NEWS
    return None
