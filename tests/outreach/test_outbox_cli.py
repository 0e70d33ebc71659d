"""`ascolto outbox ...` as a person uses it, and delivery as a scheduled step."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import Engine

from ascolto import settings as settings_module
from ascolto.runtime import jobs
from ascolto.runtime.scheduler import DELIVER_JOB_ID, build_scheduler, sync_jobs
from ascolto.settings import use_settings
from storage import outbox as store
from storage.db import session_scope
from storage.types import utcnow
from tests.conftest import write_settings
from tests.outreach.delivery import add_message, delivery_toml, get
from tests.smtpserver import closed_port, smtp_server
from tests.test_cli import ascolto

FAR = datetime(2100, 1, 1, tzinfo=UTC)


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """The command line is the same on either database: SQLite keeps these tests quick."""
    return sqlite_url


def test_a_failed_message_is_seen_shown_and_retried_from_the_command_line(
    tmp_path: Path, engine: Engine, database_url: str
) -> None:
    down = closed_port()
    settings_file = tmp_path / "settings.toml"
    write_settings(
        settings_file, database_url, delivery_toml(smtp_port=down, delivery="max_attempts = 1\n")
    )
    message_id = add_message(engine, key="draft:5", subject="About your order 1042")

    result = ascolto(tmp_path, "outbox", "deliver")
    assert result.returncode == 1, result.stderr
    assert "sent 0; retrying 0; failed 1; uncertain 0" in result.stdout
    assert f"message {message_id} (email): gave up after 1 attempt(s)" in result.stdout

    listed = ascolto(tmp_path, "outbox", "list", "--status", "failed")
    assert listed.returncode == 0, listed.stderr
    assert "outbox: 1 failed" in listed.stdout
    assert f"127.0.0.1:{down}: cannot connect" in listed.stdout

    shown = ascolto(tmp_path, "outbox", "show", str(message_id))
    assert shown.returncode == 0, shown.stderr
    assert "key:       draft:5" in shown.stdout
    assert "recipient: giulia@example.com" in shown.stdout
    assert "problem:   gave up after 1 attempt(s)" in shown.stdout
    assert "Hello Giulia,\nwe are sorry." in shown.stdout

    with smtp_server() as smtp:
        write_settings(settings_file, database_url, delivery_toml(smtp_port=smtp.port))
        retried = ascolto(tmp_path, "outbox", "retry", str(message_id))
        assert retried.returncode == 0, retried.stderr
        assert f"message {message_id} is pending again" in retried.stdout
        delivered = ascolto(tmp_path, "outbox", "deliver")
        assert delivered.returncode == 0, delivered.stderr
        assert "sent 1; retrying 0; failed 0; uncertain 0" in delivered.stdout
        assert len(smtp.received) == 1
        assert smtp.received[0].message["Subject"] == "About your order 1042"
    assert get(engine, message_id).status == "sent"


def test_an_uncertain_message_needs_force_and_bad_input_is_refused(
    tmp_path: Path, engine: Engine, database_url: str
) -> None:
    write_settings(tmp_path / "settings.toml", database_url, delivery_toml(smtp_port=closed_port()))
    message_id = add_message(engine)
    now = utcnow()
    with session_scope(engine) as session:
        # A sender on another host whose claim ran out: what it did is unknown.
        store.claim(session, message_id, owner="elsewhere:1", now=now, until=now)

    first = ascolto(tmp_path, "outbox", "deliver")
    assert first.returncode == 1
    assert "uncertain 1" in first.stdout
    refused = ascolto(tmp_path, "outbox", "retry", str(message_id))
    assert refused.returncode == 2
    assert "may already have arrived" in refused.stderr
    assert "retry with --force" in refused.stderr
    assert get(engine, message_id).status == "uncertain"

    cancelled = ascolto(tmp_path, "outbox", "cancel", str(message_id), "--reason", "arrived")
    assert cancelled.returncode == 0, cancelled.stderr
    assert get(engine, message_id).status == "cancelled"

    unknown = ascolto(tmp_path, "outbox", "show", "999")
    assert (unknown.returncode, unknown.stderr.strip()) == (
        2,
        "error: no outbox message with id 999",
    )
    bad = ascolto(tmp_path, "outbox", "list", "--status", "lost")
    assert bad.returncode == 2
    assert "--status must be one of: pending, sending, sent" in bad.stderr


@pytest.fixture
def process_settings() -> Iterator[None]:
    """Leave the process-wide settings and the scheduler list as they were."""
    saved = list(settings_module._current)
    schedulers = list(jobs.SCHEDULER)
    yield
    settings_module._current[:] = saved
    jobs.SCHEDULER[:] = schedulers


def test_delivery_is_a_scheduled_step(
    make_settings: Any, engine: Engine, process_settings: None
) -> None:
    with smtp_server() as smtp:
        body = delivery_toml(smtp_port=smtp.port).replace(
            "[delivery]\nenabled = false\n", "[delivery]\nenabled = true\ninterval = 45\n"
        )
        settings = use_settings(make_settings(body))
        scheduler = build_scheduler(settings, engine, persistent=False)
        sync_jobs(scheduler, settings)
        scheduler.start(paused=True)
        try:
            job = scheduler.get_job(DELIVER_JOB_ID)
            assert job is not None
            assert isinstance(job.trigger, IntervalTrigger)
            assert job.trigger.interval == timedelta(seconds=45)

            # Something to send brings the pass forward.
            scheduler.modify_job(DELIVER_JOB_ID, next_run_time=FAR)
            jobs.SCHEDULER[:] = [scheduler]
            jobs.deliver_soon()
            moved = scheduler.get_job(DELIVER_JOB_ID)
            assert moved is not None
            assert moved.next_run_time < FAR

            message_id = add_message(engine)
            jobs.deliver()
            jobs.deliver()
            assert len(smtp.received) == 1
            assert get(engine, message_id).status == "sent"

            off = make_settings(body.replace("enabled = true", "enabled = false"))
            sync_jobs(scheduler, off)
            assert scheduler.get_job(DELIVER_JOB_ID) is None
        finally:
            scheduler.shutdown(wait=False)
