"""The scheduler: jobs kept in ascolto's own database, by reference, one run per source."""

from __future__ import annotations

import io
import pickle
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.engine import Engine

from ascolto import settings as settings_module
from ascolto.database import prepare
from ascolto.runtime import jobs
from ascolto.runtime.runner import RunReport, run_source
from ascolto.runtime.scheduler import JOB_PREFIX, LISTEN_JOB, build_scheduler, sync_jobs
from ascolto.settings import Settings, use_settings
from tests.conftest import rss_source
from tests.feedserver import FeedServer, Reply

OUR_PACKAGES = ("ascolto", "listeners", "storage", "tests")


@pytest.fixture(autouse=True)
def _process_state() -> Iterator[None]:
    """Leave the process-wide settings and stop flag as they were."""
    saved = list(settings_module._current)
    jobs.STOP.clear()
    yield
    jobs.STOP.clear()
    settings_module._current[:] = saved


@pytest.fixture
def schedulers() -> Iterator[list[BackgroundScheduler]]:
    """Schedulers a test starts; each is shut down afterwards."""
    started: list[BackgroundScheduler] = []
    yield started
    for scheduler in started:
        if scheduler.running:
            scheduler.shutdown(wait=True)


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60.0) -> Any:
    """Poll `check` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


def stored_jobs(engine: Engine) -> dict[str, tuple[float | None, bytes]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT id, next_run_time, job_state FROM apscheduler_jobs")
        ).all()
    return {row[0]: (row[1], bytes(row[2])) for row in rows}


class _RecordingUnpickler(pickle.Unpickler):
    def __init__(self, data: bytes) -> None:
        super().__init__(io.BytesIO(data))
        self.globals: set[str] = set()

    def find_class(self, module: str, name: str) -> Any:
        self.globals.add(f"{module}:{name}")
        return super().find_class(module, name)


def unpickle(data: bytes) -> tuple[dict[str, Any], set[str]]:
    unpickler = _RecordingUnpickler(data)
    state = unpickler.load()
    return state, unpickler.globals


def three_sources(url: str) -> str:
    return (
        rss_source("alpha", url, interval=10)
        + rss_source("beta", url, interval=20)
        + rss_source("gamma", url, interval=30)
    )


def start(
    schedulers: list[BackgroundScheduler], settings: Settings, engine: Engine, *, paused: bool
) -> BackgroundScheduler:
    scheduler = build_scheduler(settings, engine)
    schedulers.append(scheduler)
    scheduler.start(paused=paused)
    return scheduler


def test_jobs_live_in_the_database_by_reference(
    make_settings: Any, schedulers: list[BackgroundScheduler]
) -> None:
    settings = make_settings(three_sources("http://127.0.0.1:9/feed"))
    engine = prepare(settings)
    scheduler = start(schedulers, settings, engine, paused=True)
    sync_jobs(scheduler, settings)
    scheduler.shutdown(wait=True)

    # The job table sits next to ascolto's own tables, in the same database.
    tables = set(sa.inspect(engine).get_table_names())
    assert {"apscheduler_jobs", "mention", "listenerrun", "source"} <= tables

    stored = stored_jobs(engine)
    assert set(stored) == {"listen:alpha", "listen:beta", "listen:gamma"}
    for job_id, (next_run_time, blob) in stored.items():
        name = job_id.removeprefix(JOB_PREFIX)
        assert next_run_time is not None
        state, referenced = unpickle(blob)
        assert state["id"] == job_id
        assert state["func"] == LISTEN_JOB == "ascolto.runtime.jobs:listen"
        assert list(state["args"]) == [name]
        assert state["kwargs"] == {}
        assert state["max_instances"] == 1
        assert state["coalesce"] is True
        ours = [g for g in referenced if g.split(":")[0].split(".")[0] in OUR_PACKAGES]
        assert ours == [], f"pickled objects of ours in {job_id}: {ours}"
        assert state["trigger"].interval == timedelta(seconds=settings.source(name).interval)


def test_sync_removes_jobs_of_removed_and_disabled_sources(
    make_settings: Any, schedulers: list[BackgroundScheduler]
) -> None:
    url = "http://127.0.0.1:9/feed"
    settings = make_settings(three_sources(url))
    engine = prepare(settings)
    scheduler = start(schedulers, settings, engine, paused=True)
    sync_jobs(scheduler, settings)
    # A job that is not ascolto's listener is left alone.
    scheduler.add_job("time:sleep", "interval", seconds=3600, args=[0], id="housekeeping")
    assert set(stored_jobs(engine)) == {
        "listen:alpha",
        "listen:beta",
        "listen:gamma",
        "housekeeping",
    }

    fewer = make_settings(
        rss_source("alpha", url, interval=10) + rss_source("beta", url, interval=20, enabled=False)
    )
    sync_jobs(scheduler, fewer)
    assert set(stored_jobs(engine)) == {"listen:alpha", "housekeeping"}
    assert [j.id for j in scheduler.get_jobs() if j.id.startswith(JOB_PREFIX)] == ["listen:alpha"]


def test_restart_keeps_next_run_time_of_unchanged_sources(
    make_settings: Any, schedulers: list[BackgroundScheduler]
) -> None:
    url = "http://127.0.0.1:9/feed"
    settings = make_settings(three_sources(url))
    engine = prepare(settings)
    first = start(schedulers, settings, engine, paused=True)
    sync_jobs(first, settings)
    later = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    for name in ("alpha", "beta"):
        first.modify_job(f"listen:{name}", next_run_time=later)
    first.shutdown(wait=True)

    # Restart: a new scheduler on the same database; beta's interval changed meanwhile.
    changed = make_settings(
        rss_source("alpha", url, interval=10)
        + rss_source("beta", url, interval=25)
        + rss_source("gamma", url, interval=30)
    )
    before = datetime.now(UTC)
    second = start(schedulers, changed, engine, paused=True)
    sync_jobs(second, changed)
    jobs_now = {job.id: job for job in second.get_jobs()}
    assert jobs_now["listen:alpha"].next_run_time == later
    assert jobs_now["listen:beta"].next_run_time < later
    assert jobs_now["listen:beta"].next_run_time >= before - timedelta(seconds=1)
    assert jobs_now["listen:beta"].trigger.interval == timedelta(seconds=25)
    # Stored as well, not only in memory.
    assert stored_jobs(engine)["listen:alpha"][0] == pytest.approx(later.timestamp(), abs=1e-3)


def test_stored_job_runs_after_restart(
    make_settings: Any,
    server: FeedServer,
    schedulers: list[BackgroundScheduler],
) -> None:
    url = server.route("/feed", Reply.file("rss/rss2_brand_news.xml"))
    settings = use_settings(make_settings(rss_source("news", url, interval=10)))
    engine = prepare(settings)
    first = start(schedulers, settings, engine, paused=True)
    sync_jobs(first, settings)
    due, _ = stored_jobs(engine)["listen:news"]
    first.shutdown(wait=True)
    # Shutting down leaves a job that is due as it was: due, not pushed an interval on.
    assert stored_jobs(engine)["listen:news"][0] == due

    # A new scheduler finds the job in the database and runs it: nothing re-added.
    second = start(schedulers, settings, engine, paused=False)

    def finished_run() -> Any:
        with engine.connect() as conn:
            return conn.execute(
                sa.text(
                    "SELECT status, trigger, items_new, started_at FROM listenerrun "
                    "WHERE status != 'running'"
                )
            ).all()

    runs = wait_for("the scheduled run", finished_run)
    assert [(r[0], r[1], r[2]) for r in runs] == [("ok", "schedule", 8)]
    second.shutdown(wait=True)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM mention")).scalar() == 8
    # The job ran once and was rescheduled one interval on, in the database.
    assert len(server.hits("/feed")) == 1
    stored = stored_jobs(engine)
    assert list(stored) == ["listen:news"]
    assert stored["listen:news"][0] == pytest.approx(due + 10, abs=1e-3)


def test_never_two_runs_of_one_source_at_once(make_settings: Any, server: FeedServer) -> None:
    url = server.route("/slow", Reply.file("rss/rss2_brand_news.xml", chunk_delay=0.02))
    settings = make_settings(rss_source("news", url))
    engine = prepare(settings)
    barrier = threading.Barrier(2)
    reports: list[RunReport] = []
    problems: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait(timeout=30)
            reports.append(run_source(settings, engine, "news"))
        except BaseException as exc:
            problems.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert problems == []
    assert sorted(r.status for r in reports) == ["busy", "ok"]
    busy = next(r for r in reports if r.status == "busy")
    assert busy.error == "another run of this source is in progress"
    assert len(server.hits("/slow")) == 1
    with engine.connect() as conn:
        runs = conn.execute(sa.text("SELECT status, items_new FROM listenerrun")).all()
        lease = conn.execute(sa.text("SELECT lease_owner, lease_until FROM source")).one()
    assert [tuple(r) for r in runs] == [("ok", 8)]
    assert tuple(lease) == (None, None)

    # Once the lease is given back, the next run goes ahead.
    assert run_source(settings, engine, "news").status == "ok"
