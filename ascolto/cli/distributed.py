"""`ascolto worker` and `ascolto beat`: the distributed mode's processes; `ascolto bench`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer

from ascolto.localization import gettext as _
from ascolto.settings import Settings, get_settings, use_settings

ROOT = Path(__file__).resolve().parents[2]

Pool = Literal["prefork", "solo", "threads"]


def worker(
    concurrency: Annotated[
        int, typer.Option(min=1, help="Tasks run at once (processes or threads).")
    ] = 2,
    pool: Annotated[
        str,
        typer.Option(
            help="prefork (a process per task), solo (one task in this process) or threads."
        ),
    ] = "prefork",
    loglevel: Annotated[str, typer.Option(help="Celery's log level.")] = "INFO",
    encoder_threads: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="CPU threads of each task's encoder; default: `classify.threads`, else "
            "this machine's cores shared among the tasks run at once. Several workers on one "
            "machine should split its cores between them.",
        ),
    ] = None,
) -> None:
    """Run steps from the broker's queue: listen, classify, defects, draft, deliver, campaigns.

    Needs `broker.url` and a PostgreSQL `database.url`. Start as many as wanted, on as
    many machines; the first one migrates the database.
    """
    from ascolto.database import engine_for, prepare
    from ascolto.runtime import jobs, tasks
    from ascolto.runtime.locks import step_lock

    if pool not in ("prefork", "solo", "threads"):
        raise typer.BadParameter(_("expected prefork, solo or threads"), param_hint="--pool")
    settings = worker_settings(get_settings(), encoder_threads, concurrency)
    app = tasks.configure(settings)
    # Workers starting together take turns migrating and mirroring the settings.
    with step_lock(engine_for(settings), "prepare", wait=600):
        prepare(settings)
    if settings.classify.enabled and pool != "prefork":
        # Loaded and run once before the first task, so the first mentions do not wait for
        # it; prefork children load their own (a model loaded before fork does not survive
        # it well).
        from classify.classifying import warm_classifier

        warm_classifier(settings)
    jobs.STOP.clear()
    jobs.SCHEDULER[:] = [tasks.StepKicker()]
    app.worker_main(
        [
            "worker",
            f"--pool={pool}",
            f"--concurrency={concurrency}",
            f"--loglevel={loglevel}",
            f"--queues={settings.broker.queue}",
            f"--hostname=ascolto-{os.getpid()}@%h",
            "--without-gossip",
            "--without-mingle",
        ]
    )


def worker_settings(settings: Settings, threads: int | None, concurrency: int) -> Settings:
    """The worker's settings with an explicit encoder thread count, so tasks running at
    once on one machine do not fight over its cores (the libraries default to all)."""
    chosen = threads or settings.classify.threads or max(1, (os.cpu_count() or 1) // concurrency)
    classify = settings.classify.model_copy(update={"threads": chosen})
    return use_settings(settings.model_copy(update={"classify": classify}))


def beat(
    schedule_file: Annotated[
        Path,
        typer.Option(help="Where beat remembers the last run of each entry across restarts."),
    ] = Path("ascolto-beat-schedule"),
    loglevel: Annotated[str, typer.Option(help="Celery's log level.")] = "INFO",
) -> None:
    """Send each step's task on its schedule from the settings (run exactly one beat)."""
    from ascolto.runtime import tasks
    from ascolto.runtime.beat_schedule import Scheduler

    app = tasks.configure(get_settings())
    app.Beat(schedule=str(schedule_file), scheduler=Scheduler, loglevel=loglevel).run()


def bench(
    quick: Annotated[
        bool, typer.Option("--quick", help="Smaller sizes: a check that everything runs.")
    ] = False,
) -> None:
    """Run every benchmark in benchmarks/, each printing a table and writing its JSON."""
    script = ROOT / "benchmarks" / "run_all.py"
    if not script.exists():
        typer.echo(_("the benchmarks need a source checkout (benchmarks/run_all.py)"), err=True)
        raise typer.Exit(2)
    command = [sys.executable, str(script), *(["--quick"] if quick else [])]
    code = subprocess.run(command, check=False).returncode  # noqa: S603
    if code:
        raise typer.Exit(1)
