"""Detection as a scheduled step: after classification, then delivery of what it raised."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import Engine

from ascolto.runtime import jobs
from ascolto.runtime.scheduler import DEFECTS_JOB_ID, DELIVER_JOB_ID, build_scheduler, sync_jobs
from ascolto.settings import use_settings
from storage.types import utcnow
from tests.defects.conftest import World
from tests.outreach.delivery import delivery_toml
from tests.smtpserver import smtp_server

FAR = datetime(2100, 1, 1, tzinfo=UTC)


def test_detection_runs_as_a_job_and_brings_delivery_forward(
    world: World, make_settings: Any, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with smtp_server() as smtp:
        body = delivery_toml(smtp_port=smtp.port).replace(
            "[delivery]\nenabled = false\n", "[delivery]\nenabled = true\ninterval = 3600\n"
        )
        launched = utcnow().date() - timedelta(days=1)
        body += (
            f'[defects]\ninterval = 900\n[[products]]\nname = "Acme Tab 3"\n'
            f'launched_on = "{launched.isoformat()}"\nteam = "ops"\n'
        )
        settings = use_settings(make_settings(body))
        scheduler = build_scheduler(settings, engine, persistent=False)
        sync_jobs(scheduler, settings)
        scheduler.start(paused=True)
        try:
            job = scheduler.get_job(DEFECTS_JOB_ID)
            assert job is not None
            assert isinstance(job.trigger, IntervalTrigger)
            assert job.trigger.interval == timedelta(seconds=900)
            scheduler.modify_job(DELIVER_JOB_ID, next_run_time=FAR)
            monkeypatch.setattr(jobs, "SCHEDULER", [scheduler])

            world.product("Acme Tab 3", launched_on=launched)
            recent = utcnow() - timedelta(hours=6)
            for n in range(5):
                world.complaint(
                    "My tablet's battery drains overnight",
                    theme=0,
                    when=recent + timedelta(hours=n),
                )
            jobs.defects()
            (alert,) = world.alerts()
            moved = scheduler.get_job(DELIVER_JOB_ID)
            assert moved is not None
            assert moved.next_run_time < FAR

            jobs.deliver()
            (mail,) = smtp.received
            assert mail.message["Subject"] == f"[ascolto] {alert.title}"
            jobs.deliver()
            assert len(smtp.received) == 1

            off = make_settings(body.replace("[defects]\n", "[defects]\nenabled = false\n"))
            sync_jobs(scheduler, off)
            assert scheduler.get_job(DEFECTS_JOB_ID) is None
            assert scheduler.get_job(DELIVER_JOB_ID) is not None
        finally:
            scheduler.shutdown(wait=False)
