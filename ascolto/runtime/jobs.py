"""Functions the scheduler calls by reference ("ascolto.runtime.jobs:listen"), never pickled
objects."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from ascolto.database import engine_for
from ascolto.runtime.runner import run_source
from ascolto.settings import get_settings

# Set when the process is asked to stop: runs give up at their next wait instead of
# starting new requests, and nothing half-written is committed.
STOP = threading.Event()

# The running scheduler, when there is one: a listener run that stored new mentions asks
# it to classify them now instead of at the next interval.
SCHEDULER: list[Any] = []
CLASSIFY_JOB_ID = "classify"


def listen(name: str) -> None:
    """Run one source once, as the scheduler does at each interval."""
    if STOP.is_set():
        return
    settings = get_settings()
    report = run_source(settings, engine_for(settings), name, trigger="schedule", stop=STOP)
    if report.new and settings.classify.enabled:
        classify_soon()


def classify() -> None:
    """Label the mentions that have no labels from the current model."""
    from classify.classifying import ClassifyReport, classify_pending

    if STOP.is_set():
        return
    settings = get_settings()
    drafted_from = [0]

    def chunk_stored(report: ClassifyReport) -> None:
        # Each committed chunk's replies are drafted now, beside the chunks still to come
        # (by another worker, in the distributed mode), not after the whole backlog.
        if settings.outreach.enabled and report.done > drafted_from[0]:
            drafted_from[0] = report.done
            draft_soon()

    report = classify_pending(settings, engine_for(settings), stop=STOP, progress=chunk_stored)
    if report.classified + report.copied and settings.defects.enabled:
        defects_soon()


def classify_soon() -> None:
    """Move the scheduled classification run to now (a no-op without a scheduler)."""
    from apscheduler.jobstores.base import JobLookupError

    from storage.types import utcnow

    for scheduler in SCHEDULER:
        with contextlib.suppress(JobLookupError):
            scheduler.modify_job(CLASSIFY_JOB_ID, next_run_time=utcnow())


DELIVER_JOB_ID = "deliver"


def deliver() -> None:
    """Enqueue notifications of new alerts, then deliver the outbox's due messages."""
    from ascolto.defects.alerting import notify_alerts
    from outreach.outbox import deliver_due

    if STOP.is_set():
        return
    settings = get_settings()
    engine = engine_for(settings)
    try:
        notify_alerts(settings, engine)
    finally:
        # A problem with alerts must not hold back replies waiting in the outbox.
        deliver_due(settings, engine, stop=STOP)


def deliver_soon() -> None:
    """Move the scheduled delivery pass to now (a no-op without a scheduler), e.g. after
    an alert was raised or a reply approved."""
    from apscheduler.jobstores.base import JobLookupError

    from storage.types import utcnow

    for scheduler in SCHEDULER:
        with contextlib.suppress(JobLookupError):
            scheduler.modify_job(DELIVER_JOB_ID, next_run_time=utcnow())


DRAFT_JOB_ID = "draft"


def draft() -> None:
    """Draft replies to the classified mentions that call for one and have no draft yet."""
    from outreach.drafting import draft_pending

    if STOP.is_set():
        return
    settings = get_settings()
    draft_pending(settings, engine_for(settings), stop=STOP)


def draft_soon() -> None:
    """Move the scheduled drafting run to now (a no-op without a scheduler)."""
    from apscheduler.jobstores.base import JobLookupError

    from storage.types import utcnow

    for scheduler in SCHEDULER:
        with contextlib.suppress(JobLookupError):
            scheduler.modify_job(DRAFT_JOB_ID, next_run_time=utcnow())


DEFECTS_JOB_ID = "defects"


def defects() -> None:
    """Group the complaints classified since the last run into defect clusters; alert."""
    from ascolto.defects.detection import detect_defects

    if STOP.is_set():
        return
    settings = get_settings()
    report = detect_defects(settings, engine_for(settings), stop=STOP)
    if report.alerts and settings.delivery.enabled:
        deliver_soon()


def defects_soon() -> None:
    """Move the scheduled defect detection to now (a no-op without a scheduler)."""
    from apscheduler.jobstores.base import JobLookupError

    from storage.types import utcnow

    for scheduler in SCHEDULER:
        with contextlib.suppress(JobLookupError):
            scheduler.modify_job(DEFECTS_JOB_ID, next_run_time=utcnow())


CAMPAIGNS_JOB_ID = "campaigns"


def campaigns() -> None:
    """Plan post-purchase check-ins, send the due ones, and act on survey answers."""
    from outreach.campaigns.job import run_campaigns

    if STOP.is_set():
        return
    settings = get_settings()
    run = run_campaigns(settings, engine_for(settings), stop=STOP)
    if run.sent_total and settings.delivery.enabled:
        deliver_soon()


def campaigns_soon() -> None:
    """Move the scheduled campaigns run to now (a no-op without a scheduler), e.g. after a
    survey answer, so an unhappy customer's follow-up draft is not kept waiting."""
    from apscheduler.jobstores.base import JobLookupError

    from storage.types import utcnow

    for scheduler in SCHEDULER:
        with contextlib.suppress(JobLookupError):
            scheduler.modify_job(CAMPAIGNS_JOB_ID, next_run_time=utcnow())


def retention() -> None:
    """Delete or anonymise personal data past its configured age."""
    from ascolto.privacy.retention import apply_retention

    if STOP.is_set():
        return
    settings = get_settings()
    apply_retention(settings, engine_for(settings), stop=STOP)


def recheck() -> None:
    """Ask the sources again about recent mentions: deleted, private or edited."""
    from ascolto.privacy.recheck import recheck_sources

    if STOP.is_set():
        return
    settings = get_settings()
    report = recheck_sources(settings, engine_for(settings), stop=STOP)
    if report.edited and settings.classify.enabled:
        classify_soon()  # edited posts get fresh labels now
