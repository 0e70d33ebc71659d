"""The audit trail: one row per run and per change, with who and when."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from storage.models import AuditEvent


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    subject_type: str | None = None,
    subject_id: str | int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the session's transaction."""
    event = AuditEvent(
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=None if subject_id is None else str(subject_id),
        details=details or {},
    )
    session.add(event)
    return event


def recent(
    session: Session, *, action: str | None = None, since: datetime | None = None, limit: int = 100
) -> Sequence[AuditEvent]:
    """The newest audit events first."""
    query = select(AuditEvent)
    if action:
        query = query.where(AuditEvent.action == action)
    if since:
        query = query.where(col(AuditEvent.at) >= since)
    return session.exec(query.order_by(col(AuditEvent.id).desc()).limit(limit)).all()
