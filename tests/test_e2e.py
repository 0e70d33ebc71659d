"""End to end: `ascolto run` as a real process, stopped cleanly, and killed mid-run."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from tests.conftest import rss_source
from tests.feedserver import FeedServer, Reply

pytestmark = pytest.mark.slow

WAIT = 60.0  # seconds any one thing may take before the test gives up
POLL = 0.2
FINISHED = ("ok", "not_modified")
# Stored next to every listener job while privacy retention and recheck are on (the default).
PRIVACY_JOBS = ["recheck", "retention"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def feed(count: int) -> bytes:
    """An RSS document with items 0..count-1, newest first; ~250 bytes per item."""
    now = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    items = "".join(
        f'<item><guid isPermaLink="false">acme-{n:03d}</guid>'
        f"<title>Acme Tab 3 report {n}</title>"
        f"<link>http://forum.example/t/{n}</link>"
        f"<description>Report number {n} about the Acme Tab 3 battery.</description>"
        f"<pubDate>{format_datetime(now - timedelta(minutes=n), usegmt=True)}</pubDate></item>"
        for n in range(count)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Acme forum</title><link>http://forum.example/</link>{items}</channel></rss>"
    ).encode()


def as_utc(value: datetime | str | None) -> datetime | None:
    """A timestamp column as an aware datetime (SQLite hands back naive UTC text)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class Database:
    """Reads the test database from outside the service, through its own connections."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url, poolclass=NullPool)

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.text(sql), params).all())

    def maybe(self, sql: str, **params: Any) -> list[Any] | None:
        """Rows, or None while the service has not created the tables yet."""
        try:
            return self.rows(sql, **params)
        except sa.exc.DBAPIError:
            return None

    def runs(self) -> list[SimpleNamespace]:
        rows = self.maybe(
            "SELECT id, status, trigger, items_new, error, started_at, finished_at "
            "FROM listenerrun ORDER BY id"
        )
        return [
            SimpleNamespace(
                **{
                    **row._asdict(),
                    "started_at": as_utc(row.started_at),
                    "finished_at": as_utc(row.finished_at),
                }
            )
            for row in rows or []
        ]

    def mentions(self) -> list[Any]:
        return self.rows(
            "SELECT external_id, count(*) FROM mention GROUP BY external_id ORDER BY external_id"
        )

    def lease(self, name: str) -> tuple[Any, Any]:
        row = self.rows("SELECT lease_owner, lease_until FROM source WHERE name = :n", n=name)[0]
        return row[0], row[1]


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.engine.dispose()


class Service:
    """`ascolto run` in a subprocess, its output in files under `workdir`."""

    def __init__(self, workdir: Path, name: str) -> None:
        self.workdir = workdir
        self.stdout = workdir / f"{name}.out"
        self.stderr = workdir / f"{name}.err"
        with self.stdout.open("wb") as out, self.stderr.open("wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ascolto", "run"],
                cwd=workdir,
                env={**os.environ, "COLUMNS": "200"},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.stderr.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, what: str, check: Callable[[], Any], timeout: float = WAIT) -> Any:
        """Poll until `check` returns something truthy; fail if the service dies or stalls."""
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if self.process.poll() is not None:
                pytest.fail(
                    f"service exited ({self.process.returncode}) while waiting for {what}:\n"
                    + self.log()
                )
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}:\n" + self.log())
            time.sleep(POLL)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Send `sig` and wait (bounded) for the process to end; its exit code."""
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"service still running {WAIT:.0f}s after signal {sig}:\n" + self.log())

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=WAIT)


@contextmanager
def service(workdir: Path, name: str = "service") -> Iterator[Service]:
    running = Service(workdir, name)
    try:
        yield running
    finally:
        running.kill()


