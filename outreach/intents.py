"""Which reply a mention calls for, from its classification."""

from __future__ import annotations

from policies.audience import is_pre_purchase
from storage.models import Classification

# Issue types a complaint can be about (the classifier's issue labels that are problems).
COMPLAINT_ISSUES = ("defect", "delivery", "billing", "service", "other")
# Every intent with templates; `known_issue` acknowledges an open defect alert and
# `follow_up` is an e-mail written after a first reply.
INTENTS = (
    *(f"complaint_{issue}" for issue in COMPLAINT_ISSUES),
    "question",
    "praise",
    "known_issue",
    "follow_up",
)
# Intents that answer a mention, and the `[outreach] intents` kind each belongs to.
REPLY_KINDS = {
    **{f"complaint_{issue}": "complaint" for issue in COMPLAINT_ISSUES},
    "known_issue": "complaint",
    "question": "question",
    "praise": "praise",
}


def complaint_issue(labels: Classification) -> str:
    """The complaint's main issue type: the best-scored complaint issue labelled, else any."""
    scores = labels.issue_scores or {}
    labelled = [i for i in labels.issues if i in COMPLAINT_ISSUES]
    if labelled:
        return max(labelled, key=lambda i: scores.get(i, 0.0))
    return "other"


def is_complaint(labels: Classification) -> bool:
    """A complaint by the classifier's complaint head."""
    return labels.complaint is True


def choose_intent(
    labels: Classification, *, known_issue: bool, text: str = "", has_order: bool = False
) -> str | None:
    """The reply a mention calls for, or None when it needs none.

    A question asked before buying (no order known) is answered, whatever its labels: it
    needs an answer, not an apology. A complaint is answered by its issue type; a defect
    complaint about a product with an open alert acknowledges the known issue. Otherwise
    questions are answered, then praise is thanked.
    """
    if labels.unclassifiable_reason:
        return None
    if not has_order and text and is_pre_purchase(text):
        return "question"
    if is_complaint(labels):
        issue = complaint_issue(labels)
        if issue == "defect" and known_issue:
            return "known_issue"
        return f"complaint_{issue}"
    if "question" in labels.issues:
        return "question"
    if "praise" in labels.issues:
        return "praise"
    return None


def kind_of(intent: str) -> str:
    """`complaint`, `question`, `praise` or `follow_up`."""
    return REPLY_KINDS.get(intent, intent)
