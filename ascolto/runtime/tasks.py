"""Distributed mode: every step of `ascolto.runtime.jobs` as a Celery task, on many workers.

The tasks call the same job functions as the in-process scheduler. Delivery is at least
once (`acks_late`, `reject_on_worker_lost`): a task whose worker died runs again on
another. That is safe because every step is idempotent at the row level (unique keys on
mentions, labels, drafts and outbox messages; the outbox claims each message before
sending it). Classification and drafting claim their rows chunk by chunk, so any number
of workers run them at once on different mentions; the other steps take a PostgreSQL
advisory lock for their unit of work (one source, or the whole step) so two workers
never run it at the same time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from celery import Celery, Task, signals
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from ascolto.database import engine_for
from ascolto.runtime import jobs
from ascolto.runtime.beat_schedule import STEP_TASKS, beat_schedule
from ascolto.runtime.locks import step_lock
from ascolto.settings import Settings, get_settings
from storage.errors import SettingsError

log = logging.getLogger(__name__)

app = Celery("ascolto", set_as_current=False)

# A busy step's task tries again this many times, then leaves the work to the run in
# progress (which reads what is pending until there is none) and to the next beat.
BUSY_RETRIES = 3
# Database errors (a dropped connection) are retried this many times.
DATABASE_RETRIES = 5


def check_distributed(settings: Settings) -> None:
    """Refuse settings the distributed mode cannot run with, naming the key to change."""
    if not settings.broker.url:
        raise SettingsError(
            "broker.url is not set: set ASCOLTO_BROKER_URL (e.g. redis://127.0.0.1:6379/0 or "
            "amqp://guest:guest@127.0.0.1:5672//) to run workers"
        )
    if make_url(settings.database.url).get_backend_name() != "postgresql":
        raise SettingsError(
            "database.url must be PostgreSQL in the distributed mode (workers on several "
            "machines share it): set ASCOLTO_DATABASE_URL=postgresql+psycopg://…"
        )


def configure(settings: Settings) -> Celery:
    """Point the Celery app at the configured broker, with the schedule from the settings."""
    check_distributed(settings)
    broker = settings.broker
    app.conf.update(
        broker_url=broker.url,
        broker_connection_retry_on_startup=True,
        # Keep reconnecting through a broker restart instead of giving up.
        broker_connection_max_retries=None,
        broker_transport_options={"visibility_timeout": broker.visibility_timeout},
        task_default_queue=broker.queue,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        # One task at a time per process: a long crawl does not hold others back.
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        timezone="UTC",
        enable_utc=True,
        beat_schedule=beat_schedule(settings),
    )
    return app


class StepKicker:
    """Stands in for the scheduler in `jobs.SCHEDULER`: a step that asks for another step
    to run soon (`jobs.classify_soon()` after new mentions) sends that step's task now."""

    def modify_job(self, job_id: str, next_run_time: datetime | None = None) -> None:
        name = STEP_TASKS.get(job_id)
        if name is not None:
            app.tasks[name].apply_async()


def _run_shared(task: Task, name: str, step: Callable[[], None]) -> str:
    """Run `step`, which claims its own rows, beside any other worker running it."""
    try:
        step()
    except SQLAlchemyError as exc:
        log.warning("step %s lost the database (%s); trying again", name, type(exc).__name__)
        retry = get_settings().broker.retry_seconds
        raise task.retry(countdown=retry, max_retries=DATABASE_RETRIES, exc=exc) from exc
    return "done"


def _run_step(task: Task, lock: str, step: Callable[[], None]) -> str:
    """Run `step` under the lock `lock`; retry later if another worker holds it."""
    settings = get_settings()
    retry = settings.broker.retry_seconds
    try:
        with step_lock(engine_for(settings), lock) as held:
            if held:
                step()
                return "done"
    except SQLAlchemyError as exc:
        log.warning("step %s lost the database (%s); trying again", lock, type(exc).__name__)
        raise task.retry(countdown=retry, max_retries=DATABASE_RETRIES, exc=exc) from exc
    if task.request.retries < BUSY_RETRIES:
        raise task.retry(countdown=retry, max_retries=BUSY_RETRIES)
    log.info("step %s is running on another worker; leaving the work to it", lock)
    return "busy"


def _task(name: str) -> Callable[[Callable[..., str]], Any]:
    """Celery's task decorator with the options every step shares."""
    decorator: Callable[[Callable[..., str]], Any] = app.task(
        name=name, bind=True, acks_late=True, reject_on_worker_lost=True
    )
    return decorator


@_task("ascolto.listen")
def listen(self: Task, name: str) -> str:
    """Run one source once (crawls too: they run in a child process of the worker)."""
    return _run_step(self, f"listen:{name}", lambda: jobs.listen(name))


@_task("ascolto.classify")
def classify(self: Task) -> str:
    """Label the mentions that have no labels from the current model (claimed by chunk,
    so every worker can take part)."""
    return _run_shared(self, "classify", jobs.classify)


@_task("ascolto.defects")
def defects(self: Task) -> str:
    """Group new complaints into defect clusters and raise alerts."""
    return _run_step(self, "defects", jobs.defects)


@_task("ascolto.draft")
def draft(self: Task) -> str:
    """Draft replies to classified mentions that call for one (claimed by chunk, so every
    worker can take part)."""
    return _run_shared(self, "draft", jobs.draft)


@_task("ascolto.deliver")
def deliver(self: Task) -> str:
    """Send alert notifications and the outbox's due messages."""
    return _run_step(self, "deliver", jobs.deliver)


@_task("ascolto.campaigns")
def campaigns(self: Task) -> str:
    """Plan, send and follow up the check-in campaigns."""
    return _run_step(self, "campaigns", jobs.campaigns)


@_task("ascolto.retention")
def retention(self: Task) -> str:
    """Delete or anonymise personal data past its configured age."""
    return _run_step(self, "retention", jobs.retention)


@_task("ascolto.recheck")
def recheck(self: Task) -> str:
    """Ask the sources again about recent mentions: deleted, private or edited."""
    return _run_step(self, "recheck", jobs.recheck)


def _stop_steps(**_kwargs: Any) -> None:
    # Steps stop at their next chunk boundary; what they committed stays.
    jobs.STOP.set()


signals.worker_shutting_down.connect(_stop_steps)
