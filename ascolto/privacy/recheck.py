"""Honouring deletions at the sources: recent mentions are asked about again.

A post deleted or made private at its source is withdrawn here (its words, link and author
removed, its row kept out of the counts as a deleted mention), within one re-check
interval; an edited post gets its new text, and the classifier labels it again. Mentions a
listener saw deleted in its own listings are withdrawn by the same run.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ascolto.privacy.retention import leave_clusters
from ascolto.settings import Settings, SourceSettings
from listeners.base import StoredMention
from listeners.errors import ListenError
from listeners.registry import listener_class
from storage import retention as store
from storage.db import session_scope
from storage.mentions import ingest
from storage.models import Mention, Source
from storage.types import utcnow

log = logging.getLogger(__name__)

BATCH = 500


@dataclass
class RecheckReport:
    """What one re-check run found, per source, and what it could not read."""

    checked: dict[str, int] = field(default_factory=dict)
    withdrawn: dict[str, int] = field(default_factory=dict)
    edited: dict[str, int] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)


def recheck_sources(
    settings: Settings,
    engine: Engine,
    *,
    now: datetime | None = None,
    stop: threading.Event | None = None,
) -> RecheckReport:
    """Ask every source that can tell about its recent mentions; withdraw the deleted."""
    now = now or utcnow()
    report = RecheckReport()
    with Session(engine) as session:
        ids = {s.name: s.id or 0 for s in session.exec(select(Source)).all()}
    for source in settings.sources:
        if stop is not None and stop.is_set():
            break
        if not source.enabled or source.name not in ids:
            continue
        if not listener_class(source.kind).rechecks:
            continue
        try:
            recheck_source(settings, engine, source, ids[source.name], now=now, report=report)
        except ListenError as exc:
            # Unknown is not "still there": the next run asks again.
            report.problems[source.name] = str(exc)
            log.warning("re-check of %s failed: %s", source.name, exc)
    withdraw_deleted(settings, engine, now=now, report=report)
    return report


def recheck_source(
    settings: Settings,
    engine: Engine,
    source: SourceSettings,
    source_id: int,
    *,
    now: datetime,
    report: RecheckReport,
) -> None:
    """Re-check one source's recent mentions and apply what it says."""
    since = now - timedelta(days=settings.privacy.recheck_days)
    with Session(engine) as session:
        rows = store.to_recheck(
            session, source_id=source_id, since=since, limit=settings.privacy.recheck_limit
        )
    if not rows:
        return
    asked = [StoredMention(m.external_id, m.url, m.published_at, dict(m.extra or {})) for m in rows]
    listener = listener_class(source.kind).from_settings(source, settings)
    results = listener.recheck(asked)
    report.checked[source.name] = len(results)
    by_external = {m.external_id: m.id or 0 for m in rows}
    gone = [by_external[r.external_id] for r in results if r.status != "present"]
    present = [r.item for r in results if r.status == "present" and r.item is not None]
    with session_scope(engine) as session:
        counts = ingest(session, source_id=source_id, items=present)
        for mention in session.exec(select(Mention).where(Mention.id.in_(gone))).all():  # type: ignore[union-attr]
            mention.deleted_at = now
            session.add(mention)
    if counts.updated:
        report.edited[source.name] = counts.updated
        log.info("re-check of %s: %d edited at the source", source.name, counts.updated)
    if gone:
        log.info("re-check of %s: %d deleted or private at the source", source.name, len(gone))


def withdraw_deleted(
    settings: Settings, engine: Engine, *, now: datetime, report: RecheckReport
) -> None:
    """Withdraw the words of every mention seen deleted at its source."""
    while True:
        with session_scope(engine) as session:
            ids = store.deleted_not_withdrawn(session, limit=BATCH)
            leave_clusters(session, settings, store.in_clusters(session, ids), by="recheck")
            done = store.withdraw_everywhere(session, ids, now=now)
        if done:
            report.withdrawn["all"] = report.withdrawn.get("all", 0) + done
        if len(ids) < BATCH:
            break
