"""What a product team does with a defect cluster besides acknowledging, dismissing and
resolving its alerts (`ascolto.defects.detection`): snooze its notifications until a date, link it
to the ticket where the fix is tracked. Every change leaves an AuditEvent.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy.engine import Engine
from sqlmodel import Session

from storage import audit
from storage.db import session_scope
from storage.defects import get_cluster
from storage.models import DefectCluster
from storage.types import utcnow

MAX_URL = 2000


class LifecycleError(ValueError):
    """A snooze or a ticket link that cannot be: a date in the past, a link that is none."""


def snooze(
    engine: Engine,
    cluster_id: int,
    until: datetime | None,
    *,
    by: str,
    reason: str | None = None,
    now: datetime | None = None,
) -> DefectCluster:
    """Hold the cluster's notifications until `until` (None: wake it now)."""
    when = now or utcnow()
    if until is not None:
        if until.tzinfo is None:
            raise LifecycleError("the snooze date needs a time zone (UTC)")
        if until <= when:
            raise LifecycleError(f"snooze until {until.isoformat()}: that is not in the future")
    with session_scope(engine) as session:
        cluster = _cluster(session, cluster_id)
        before = cluster.snoozed_until
        cluster.snoozed_until = until
        cluster.updated_at = when
        session.add(cluster)
        audit.record(
            session,
            actor=by,
            action="defect_cluster.snooze" if until else "defect_cluster.wake",
            subject_type="defect_cluster",
            subject_id=cluster_id,
            details={
                "from": before.isoformat() if before else None,
                "to": until.isoformat() if until else None,
                "reason": reason,
            },
        )
    return _fresh(engine, cluster_id)


def link_ticket(
    engine: Engine, cluster_id: int, url: str | None, *, by: str, now: datetime | None = None
) -> DefectCluster:
    """Link the cluster to the page where its fix is tracked (None or "": unlink)."""
    url = (url or "").strip() or None
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > MAX_URL:
            raise LifecycleError(
                f"ticket {url[:80]!r}: expected an http(s) address of at most {MAX_URL} characters"
            )
    with session_scope(engine) as session:
        cluster = _cluster(session, cluster_id)
        before = cluster.ticket_url
        cluster.ticket_url = url
        cluster.updated_at = now or utcnow()
        session.add(cluster)
        audit.record(
            session,
            actor=by,
            action="defect_cluster.ticket",
            subject_type="defect_cluster",
            subject_id=cluster_id,
            details={"from": before, "to": url},
        )
    return _fresh(engine, cluster_id)


def _cluster(session: Session, cluster_id: int) -> DefectCluster:
    cluster = get_cluster(session, cluster_id)
    if cluster is None:
        raise LookupError(f"no defect cluster {cluster_id}")
    return cluster


def _fresh(engine: Engine, cluster_id: int) -> DefectCluster:
    with Session(engine) as session:
        return _cluster(session, cluster_id)