def write_service_settings(
    path: Path, database_url: str, port: int, sources: str, *, web: bool = True
) -> None:
    path.write_text(
        f'[database]\nurl = "{database_url}"\n\n'
        f'[web]\nenabled = {"true" if web else "false"}\nhost = "127.0.0.1"\nport = {port}\n\n'
        "[http]\nbackoff = 0.05\nper_host_interval = 0\nread_timeout = 5\n\n"
        '[log]\nformat = "json"\n\n'
        # The later steps have their own tests; these runs need no models and no outbox.
        "[classify]\nenabled = false\n\n[outreach]\nenabled = false\n\n"
        "[delivery]\nenabled = false\n\n[defects]\nenabled = false\n\n" + sources,
        encoding="utf-8",
    )


def api_token(cwd: Path) -> str:
    """A user and an API token made with the command line, as a script's owner would."""

    def cli(*args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "ascolto", *args],
            cwd=cwd,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=WAIT,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    cli(
        "users", "add", "watcher", "--role", "agent", "--password-stdin", stdin="a long secret 42\n"
    )
    return cli("tokens", "create", "watcher").strip().splitlines()[-1]


def get_sources(port: int, token: str) -> list[dict[str, Any]] | None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/sources", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return list(json.loads(response.read().decode("utf-8")))
    except (urllib.error.URLError, OSError):
        return None


