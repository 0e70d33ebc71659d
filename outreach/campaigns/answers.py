"""Survey answers and unsubscribes, as the survey pages record them.

One answer per check-in: a second submission replaces the first (the audit trail keeps
every version), so a customer can change an answer but never count twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from outreach.rendering import clean
from storage import audit
from storage import campaigns as store
from storage.models import CheckIn, SurveyAnswer, Unsubscribe
from storage.types import whole_number

ACTOR = "survey"
SCALES = {"csat": (1, 5), "nps": (0, 10)}
COMMENT_LIMIT = 2000


class AnswerError(ValueError):
    """An answer that cannot be stored, with a reason the page shows."""


@dataclass(frozen=True)
class Kind:
    """Where an answer stands: detractor, passive or promoter."""

    detractor: bool
    promoter: bool


def kind_of(csat: int | None, nps: int | None) -> Kind:
    """NPS 0-6 or CSAT 1-2 is a detractor; NPS 9-10 (or CSAT 5 without NPS) a promoter."""
    detractor = (nps is not None and nps <= 6) or (csat is not None and csat <= 2)
    promoter = not detractor and (nps >= 9 if nps is not None else csat == 5)
    return Kind(detractor, promoter)


def parse_score(question: str, value: str | None) -> int | None:
    """A submitted score, None when left empty; AnswerError when out of the scale."""
    if value is None or not value.strip():
        return None
    low, high = SCALES[question]
    score = whole_number(value, low=low, high=high)
    if score is None:
        raise AnswerError(f"{question}: expected a whole number from {low} to {high}")
    return score


def record_answer(
    session: Session,
    checkin: CheckIn,
    *,
    csat: int | None,
    nps: int | None,
    comment: str | None,
    questions: Sequence[str],
    now: datetime,
) -> tuple[SurveyAnswer, bool]:
    """Store or replace the answer to `checkin`; (answer, True) when it is the first.

    Raises AnswerError when no asked question has a score.
    """
    if "csat" not in questions:
        csat = None
    if "nps" not in questions:
        nps = None
    if csat is None and nps is None:
        raise AnswerError("choose a score")
    text = clean(comment, COMMENT_LIMIT, one_line=False) if comment else ""
    answer = store.get_answer(session, checkin_id=checkin.id or 0)
    first = answer is None
    if answer is None:
        answer = SurveyAnswer(
            checkin_id=checkin.id or 0,
            campaign_id=checkin.campaign_id,
            customer_id=checkin.customer_id,
            language=checkin.language,
            answered_at=now,
            updated_at=now,
        )
    else:
        if (answer.csat, answer.nps, answer.comment or "") == (csat, nps, text):
            return answer, False
        answer.revisions += 1
        answer.updated_at = now
        # A changed answer is judged again (a follow-up draft is never opened twice).
        answer.acted_at = None
    previous = None if first else {"csat": answer.csat, "nps": answer.nps}
    answer.csat, answer.nps, answer.comment = csat, nps, text or None
    session.add(answer)
    if checkin.status != "answered":
        checkin.status = "answered"
        checkin.answered_at = now
        session.add(checkin)
    session.flush()
    audit.record(
        session,
        actor=ACTOR,
        action="survey.answered" if first else "survey.answer_changed",
        subject_type="checkin",
        subject_id=checkin.id,
        details={"csat": csat, "nps": nps, "comment": bool(text), "previous": previous},
    )
    return answer, first


def unsubscribe(
    session: Session, *, email: str, via: str, checkin_id: int | None = None
) -> tuple[Unsubscribe, bool]:
    """Record an unsubscribe once; (row, True) when it is new."""
    row, new = store.add_unsubscribe(session, email=email, via=via, checkin_id=checkin_id)
    if new:
        audit.record(
            session,
            actor=ACTOR,
            action="survey.unsubscribed",
            subject_type="customer",
            subject_id=row.customer_id,
            details={"via": via, "checkin_id": checkin_id},
        )
    return row, new


def mark_review_invited(session: Session, answer: SurveyAnswer, *, now: datetime) -> None:
    """Remember the first time a promoter was shown the review invitation."""
    if answer.review_invited_at is None:
        answer.review_invited_at = now
        session.add(answer)
