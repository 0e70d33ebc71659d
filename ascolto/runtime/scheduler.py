"""The in-process scheduler: APScheduler 3.x with its jobs kept in ascolto's database."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import Engine

from ascolto.settings import Settings
from storage.types import utcnow

log = logging.getLogger(__name__)

JOB_PREFIX = "listen:"
LISTEN_JOB = "ascolto.runtime.jobs:listen"
CLASSIFY_JOB = "ascolto.runtime.jobs:classify"
CLASSIFY_JOB_ID = "classify"
DELIVER_JOB = "ascolto.runtime.jobs:deliver"
DELIVER_JOB_ID = "deliver"
DRAFT_JOB = "ascolto.runtime.jobs:draft"
DRAFT_JOB_ID = "draft"
DEFECTS_JOB = "ascolto.runtime.jobs:defects"
DEFECTS_JOB_ID = "defects"
CAMPAIGNS_JOB = "ascolto.runtime.jobs:campaigns"
CAMPAIGNS_JOB_ID = "campaigns"
RETENTION_JOB = "ascolto.runtime.jobs:retention"
RETENTION_JOB_ID = "retention"
RECHECK_JOB = "ascolto.runtime.jobs:recheck"
RECHECK_JOB_ID = "recheck"
# Check-ins are due within send windows hours long: a pass every two minutes is on time.
CAMPAIGNS_INTERVAL = 120


class _Scheduler(BackgroundScheduler):  # type: ignore[misc]
    """APScheduler 3.x looks for due jobs once more after `shutdown()`: it submits them to
    the stopped executors, which fails, and stores their next run one interval later, so a
    run due at shutdown was skipped after the restart. Stopped means stopped."""

    def _process_jobs(self) -> float | None:
        if self.state == STATE_STOPPED:
            return None
        return super()._process_jobs()  # type: ignore[no-any-return]


def build_scheduler(
    settings: Settings, engine: Engine, *, persistent: bool = True
) -> BackgroundScheduler:
    """A scheduler whose job defaults are set once: no overlap, coalesced catch-up.

    `persistent` keeps the jobs in the database (the service); a temporary scheduler for a
    subset of sources keeps them in memory so it never rewrites the service's schedule.
    """
    # Listener runs, plus one thread for the classification step.
    workers = max(1, min(8, len(settings.sources))) + int(settings.classify.enabled)
    workers += int(settings.delivery.enabled)
    workers += int(settings.outreach.enabled)
    workers += int(settings.defects.enabled)
    workers += int(campaigns_wanted(settings))
    workers += int(settings.privacy.retention) + int(settings.privacy.recheck)
    store = SQLAlchemyJobStore(engine=engine) if persistent else MemoryJobStore()
    scheduler = _Scheduler(
        jobstores={"default": store},
        executors={"default": ThreadPoolExecutor(max_workers=workers)},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": settings.scheduler.misfire_grace_time,
        },
        timezone="UTC",
    )
    scheduler.add_listener(_on_problem, EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    return scheduler


def sync_jobs(scheduler: BackgroundScheduler, settings: Settings) -> None:
    """One job per enabled source, by name; jobs of removed or disabled sources go.

    A source whose job survives a restart keeps its next run time, so a restart neither
    skips a due run nor hammers every source at once.
    """
    from listeners.registry import listener_class

    # Kinds that receive pushes (webhooks) have nothing to poll.
    wanted = {
        f"{JOB_PREFIX}{s.name}": s
        for s in settings.sources
        if s.enabled and listener_class(s.kind).polled
    }
    for job in scheduler.get_jobs():
        if job.id.startswith(JOB_PREFIX) and job.id not in wanted:
            scheduler.remove_job(job.id)
    for job_id, source in wanted.items():
        trigger = IntervalTrigger(seconds=source.interval, timezone="UTC")
        existing = scheduler.get_job(job_id)
        unchanged = (
            existing is not None
            and isinstance(existing.trigger, IntervalTrigger)
            and existing.trigger.interval == timedelta(seconds=source.interval)
        )
        next_run = existing.next_run_time if unchanged and existing else utcnow()
        scheduler.add_job(
            LISTEN_JOB,
            trigger=trigger,
            args=[source.name],
            id=job_id,
            name=f"listen {source.name}",
            replace_existing=True,
            next_run_time=next_run,
        )
    for step in steps(settings):
        _sync_step(scheduler, step)


@dataclass(frozen=True)
class Step:
    """A pipeline step after listening: its job id, what it calls, and how often."""

    job_id: str
    func_ref: str
    name: str
    enabled: bool
    interval: float


def campaigns_wanted(settings: Settings) -> bool:
    """Whether the campaigns step runs: campaigns in the settings file, or outreach or
    delivery on, since campaigns saved in the web app live only in the database."""
    return bool(settings.campaigns) or settings.outreach.enabled or settings.delivery.enabled


def steps(settings: Settings) -> list[Step]:
    """Every step with its interval; the Celery beat schedule is built from the same list.

    Defect detection also runs right after each classification run that stored labels.
    """
    return [
        Step(
            CLASSIFY_JOB_ID,
            CLASSIFY_JOB,
            "classify mentions",
            settings.classify.enabled,
            settings.classify.interval,
        ),
        Step(
            DEFECTS_JOB_ID,
            DEFECTS_JOB,
            "detect defect clusters",
            settings.defects.enabled,
            settings.defects.interval,
        ),
        Step(
            DRAFT_JOB_ID,
            DRAFT_JOB,
            "draft replies",
            settings.outreach.enabled,
            settings.outreach.interval,
        ),
        Step(
            DELIVER_JOB_ID,
            DELIVER_JOB,
            "deliver the outbox",
            settings.delivery.enabled,
            settings.delivery.interval,
        ),
        Step(
            CAMPAIGNS_JOB_ID,
            CAMPAIGNS_JOB,
            "check-in campaigns",
            campaigns_wanted(settings),
            CAMPAIGNS_INTERVAL,
        ),
        Step(
            RETENTION_JOB_ID,
            RETENTION_JOB,
            "retention of personal data",
            settings.privacy.retention,
            settings.privacy.retention_interval,
        ),
        Step(
            RECHECK_JOB_ID,
            RECHECK_JOB,
            "re-check mentions at their sources",
            settings.privacy.recheck,
            settings.privacy.recheck_interval,
        ),
    ]


def _sync_step(scheduler: BackgroundScheduler, step: Step) -> None:
    """Add, update or remove one step's job; an unchanged interval keeps its next run."""
    existing = scheduler.get_job(step.job_id)
    if not step.enabled:
        if existing is not None:
            scheduler.remove_job(step.job_id)
        return
    unchanged = (
        existing is not None
        and isinstance(existing.trigger, IntervalTrigger)
        and existing.trigger.interval == timedelta(seconds=step.interval)
    )
    scheduler.add_job(
        step.func_ref,
        trigger=IntervalTrigger(seconds=step.interval, timezone="UTC"),
        id=step.job_id,
        name=step.name,
        replace_existing=True,
        next_run_time=existing.next_run_time if unchanged and existing else utcnow(),
    )


def _on_problem(event: JobExecutionEvent) -> None:
    if event.exception is not None:
        log.error("job %s raised %r", event.job_id, event.exception)
    else:
        log.warning("job %s missed its run time %s", event.job_id, event.scheduled_run_time)