def log_records(text: str) -> list[dict[str, Any]]:
    """Every line the service logged, each one a JSON object."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def header(seen: Any, name: str) -> str | None:
    return next((v for k, v in seen.headers.items() if k.lower() == name.lower()), None)


def test_run_polls_serves_and_stops_on_sigterm(
    tmp_path: Path, database_url: str, db: Database, server: FeedServer
) -> None:
    url = server.route("/news", Reply.file("rss/rss2_brand_news.xml", etag='"news-1"'))
    port = free_port()
    write_service_settings(
        tmp_path / "settings.toml", database_url, port, rss_source("news", url, interval=10)
    )

    with service(tmp_path) as running:
        running.wait_for(
            "the first run's mentions",
            lambda: len(db.maybe("SELECT id FROM mention") or []) == 8,
        )
        token = api_token(tmp_path)
        health = running.wait_for(
            "the sources' health", lambda: (h := get_sources(port, token)) and h
        )
        assert [(h["name"], h["working"]) for h in health] == [("news", "working")]
        assert running.stop() == 0

    assert db.mentions() == sorted((external_id, 1) for external_id, _ in db.mentions())
    assert len(db.mentions()) == 8
    runs = db.runs()
    assert runs
    assert all(r.status in FINISHED and r.finished_at is not None for r in runs), runs
    assert runs[0].status == "ok"
    assert runs[0].items_new == 8
    assert all(r.trigger == "schedule" for r in runs)
    assert db.lease("news") == (None, None)
    # The privacy jobs (retention, recheck) are stored beside the source's.
    assert sorted(r[0] for r in db.rows("SELECT id FROM apscheduler_jobs")) == [
        "listen:news",
        *PRIVACY_JOBS,
    ]

    records = log_records(running.log())
    assert "Traceback" not in running.log()
    run_lines = [r for r in records if r.get("logger") == "ascolto.listen"]
    assert len(run_lines) == len(runs)
    assert run_lines[0]["source"] == "news"
    assert run_lines[0]["new"] == 8
    assert any(r["message"] == "scheduler stopped" for r in records)


@pytest.mark.parametrize("web", [True, False], ids=["web", "headless"])
def test_sigterm_during_a_run_lets_it_finish(
    tmp_path: Path, database_url: str, db: Database, server: FeedServer, web: bool
) -> None:
    url = server.route("/slow", Reply(feed(40), chunk_delay=0.03))
    write_service_settings(
        tmp_path / "settings.toml",
        database_url,
        free_port(),
        rss_source("forum", url, interval=10),
        web=web,
    )

    with service(tmp_path) as running:
        running.wait_for(
            "a run in progress",
            lambda: server.hits("/slow") and any(r.status == "running" for r in db.runs()),
        )
        signalled = datetime.now(UTC)
        assert running.stop(signal.SIGTERM) == 0, running.log()

    runs = db.runs()
    assert len(runs) == 1
    (run,) = runs
    assert run.status == "ok", run
    assert run.items_new == 40
    # The run was still fetching when the signal came, and was allowed to finish.
    assert run.finished_at > signalled
    assert len(db.mentions()) == 40
    assert db.lease("forum") == (None, None)
    assert "Traceback" not in running.log()


def test_killed_mid_run_then_restarted(
    tmp_path: Path, database_url: str, db: Database, server: FeedServer
) -> None:
    first, second = feed(10), feed(40)
    url = server.route(
        "/feed",
        Reply(first, etag='"v1"'),
        Reply(second, etag='"v2"', chunk_delay=0.03),
    )
    port = free_port()
    write_service_settings(
        tmp_path / "settings.toml", database_url, port, rss_source("forum", url, interval=10)
    )

    # A complete run first, so the source has a cursor (the ETag of the first document).
    once = subprocess.run(
        [sys.executable, "-m", "ascolto", "listen", "forum", "--once"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )
    assert once.returncode == 0, once.stderr
    assert len(db.mentions()) == 10

    # The service's first scheduled run trickles the bigger document: kill it halfway.
    with service(tmp_path, "crashed") as crashed:
        in_progress = crashed.wait_for(
            "a run in progress",
            lambda: (
                len(server.hits("/feed")) >= 2 and [r for r in db.runs() if r.status == "running"]
            ),
        )
        crashed.process.send_signal(signal.SIGKILL)
        assert crashed.process.wait(timeout=WAIT) == -signal.SIGKILL
    interrupted = in_progress[0].id
    killed_pid = crashed.pid

    # What the crash left behind: a run still marked running, the lease, the stored job.
    assert [r.status for r in db.runs()] == ["ok", "running"]
    owner, until = db.lease("forum")
    assert owner is not None
    assert owner.endswith(f":{killed_pid}")
    assert until is not None
    assert len(db.mentions()) == 10  # nothing half-written
    jobs = db.rows("SELECT id, next_run_time FROM apscheduler_jobs ORDER BY id")
    assert [j.id for j in jobs] == ["listen:forum", *PRIVACY_JOBS]
    due = jobs[0].next_run_time
    assert header(server.hits("/feed")[1], "If-None-Match") == '"v1"'

    server.route("/feed", Reply(second, etag='"v2"'))
    with service(tmp_path, "restarted") as restarted:
        restarted.wait_for(
            "a run after the restart",
            lambda: [r for r in db.runs() if r.id > interrupted and r.status in FINISHED],
        )
        assert restarted.stop() == 0, restarted.log()

    runs = {r.id: r for r in db.runs()}
    assert runs[interrupted].status == "interrupted"
    assert runs[interrupted].finished_at is not None
    assert runs[interrupted].error
    after = [r for r in runs.values() if r.id > interrupted]
    assert after[0].status == "ok"
    assert after[0].trigger == "schedule"
    assert after[0].items_new == 30
    # Nothing lost, nothing doubled.
    mentions = db.mentions()
    assert len(mentions) == 40
    assert {count for _, count in mentions} == {1}
    assert {external_id for external_id, _ in mentions} == {f"acme-{n:03d}" for n in range(40)}
    # The restart resumed the stored job on its stored schedule, with the stored cursor.
    assert after[0].started_at.timestamp() >= due - 0.5
    assert sorted(j.id for j in db.rows("SELECT id FROM apscheduler_jobs")) == [
        "listen:forum",
        *PRIVACY_JOBS,
    ]
    resumed = server.hits("/feed")[2]
    assert header(resumed, "If-None-Match") == '"v1"'
    assert db.lease("forum") == (None, None)
    records = log_records(restarted.log())
    assert any("left unfinished" in r["message"] for r in records)
