"""Logs and error reports carry no e-mail addresses, tokens or message bodies: a full demo
round (every listener kind, then finding, exporting and erasing a customer) is run with
every log line captured and scanned, and errors that quote personal data are redacted."""

from __future__ import annotations

import io
import logging
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from ascolto import logs
from ascolto.settings import LogSettings
from tests.test_demo import _free_port

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
TOKEN = "shpat_" + "5c1e" * 8
CUSTOMER = "marco.bellini@example.it"


def _ascolto(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ascolto", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={
            "PATH": "/usr/bin:/bin",
            "COLUMNS": "200",
            "ASCOLTO_LOG_LEVEL": "DEBUG",
            "ASCOLTO_LOG_FORMAT": "json",
            "ASCOLTO_DEMO_SHOP_TOKEN": TOKEN,
            # The code under test, wherever pytest imports it from.
            "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        },
    )


@pytest.mark.slow
def test_a_full_demo_round_logs_no_personal_data(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    first = _ascolto(
        tmp_path, "demo", "--once", "--dir", str(demo), "--replay-port", str(_free_port())
    )
    assert first.returncode == 0, first.stderr
    with sqlite3.connect(demo / "demo.db") as conn:
        bodies = [t for (t,) in conn.execute("SELECT text FROM mention") if len(t) >= 25]
        emails = {e for (e,) in conn.execute("SELECT email FROM customer") if e}
    assert CUSTOMER in emails
    assert len(bodies) > 40
    config = ["--config", str(demo / "settings.toml")]
    steps = [
        _ascolto(tmp_path, *config, "privacy", "find", "--email", CUSTOMER),
        _ascolto(tmp_path, *config, "privacy", "export", "--email", CUSTOMER, "-o", "x.json"),
        _ascolto(tmp_path, *config, "privacy", "erase", "--email", CUSTOMER, "--yes"),
    ]
    assert all(s.returncode == 0 for s in steps), [s.stderr for s in steps]
    logged = first.stderr + "".join(s.stderr for s in steps)
    assert logged.count("\n") >= 10  # the runs were logged

    assert EMAIL.findall(logged) == []
    assert TOKEN not in logged
    assert [b for b in bodies if b in logged] == []


def test_errors_that_quote_people_are_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    for kind in ("text", "json"):
        logs.configure(LogSettings(level="INFO", format=kind))
        log = logging.getLogger("ascolto.test")
        try:
            raise ValueError(f"550 mailbox unavailable: <{CUSTOMER}>")
        except ValueError:
            log.exception("delivery to %s failed", CUSTOMER, extra={"recipient": CUSTOMER})
        log.warning(
            "GET https://oauth.reddit.com/api/v1/me?access_token=%s: HTTP 401, Authorization: "
            "Bearer %s",
            TOKEN,
            TOKEN,
        )
    logging.getLogger().handlers.clear()
    written = stream.getvalue()
    assert "delivery to [email] failed" in written
    assert "550 mailbox unavailable" in written
    assert CUSTOMER not in written
    assert TOKEN not in written
