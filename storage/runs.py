"""Listener runs: start under a lease, finish in one transaction with mentions and cursor."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from storage import audit
from storage.mentions import IngestCounts, NewMention, count_by_source, ingest
from storage.models import ListenerRun, Source
from storage.orders import NewOrder, OrderCounts, orders_by_source, upsert_orders
from storage.quarantine import Rejected, quarantine
from storage.sources import _owner_is_dead, acquire_lease, release_lease
from storage.types import utcnow

FINISHED_OK = ("ok", "not_modified")


@dataclass
class RunCounts(IngestCounts):
    """The mention counts of a run, plus what it did to orders."""

    orders: OrderCounts = field(default_factory=OrderCounts)


def start_run(
    session: Session, source: Source, *, owner: str, lease_seconds: int, trigger: str
) -> ListenerRun | None:
    """Take the source's lease and open a run; None when another run holds the lease."""
    if not acquire_lease(session, source, owner=owner, seconds=lease_seconds):
        return None
    run = ListenerRun(source_id=source.id or 0, trigger=trigger)
    session.add(run)
    session.flush()
    return run


def latest_cursor(session: Session, source_id: int) -> dict[str, Any] | None:
    """The cursor of the newest successful run of a source."""
    run = session.exec(
        select(ListenerRun)
        .where(ListenerRun.source_id == source_id)
        .where(col(ListenerRun.status).in_(FINISHED_OK))
        .where(col(ListenerRun.cursor).is_not(None))
        .order_by(col(ListenerRun.id).desc())
        .limit(1)
    ).first()
    return run.cursor if run else None


def finish_run(
    session: Session,
    run: ListenerRun,
    *,
    owner: str,
    items: Sequence[NewMention],
    skipped: int,
    cursor: dict[str, Any] | None,
    not_modified: bool = False,
    warning: str | None = None,
    quarantined: Sequence[Rejected] = (),
    orders: Sequence[NewOrder] = (),
) -> RunCounts:
    """Store the mentions and orders, the run's outcome and its new cursor; the caller
    commits once."""
    ingested = ingest(session, source_id=run.source_id, items=items)
    counts = RunCounts(**{f.name: getattr(ingested, f.name) for f in fields(IngestCounts)})
    if orders:
        counts.orders = upsert_orders(session, source_id=run.source_id, orders=orders)
    run.items_quarantined = quarantine(session, source_id=run.source_id, items=quarantined)
    run.status = "not_modified" if not_modified else "ok"
    run.finished_at = utcnow()
    run.items_seen = len(items) + len(orders) + skipped
    run.items_new = counts.new + counts.orders.new
    run.items_updated = counts.updated + counts.orders.updated
    run.items_skipped = skipped
    run.cursor = cursor
    run.warning = warning
    session.add(run)
    release_lease(session, run.source_id, owner=owner)
    _audit(session, run, counts.orders.as_dict() if orders else {})
    return counts


def fail_run(session: Session, run: ListenerRun, *, owner: str, status: str, error: str) -> None:
    """Record a failed or blocked run with its reason; nothing stored is touched."""
    run.status = status
    run.finished_at = utcnow()
    run.error = error[:4000]
    session.add(run)
    release_lease(session, run.source_id, owner=owner)
    _audit(session, run)


def _audit(session: Session, run: ListenerRun, extra: dict[str, Any] | None = None) -> None:
    """Every run, however it ended, leaves one `listener.run` audit event."""
    audit.record(
        session,
        actor="listener",
        action="listener.run",
        subject_type="source",
        subject_id=run.source_id,
        details=_run_details(run) | (extra or {}),
    )


def _run_details(run: ListenerRun) -> dict[str, Any]:
    return {
        "run_id": run.id,
        "status": run.status,
        "trigger": run.trigger,
        "seen": run.items_seen,
        "new": run.items_new,
        "updated": run.items_updated,
        "skipped": run.items_skipped,
        "quarantined": run.items_quarantined,
        "error": run.error,
        "warning": run.warning,
    }


def close_interrupted_runs(session: Session) -> int:
    """Mark runs left `running` by a process that died as `interrupted`; returns how many."""
    now = utcnow()
    closed = 0
    stale = session.exec(
        select(ListenerRun, Source)
        .join(Source, col(Source.id) == ListenerRun.source_id)
        .where(ListenerRun.status == "running")
    ).all()
    for run, source in stale:
        lease_gone = source.lease_until is None or source.lease_until < now
        if lease_gone or _owner_is_dead(source.lease_owner):
            run.status = "interrupted"
            run.finished_at = now
            run.error = "the process running it stopped before the run finished"
            session.add(run)
            if source.lease_owner:
                release_lease(session, source.id or 0, owner=source.lease_owner)
            _audit(session, run)
            closed += 1
    return closed


@dataclass(frozen=True)
class SourceHealth:
    """A source's state as the operator sees it."""

    name: str
    kind: str
    enabled: bool
    last_started: datetime | None
    last_finished: datetime | None
    last_status: str | None
    last_error: str | None
    last_new: int | None
    mentions: int
    orders: int
    consecutive_failures: int
    last_success: datetime | None

    @property
    def stored(self) -> str:
        """What the source has stored, in its own unit: mentions or orders."""
        if self.orders and not self.mentions:
            return f"{self.orders} orders"
        return str(self.mentions)

    @property
    def working(self) -> str:
        """`working`, `failing`, `blocked`, `running`, `interrupted` or `never run`."""
        if self.last_status is None:
            return "never run"
        if self.last_status in FINISHED_OK:
            return "working"
        if self.last_status in ("blocked", "running", "interrupted"):
            return self.last_status
        return "failing"


def source_health(session: Session, *, recent: int = 20) -> list[SourceHealth]:
    """Last run, failures in a row and stored mentions for every known source."""
    counts = count_by_source(session)
    orders = orders_by_source(session)
    report = []
    for source in session.exec(select(Source).order_by(col(Source.name))).all():
        runs = session.exec(
            select(ListenerRun)
            .where(ListenerRun.source_id == source.id)
            .order_by(col(ListenerRun.id).desc())
            .limit(recent)
        ).all()
        last = runs[0] if runs else None
        failures = 0
        for run in runs:
            if run.status in FINISHED_OK:
                break
            # A run still going, or cut short by a stop, says nothing about the source.
            if run.status not in ("running", "interrupted"):
                failures += 1
        success = next((r for r in runs if r.status in FINISHED_OK), None)
        report.append(
            SourceHealth(
                name=source.name,
                kind=source.kind,
                enabled=source.enabled,
                last_started=last.started_at if last else None,
                last_finished=last.finished_at if last else None,
                last_status=last.status if last else None,
                last_error=(last.error or last.warning) if last else None,
                last_new=last.items_new if last and last.status in FINISHED_OK else None,
                mentions=counts.get(source.id or 0, 0),
                orders=orders.get(source.id or 0, 0),
                consecutive_failures=failures,
                last_success=success.finished_at if success else None,
            )
        )
    return report
