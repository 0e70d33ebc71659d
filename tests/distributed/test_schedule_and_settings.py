"""The distributed mode's pieces that need no worker: schedule, settings, step locks."""

from __future__ import annotations

from pathlib import Path

import pytest

from ascolto.runtime import tasks
from ascolto.runtime.beat_schedule import Scheduler, beat_schedule
from ascolto.runtime.locks import holders, step_lock
from ascolto.settings import load_settings
from storage.db import get_engine
from storage.errors import SettingsError
from tests.conftest import POSTGRES_URL, write_settings

SOURCES = (
    '[[sources]]\nname = "forum"\nkind = "rss"\nurl = "http://127.0.0.1:1/f"\ninterval = 60\n\n'
    '[[sources]]\nname = "old"\nkind = "rss"\nurl = "http://127.0.0.1:1/o"\nenabled = false\n\n'
)


def test_beat_sends_each_enabled_step_at_the_in_process_scheduler_s_interval(
    tmp_path: Path, sqlite_url: str
) -> None:
    body = "[classify]\nenabled = true\ninterval = 30\n\n" + SOURCES
    settings = load_settings(write_settings(tmp_path / "settings.toml", sqlite_url, body))
    schedule = beat_schedule(settings)
    assert schedule["listen:forum"]["task"] == "ascolto.listen"
    assert schedule["listen:forum"]["args"] == ("forum",)
    assert schedule["listen:forum"]["schedule"] == 60
    assert schedule["classify"]["schedule"] == 30
    # Disabled sources and steps (write_settings turns delivery and drafting off) get none.
    assert "listen:old" not in schedule
    assert "deliver" not in schedule
    assert "draft" not in schedule


def test_every_beat_entry_names_a_task_the_workers_run(tmp_path: Path, sqlite_url: str) -> None:
    body = (
        "[classify]\nenabled = true\n\n[outreach]\nenabled = true\n\n"
        "[defects]\nenabled = true\n\n" + SOURCES
    )
    settings = load_settings(write_settings(tmp_path / "settings.toml", sqlite_url, body))
    schedule = beat_schedule(settings)
    assert {"classify", "defects", "draft"} <= set(schedule)
    # A name the workers do not know is discarded by them, and the step never runs.
    assert {entry["task"] for entry in schedule.values()} <= set(tasks.app.tasks)


def test_a_new_beat_entry_is_due_at_once_and_a_run_one_waits_its_interval() -> None:
    entry = Scheduler.Entry(name="classify", task="ascolto.classify", schedule=30.0, app=tasks.app)
    assert entry.is_due()[0]
    assert not next(entry).is_due()[0]


def test_the_broker_comes_from_the_environment(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASCOLTO_BROKER_URL", "redis://127.0.0.1:6379/0")
    settings = load_settings(write_settings(tmp_path / "settings.toml", sqlite_url))
    assert settings.broker.url == "redis://127.0.0.1:6379/0"
    # SQLite cannot be shared by workers on several machines: refused with the key to set.
    with pytest.raises(SettingsError, match=r"database\.url must be PostgreSQL"):
        tasks.check_distributed(settings)


def test_workers_refuse_to_start_without_a_broker(tmp_path: Path, sqlite_url: str) -> None:
    settings = load_settings(write_settings(tmp_path / "settings.toml", sqlite_url))
    with pytest.raises(SettingsError, match="ASCOLTO_BROKER_URL"):
        tasks.check_distributed(settings)


def test_a_step_lock_has_one_holder_across_connections() -> None:
    engine = get_engine(POSTGRES_URL)
    with step_lock(engine, "test:classify") as first:
        assert first
        assert holders(engine, "test:classify") == 1
        with step_lock(engine, "test:classify", wait=0.3) as second:
            assert not second
        with step_lock(engine, "test:other") as other:
            assert other
    assert holders(engine, "test:classify") == 0
