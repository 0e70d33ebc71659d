"""The retention job: personal data past its age (`[privacy]` settings) is deleted or
anonymised, in short transactions; the figures keep every row they count."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ascolto.settings import Settings
from storage import audit
from storage import retention as store
from storage.db import session_scope
from storage.models import Source
from storage.types import utcnow

log = logging.getLogger(__name__)

BATCH = 500


@dataclass
class RetentionReport:
    """Rows changed per kind of data in one run."""

    done: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, count: int) -> None:
        if count:
            self.done[kind] = self.done.get(kind, 0) + count


def apply_retention(
    settings: Settings,
    engine: Engine,
    *,
    now: datetime | None = None,
    stop: threading.Event | None = None,
) -> RetentionReport:
    """Delete or anonymise what is older than its configured age."""
    now = now or utcnow()
    ages = settings.privacy
    report = RetentionReport()

    def days(n: float) -> datetime:
        return now - timedelta(days=n)

    with Session(engine) as session:
        sources = {s.name: s.id or 0 for s in session.exec(select(Source)).all()}
    unknown = sorted(set(ages.source_mention_days) - set(sources))
    if unknown:
        log.warning("privacy.source_mention_days names unknown sources: %s", ", ".join(unknown))
    special = {sources[n]: d for n, d in ages.source_mention_days.items() if n in sources}
    groups: list[tuple[list[int] | None, float]] = [([i], d) for i, d in sorted(special.items())]
    others = [i for i in sources.values() if i not in special]
    groups.append((others if special else None, ages.mention_days))
    for source_ids, age in groups:
        if source_ids == []:
            continue
        while not (stop and stop.is_set()):
            with session_scope(engine) as session:
                ids = store.written_before(
                    session, before=days(age), source_ids=source_ids, limit=BATCH
                )
                leave_clusters(session, settings, store.in_clusters(session, ids))
                report.add("mentions", store.withdraw_everywhere(session, ids, now=now))
            if len(ids) < BATCH:
                break
    steps: tuple[tuple[str, Callable[[Session], int]], ...] = (
        ("survey comments", lambda s: _survey(s, days(ages.survey_comment_days), now)),
        ("drafts", lambda s: store.clear_drafts(s, before=days(ages.draft_days), limit=BATCH)),
        (
            "outbox messages",
            lambda s: store.clear_outbox(s, before=days(ages.outbox_days), now=now, limit=BATCH),
        ),
        (
            "customers without orders",
            lambda s: store.drop_customers_without_orders(
                s, before=days(ages.customer_days), limit=BATCH
            ),
        ),
        ("authors", lambda s: store.drop_lone_authors(s, limit=BATCH)),
        ("logs", lambda s: store.clear_logs(s, before=days(ages.log_days), limit=BATCH)),
    )
    for kind, step in steps:
        while not (stop and stop.is_set()):
            with session_scope(engine) as session:
                count = step(session)
            report.add(kind, count)
            if count < BATCH:
                break
    if report.done:
        with session_scope(engine) as session:
            # How many rows of each kind: never which.
            audit.record(
                session,
                actor="retention",
                action="privacy.retention",
                details=dict(sorted(report.done.items())),
            )
        log.info("retention: %s", ", ".join(f"{k} {n}" for k, n in report.done.items()))
    return report


def _survey(session: Session, before: datetime, now: datetime) -> int:
    count, mentions = store.clear_survey_comments(session, before=before, limit=BATCH)
    store.withdraw_everywhere(session, mentions, now=now)
    return count


def leave_clusters(
    session: Session, settings: Settings, mention_ids: list[int], *, by: str = "retention"
) -> None:
    """Take old complaints out of defect clusters while their vectors still exist."""
    if not mention_ids:
        return
    from ascolto.defects.detection import withdraw_complaint

    for mention_id in mention_ids:
        withdraw_complaint(session, settings, mention_id, leave=lambda _n: True, by=by)
