"""`ascolto demo --once`: every listener kind against the recorded responses, twice."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from listeners.registry import registry


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _demo(tmp_path: Path, port: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "ascolto",
            "demo",
            "--once",
            "--dir",
            str(tmp_path / "demo"),
            "--replay-port",
            str(port),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        # PYTHONPATH carried over: the checkout under test, not whichever one is installed.
        env={
            "PATH": "/usr/bin:/bin",
            "COLUMNS": "200",
            **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"},
        },
    )


def _runs(db: Path) -> dict[str, list[tuple[str, int, int]]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT s.name, r.status, r.items_new, r.items_quarantined FROM listenerrun r "
            "JOIN source s ON s.id = r.source_id ORDER BY r.id"
        ).fetchall()
    runs: dict[str, list[tuple[str, int, int]]] = {}
    for name, status, new, quarantined in rows:
        runs.setdefault(name, []).append((status, new, quarantined))
    return runs


@pytest.mark.slow
def test_demo_round_covers_every_kind_and_stores_nothing_twice(tmp_path: Path) -> None:
    port = _free_port()
    first = _demo(tmp_path, port)
    assert first.returncode == 0, first.stderr
    db = tmp_path / "demo" / "demo.db"
    settings = (tmp_path / "demo" / "settings.toml").read_text()
    demo_kinds = {line.split('"')[1] for line in settings.splitlines() if line.startswith("kind")}
    # Every kind that is polled has a demo source; webhooks arrive by HTTP instead.
    assert demo_kinds == {k for k, cls in registry().items() if cls.polled}

    runs = _runs(db)
    assert all(r[0][0] == "ok" for r in runs.values()), runs
    assert all(r[0][1] > 0 for r in runs.values()), runs
    assert "stored:" in first.stdout
    # The next step names the folder the demo was given, so it works as printed.
    assert f"--config {tmp_path / 'demo' / 'settings.toml'} mentions" in first.stdout
    # Replayed as the days before today, the firmware-2.1 outbreak alerts, named as a
    # person would; news, a price drop, a purchase question and a review never cluster.
    alerts = [line for line in first.stdout.splitlines() if line.startswith("defect alert")]
    assert any("battery drains in standby · after firmware 2.1" in a for a in alerts), alerts
    with sqlite3.connect(db) as conn:
        titles = [t for (t,) in conn.execute("SELECT title FROM defectcluster")]
    assert titles
    assert not [t for t in titles if "Black Friday" in t or "review" in t.lower()], titles

    with sqlite3.connect(db) as conn:
        mentions = conn.execute("SELECT count(*) FROM mention").fetchone()[0]
        orders = conn.execute('SELECT count(*) FROM "order"').fetchone()[0]
        quarantined = conn.execute("SELECT reason FROM quarantineditem").fetchall()
    assert mentions > 40
    assert orders > 0
    assert quarantined  # the review page's malformed JSON-LD block, kept with its reason

    second = _demo(tmp_path, port)
    assert second.returncode == 0, second.stderr
    runs = _runs(db)
    assert all(r[1][0] in ("ok", "not_modified") for r in runs.values()), runs
    stored_again = {name: r[1] for name, r in runs.items() if r[1][1] != 0}
    assert not stored_again, stored_again
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM mention").fetchone()[0] == mentions


def test_a_demo_folder_keeps_its_replay_time_for_a_day(tmp_path: Path) -> None:
    from datetime import timedelta

    from ascolto.demo import REPLAYED_AT, replay_time

    first = replay_time(tmp_path)
    # A run a minute later moves the recordings by the same offset: nothing looks new.
    assert replay_time(tmp_path) == first
    (tmp_path / REPLAYED_AT).write_text((first - timedelta(days=2)).isoformat())
    assert replay_time(tmp_path) > first - timedelta(days=1)
    (tmp_path / REPLAYED_AT).write_text("not a date")
    assert replay_time(tmp_path) >= first


def test_busy_replay_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = _demo(tmp_path, busy.getsockname()[1])
    assert result.returncode == 1
    assert "--replay-port" in result.stderr
    assert "Traceback" not in result.stderr


def test_manifest_files_exist() -> None:
    from ascolto.demo.server import RECORDINGS

    manifest = json.loads((RECORDINGS / "manifest.json").read_text())
    for route in manifest["routes"]:
        assert (RECORDINGS / route["file"]).is_file(), route["file"]
