"""Run one source once: lease, fetch, filter, and store everything in one transaction."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from ascolto.settings import Settings
from listeners.base import Batch, Listener
from listeners.errors import ListenError
from listeners.http import HttpClient
from listeners.registry import listener_class
from storage.db import session_scope
from storage.mentions import NewMention
from storage.models import ListenerRun
from storage.runs import RunCounts, fail_run, finish_run, latest_cursor, start_run
from storage.sources import get_source, lease_owner

log = logging.getLogger("ascolto.listen")


@dataclass
class RunReport:
    """The outcome of one run, for logs, the command line and exit codes."""

    source: str
    status: str
    seen: int = 0
    new: int = 0
    updated: int = 0
    skipped: int = 0
    quarantined: int = 0
    duplicates: int = 0
    duration: float = 0.0
    network_seconds: float = 0.0
    # Orders (order listeners); `new` and `updated` above count them too.
    orders_new: int = 0
    orders_updated: int = 0
    order_events: int = 0
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    items: list[NewMention] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True for a run that fetched successfully (with or without anything new)."""
        return self.status in ("ok", "not_modified", "dry_run")


def run_source(
    settings: Settings,
    engine: Engine,
    name: str,
    *,
    trigger: str = "schedule",
    stop: threading.Event | None = None,
    dry_run: bool = False,
) -> RunReport:
    """Run the named source once and report; failures are recorded, never raised."""
    started = time.monotonic()
    config = settings.source(name)
    stop = stop or threading.Event()
    listener_cls = listener_class(config.kind)
    listener = listener_cls(
        listener_cls.Options.model_validate(config.model_dump()),
        HttpClient(settings.http, stop=stop, allow_private=config.allow_private_addresses),
    )
    owner = lease_owner()
    if dry_run:
        return _dry_run(listener, engine, name, started)
    with session_scope(engine) as session:
        source = get_source(session, name)
        if source is None:
            raise LookupError(f"source {name!r} is not in the database; run `ascolto db upgrade`")
        run = start_run(
            session,
            source,
            owner=owner,
            lease_seconds=settings.scheduler.lease_seconds,
            trigger=trigger,
        )
        cursor = latest_cursor(session, source.id or 0) if run else None
    if run is None:
        report = RunReport(name, "busy", error="another run of this source is in progress")
        _log(report)
        return report
    try:
        batch = listener.fetch(cursor)
    except ListenError as exc:
        return _record_failure(engine, run, owner, name, exc.status, str(exc), started)
    except Exception as exc:  # a listener bug must not stop the other sources
        log.exception("listener %s crashed", name)
        reason = f"unexpected {type(exc).__name__}: {exc}"
        return _record_failure(engine, run, owner, name, "failed", reason, started)
    try:
        counts = _store(engine, run, owner, batch)
    except SQLAlchemyError as exc:
        # Nothing of this run was committed; say so on the run instead of crashing the job.
        log.exception("storing the run of %s failed", name)
        reason = f"could not store the fetched items: {type(exc).__name__}: {exc}"
        return _record_failure(engine, run, owner, name, "failed", reason[:2000], started)
    report = RunReport(
        name,
        run.status,
        seen=run.items_seen,
        new=run.items_new,
        updated=run.items_updated,
        skipped=batch.skipped,
        quarantined=run.items_quarantined,
        duplicates=counts.duplicates,
        duration=time.monotonic() - started,
        network_seconds=listener.http.network_seconds,
        orders_new=counts.orders.new,
        orders_updated=counts.orders.updated,
        order_events=counts.orders.events,
        warnings=batch.warnings,
    )
    _log(report)
    return report


def _store(engine: Engine, run: ListenerRun, owner: str, batch: Batch) -> RunCounts:
    with session_scope(engine) as session:
        session.add(run)
        return finish_run(
            session,
            run,
            owner=owner,
            items=batch.items,
            skipped=batch.skipped,
            cursor=batch.cursor,
            not_modified=batch.not_modified,
            warning="; ".join(batch.warnings) or None,
            quarantined=batch.quarantined,
            orders=batch.orders,
        )


def _dry_run(listener: Listener, engine: Engine, name: str, started: float) -> RunReport:
    with session_scope(engine) as session:
        source = get_source(session, name)
        cursor = latest_cursor(session, source.id or 0) if source else None
    try:
        batch = listener.fetch(cursor)
    except ListenError as exc:
        return RunReport(name, exc.status, error=str(exc), duration=time.monotonic() - started)
    return RunReport(
        name,
        "dry_run",
        seen=len(batch.items) + len(batch.orders) + batch.skipped,
        skipped=batch.skipped,
        items=batch.items,
        warnings=batch.warnings,
        duration=time.monotonic() - started,
    )


def _record_failure(
    engine: Engine,
    run: ListenerRun,
    owner: str,
    name: str,
    status: str,
    reason: str,
    started: float,
) -> RunReport:
    with session_scope(engine) as session:
        session.add(run)
        fail_run(session, run, owner=owner, status=status, error=reason)
    report = RunReport(name, status, error=reason, duration=time.monotonic() - started)
    _log(report)
    return report


def _log(report: RunReport) -> None:
    level = logging.INFO if report.ok else logging.WARNING
    log.log(
        level,
        "run %s",
        report.status,
        extra={
            "source": report.source,
            "status": report.status,
            "seen": report.seen,
            "new": report.new,
            "updated": report.updated,
            "skipped": report.skipped,
            "quarantined": report.quarantined,
            **({"order_events": report.order_events} if report.order_events else {}),
            "duplicates": report.duplicates,
            "duration_ms": round(report.duration * 1000),
            **({"error": report.error} if report.error else {}),
            **({"warning": "; ".join(report.warnings)} if report.warnings else {}),
        },
    )
