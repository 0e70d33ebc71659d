"""Items a listener could not store safely, kept with the reason for an operator to see."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from storage.models import QuarantinedItem

MAX_PAYLOAD = 64_000


@dataclass(frozen=True)
class Rejected:
    """An item that failed validation: its id if known, why, and the raw text of it."""

    reason: str
    payload: str
    external_id: str | None = None


def quarantine(session: Session, *, source_id: int, items: Sequence[Rejected]) -> int:
    """Store rejected items in the caller's transaction; returns how many."""
    for item in items:
        session.add(
            QuarantinedItem(
                source_id=source_id,
                external_id=item.external_id[:500] if item.external_id else None,
                reason=item.reason[:4000],
                payload=item.payload[:MAX_PAYLOAD],
            )
        )
    return len(items)


def list_quarantined(
    session: Session, *, source_id: int | None = None, limit: int = 100
) -> Sequence[QuarantinedItem]:
    """The newest quarantined items first."""
    query = select(QuarantinedItem)
    if source_id is not None:
        query = query.where(QuarantinedItem.source_id == source_id)
    return session.exec(query.order_by(col(QuarantinedItem.id).desc()).limit(limit)).all()
