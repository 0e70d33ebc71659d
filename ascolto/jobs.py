"""Functions the scheduler calls by reference ("ascolto.jobs:listen"), never pickled objects."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from ascolto.database import engine_for
from ascolto.runner import run_source
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
    from ascolto.classifying import classify_pending

    if STOP.is_set():
        return
    settings = get_settings()
    classify_pending(settings, engine_for(settings), stop=STOP)


def classify_soon() -> None:
    """Move the scheduled classification run to now (a no-op without a scheduler)."""
    from apscheduler.jobstores.base import JobLookupError

    from storage.types import utcnow

    for scheduler in SCHEDULER:
        with contextlib.suppress(JobLookupError):
            scheduler.modify_job(CLASSIFY_JOB_ID, next_run_time=utcnow())
