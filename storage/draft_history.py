"""Approved, unedited replies of the past, with the embedding of the mention each answered.

The raw material of drafting from history (outreach.drafters.history): read-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
from sqlmodel import Session, col, select

from storage.draft_outcomes import APPROVED, POLICY
from storage.models import Draft, MentionEmbedding


@dataclass(frozen=True)
class PastReply:
    """An approved reply sent as drafted, and the vector of the mention it answered."""

    draft_id: int
    mention_id: int
    text: str
    template: str
    model_version: str
    vector: npt.NDArray[np.float32]
    created_at: datetime


def unedited(drafted: str, sent: str) -> bool:
    """Sent as drafted: the same words (spacing aside), as approval figures count it."""
    return " ".join(drafted.split()) == " ".join(sent.split())


def approved_replies(
    session: Session,
    *,
    intent: str,
    language: str,
    public: bool,
    since: datetime,
    limit: int,
    exclude_mention_id: int | None = None,
) -> list[PastReply]:
    """The most recent approved replies of this intent, language and kind (public or
    e-mail) that a person sent unedited, answering a mention that has an embedding."""
    query = (
        select(Draft, MentionEmbedding)
        .join(MentionEmbedding, MentionEmbedding.mention_id == Draft.mention_id)  # type: ignore[arg-type]
        .where(col(Draft.status).in_(APPROVED))
        .where(col(Draft.decided_by).is_not(None))
        .where(Draft.decided_by != POLICY)
        .where(Draft.intent == intent)
        .where(Draft.language == language)
        .where(Draft.public == public)
        .where(col(Draft.created_at) >= since)
        .order_by(col(Draft.created_at).desc(), col(Draft.id).desc())
        .limit(limit)
    )
    if exclude_mention_id is not None:
        query = query.where(Draft.mention_id != exclude_mention_id)
    return [
        PastReply(
            draft_id=draft.id or 0,
            mention_id=draft.mention_id or 0,
            text=draft.text,
            template=draft.template,
            model_version=row.model_version,
            vector=np.frombuffer(row.vector, dtype="<f4").astype(np.float32),
            created_at=draft.created_at,
        )
        for draft, row in session.exec(query).all()
        if unedited(draft.drafted_text, draft.text)
    ]
