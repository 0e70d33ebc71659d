"""The embedded mode's pipeline moves on events: stored mentions are classified, and the
complaints among them drafted, without waiting for either step's own interval."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from ascolto import settings as settings_module
from ascolto.database import prepare
from ascolto.runtime import jobs
from ascolto.runtime.scheduler import build_scheduler, sync_jobs
from ascolto.settings import use_settings
from storage.models import Classification, Draft
from storage.types import utcnow
from tests.conftest import rss_source
from tests.distributed.cluster import wait_for
from tests.distributed.conftest import rss
from tests.feedserver import FeedServer, Reply

HOUR = 3600


@pytest.fixture(autouse=True)
def _process_state() -> Iterator[None]:
    """Leave the process-wide settings, stop flag and scheduler as they were."""
    saved = list(settings_module._current)
    schedulers = list(jobs.SCHEDULER)
    jobs.STOP.clear()
    yield
    jobs.STOP.clear()
    jobs.SCHEDULER[:] = schedulers
    settings_module._current[:] = saved


def count(engine: Engine, model: type) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def test_stored_complaints_are_drafted_before_any_step_is_due(
    make_settings: Any, server: FeedServer
) -> None:
    url = server.route("/forum.rss", Reply(body=rss(6)))
    settings = use_settings(
        make_settings(
            f"[classify]\ninterval = {HOUR}\nbatch_size = 2\n\n"
            f"[outreach]\nenabled = true\ninterval = {HOUR}\n\n"
            "[delivery]\nenabled = false\n\n[defects]\nenabled = false\n\n"
            + rss_source("forum", url, interval=HOUR)
        )
    )
    engine = prepare(settings)
    scheduler = build_scheduler(settings, engine, persistent=False)
    sync_jobs(scheduler, settings)
    # Only the source is due now; classification and drafting are an hour away, so
    # whatever of them happens below was set off by the mentions being stored.
    later = utcnow() + timedelta(seconds=HOUR)
    for step in (jobs.CLASSIFY_JOB_ID, jobs.DRAFT_JOB_ID, jobs.CAMPAIGNS_JOB_ID):
        if scheduler.get_job(step) is not None:
            scheduler.modify_job(step, next_run_time=later)
    jobs.SCHEDULER[:] = [scheduler]
    scheduler.start()
    try:
        wait_for("every mention labelled", lambda: count(engine, Classification) == 6, 300, 0.2)
        wait_for("drafts of the complaints", lambda: count(engine, Draft) > 0, 120, 0.2)
    finally:
        jobs.STOP.set()
        scheduler.shutdown(wait=True)
    assert len(server.hits("/forum.rss")) == 1
