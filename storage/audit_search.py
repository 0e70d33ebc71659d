"""The audit log as the web app pages through it: newest first, filtered, by id."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, col, select

from storage.models import AuditEvent


def audit_events(
    session: Session,
    *,
    actor: str | None = None,
    action: str | None = None,
    subject_type: str | None = None,
    subject_id: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> Sequence[AuditEvent]:
    """Audit events, newest first; `action` matches a prefix (e.g. `alert.`)."""
    query: Any = select(AuditEvent)
    if actor:
        query = query.where(col(AuditEvent.actor) == actor)
    if action:
        escaped = action.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(col(AuditEvent.action).like(f"{escaped}%", escape="\\"))
    if subject_type:
        query = query.where(col(AuditEvent.subject_type) == subject_type)
    if subject_id:
        query = query.where(col(AuditEvent.subject_id) == subject_id)
    if before_id is not None:
        query = query.where(col(AuditEvent.id) < before_id)
    found: Sequence[AuditEvent] = session.exec(
        query.order_by(col(AuditEvent.id).desc()).limit(limit)
    ).all()
    return found
