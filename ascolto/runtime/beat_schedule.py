"""Celery beat's schedule, built from the same settings as the in-process scheduler."""

from __future__ import annotations

from typing import Any

from celery.beat import PersistentScheduler, ScheduleEntry
from celery.schedules import schedule as every

from ascolto.runtime.scheduler import steps
from ascolto.settings import Settings

# The in-process scheduler's job ids (`jobs.*_JOB_ID`) and the Celery task that runs each.
STEP_TASKS = {
    "classify": "ascolto.classify",
    "draft": "ascolto.draft",
    "defects": "ascolto.defects",
    "deliver": "ascolto.deliver",
    "campaigns": "ascolto.campaigns",
    "retention": "ascolto.retention",
    "recheck": "ascolto.recheck",
}


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """One entry per polled source (`listen:<name>`) and one per enabled step, each with
    the interval the in-process scheduler would use. A run still going when its next one
    is due makes that one wait for the step's lock, never run beside it."""
    from listeners.registry import listener_class

    entries: dict[str, dict[str, Any]] = {}
    for source in settings.sources:
        # Kinds that receive pushes (webhooks) have nothing to poll.
        if source.enabled and listener_class(source.kind).polled:
            entries[f"listen:{source.name}"] = _entry(
                "ascolto.listen", source.interval, args=(source.name,)
            )
    for step in steps(settings):
        if step.enabled:
            entries[step.job_id] = _entry(STEP_TASKS[step.job_id], step.interval)
    return entries


def _entry(task: str, seconds: float, args: tuple[Any, ...] = ()) -> dict[str, Any]:
    # A task not started within one interval is dropped: the next one does the same work.
    return {"task": task, "schedule": float(seconds), "args": args, "options": {"expires": seconds}}


class _DueAtOnce(ScheduleEntry):  # type: ignore[misc]
    def __init__(
        self,
        name: str | None = None,
        task: str | None = None,
        last_run_at: Any = None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        # Positional like the base: the schedule file unpickles entries by position.
        super().__init__(name, task, last_run_at, *args, **kwargs)
        # Only an entry never run before; the next instance of a run one passes its time.
        if last_run_at is None and isinstance(self.schedule, every):
            self.last_run_at -= self.schedule.run_every


class Scheduler(PersistentScheduler):  # type: ignore[misc]
    """Celery's schedule kept in a file across restarts, where an entry new to the file
    (a first start, a source just added) is due at once, as in the in-process scheduler,
    instead of one interval later."""

    Entry = _DueAtOnce
