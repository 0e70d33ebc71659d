"""Drafts a person decided on: what was drafted, what was sent, who decided and when.

The raw material of the approval figures (outreach.approval): read-only, one query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from storage.models import Draft

# Statuses of drafts a person approved (sent or not yet) or rejected.
APPROVED = ("approved", "sent", "failed")
REJECTED = ("rejected",)
# Who decides for the policy (a blocked draft): not an agent's decision.
POLICY = "policy"


@dataclass(frozen=True)
class DecidedDraft:
    """One draft a person approved or rejected."""

    draft_id: int
    intent: str
    template: str
    language: str
    channel: str
    agent: str
    status: str
    created_at: datetime
    decided_at: datetime
    drafted_text: str
    text: str
    mention_id: int | None
    # Which draft source wrote it: template, history, language_model.
    source: str = "template"


def decided_drafts(
    session: Session, *, since: datetime, until: datetime | None = None
) -> list[DecidedDraft]:
    """Drafts a person decided on from `since` (until `until`), oldest decision first."""
    query = (
        select(Draft)
        .where(col(Draft.status).in_((*APPROVED, *REJECTED)))
        .where(col(Draft.decided_by).is_not(None))
        .where(Draft.decided_by != POLICY)
        .where(col(Draft.decided_at).is_not(None))
        .where(col(Draft.decided_at) >= since)
        .order_by(col(Draft.decided_at), col(Draft.id))
    )
    if until is not None:
        query = query.where(col(Draft.decided_at) < until)
    return [
        DecidedDraft(
            draft_id=d.id or 0,
            intent=d.intent,
            template=d.template,
            language=d.language,
            channel=d.channel,
            agent=d.decided_by or "",
            status=d.status,
            created_at=d.created_at,
            decided_at=d.decided_at,  # type: ignore[arg-type]
            drafted_text=d.drafted_text,
            text=d.text,
            mention_id=d.mention_id,
            source=d.source,
        )
        for d in session.exec(query).all()
    ]
