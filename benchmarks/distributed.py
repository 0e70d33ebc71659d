"""Distributed mode: ingest throughput by number of workers, end-to-end latency, memory.

1. Ingest: F RSS feeds of N items each from a real HTTP server on 127.0.0.1 into
   PostgreSQL, once in the embedded mode (`run_source` for every source on the in-process
   scheduler's thread pool) and once each with 1, 2 and 4 Celery workers (`ascolto worker
   --pool solo`, one process each) on a private Redis broker. Items/s counts from the
   moment the tasks are sent to the last mention stored.
2. Latency: one worker and beat with classification and drafting on; new complaints
   appear in a feed at known instants; the time from each one's appearance to its draft in
   the review queue (median, 95th percentile). Polling every `interval` seconds bounds it.
3. Peak memory (VmHWM) of every worker and of the embedded process.

    python benchmarks/distributed.py [--feeds 8] [--per-feed 250] [--workers 1,2,4]

Prints a table and writes benchmarks/results/distributed.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT))

from benchmarks.ingest import POSTGRES_URL, feed_page  # noqa: E402
from benchmarks.memory import peak_mb  # noqa: E402

ASCOLTO = Path(sys.executable).with_name("ascolto")
COMPLAINTS = [
    "My Acme Tab 3 battery drains overnight since the update, really disappointed",
    "The screen of my Acme Tab 3 cracked after two days and nobody answers",
    "Acme Buds left earbud stopped charging after a week, unacceptable",
    "My Acme order is three days late and there is no tracking at all",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Feeds:
    """Answers /feed/<n>; `pages` can change while it runs (the latency run adds items)."""

    def __init__(self, pages: dict[str, bytes]) -> None:
        self.pages = pages
        feeds = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                body = feeds.pages.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Schema:
    """A fresh PostgreSQL schema; its URL; dropped at the end."""

    def __init__(self) -> None:
        import sqlalchemy as sa

        self.name = f"bench_{uuid.uuid4().hex[:10]}"
        self.admin = sa.create_engine(POSTGRES_URL)
        with self.admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{self.name}"'))
        self.url = (
            sa.make_url(POSTGRES_URL)
            .update_query_dict({"options": f"-csearch_path={self.name}"})
            .render_as_string(hide_password=False)
        )
        self.engine = sa.create_engine(self.url)

    def scalar(self, sql: str) -> Any:
        import sqlalchemy as sa

        with self.engine.connect() as conn:
            return conn.execute(sa.text(sql)).scalar()

    def drop(self) -> None:
        import sqlalchemy as sa

        self.engine.dispose()
        with self.admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{self.name}" CASCADE'))
        self.admin.dispose()


class Redis:
    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is needed for the distributed benchmark")
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--dir",
                str(folder),
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        time.sleep(0.5)
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


def settings_file(folder: Path, sources: list[tuple[str, str]], body: str = "") -> Path:
    path = folder / "settings.toml"
    lines = [
        "[web]\nenabled = false\n",
        "[http]\nper_host_interval = 0\nread_timeout = 60\n",
        body,
    ]
    for name, url in sources:
        # The benchmark's feeds are served on 127.0.0.1.
        lines.append(
            f'[[sources]]\nname = "{name}"\nkind = "rss"\nurl = "{url}"\ninterval = 10\n'
            "allow_private_addresses = true\n"
        )
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def environment(settings: Path, broker: str, database: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASCOLTO_")}
    return env | {
        "ASCOLTO_CONFIG": str(settings),
        "ASCOLTO_BROKER_URL": broker,
        "ASCOLTO_DATABASE_URL": database,
        "HF_HUB_OFFLINE": "1",
    }


def wait_until(check: Any, timeout: float, every: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not _safely(check):
        if time.monotonic() > deadline:
            raise TimeoutError("the benchmark waited too long")
        time.sleep(every)


def _safely(check: Any) -> bool:
    # Until the first worker has migrated the schema, its tables do not exist.
    try:
        return bool(check())
    except Exception:
        return False


def embedded_child(settings: str, out: str) -> None:
    """In its own process: every source once on the in-process scheduler's thread pool."""
    from ascolto.database import prepare
    from ascolto.runtime.runner import run_source
    from ascolto.settings import load_settings

    config = load_settings(Path(settings))
    engine = prepare(config)
    names = [s.name for s in config.sources]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(names)))) as pool:
        reports = list(pool.map(lambda n: run_source(config, engine, n), names))
    seconds = time.perf_counter() - started
    stored = sum(r.new for r in reports)
    peak = peak_mb()
    Path(out).write_text(json.dumps({"seconds": seconds, "stored": stored, "peak_mb": peak}))


def run_embedded(folder: Path, feeds: Feeds, count: int, total: int) -> dict[str, Any]:
    schema = Schema()
    try:
        sources = [(f"feed{n}", feeds.url(f"/feed/{n}")) for n in range(count)]
        path = settings_file(folder, sources, "[classify]\nenabled = false\n")
        out = folder / "embedded.json"
        env = environment(path, "redis://unused", schema.url)
        subprocess.run(
            [sys.executable, __file__, "--embedded-child", str(path), str(out)],
            env=env,
            check=True,
        )
        result = json.loads(out.read_text())
        stored = schema.scalar("SELECT count(*) FROM mention")
        return {
            "workers": "embedded",
            "items_stored": stored,
            "seconds": round(result["seconds"], 2),
            "items_per_second": round(total / result["seconds"], 1),
            "peak_memory_mb": [round(result["peak_mb"], 1)],
        }
    finally:
        schema.drop()


def start_workers(folder: Path, env: dict[str, str], count: int) -> list[subprocess.Popen[bytes]]:
    workers = []
    for n in range(count):
        log = (folder / f"worker{n}.log").open("wb")
        workers.append(
            subprocess.Popen(
                [str(ASCOLTO), "worker", "--pool", "solo", "--loglevel", "INFO"],
                env=env,
                cwd=folder,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    return workers


def stop(processes: list[subprocess.Popen[bytes]]) -> list[float]:
    peaks = [peak_mb(p.pid) for p in processes if p.poll() is None]
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
    return peaks


def send(env: dict[str, str], task: str, *args: Any) -> None:
    """Send a task the way beat does (the app configured from the same settings)."""
    from ascolto.runtime import tasks
    from ascolto.settings import load_settings, use_settings

    saved = dict(os.environ)
    os.environ.update(env)
    try:
        settings = use_settings(load_settings(Path(env["ASCOLTO_CONFIG"])))
        tasks.configure(settings).send_task(task, args=args)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def run_distributed(
    folder: Path, feeds: Feeds, count: int, total: int, workers: int, broker: Redis
) -> dict[str, Any]:
    schema = Schema()
    run = folder / f"w{workers}"
    run.mkdir()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        sources = [(f"feed{n}", feeds.url(f"/feed/{n}")) for n in range(count)]
        body = "".join(f"[{t}]\nenabled = false\n" for t in ("classify", "outreach", "delivery"))
        path = settings_file(run, sources, body)
        env = environment(path, broker.url, schema.url)
        processes = start_workers(run, env, workers)
        # Ready: every worker migrated and connected (the first one migrates).
        wait_until(
            lambda: all(
                "ready" in (run / f"worker{n}.log").read_text(errors="replace")
                for n in range(workers)
            ),
            timeout=180,
            every=0.2,
        )
        started = time.perf_counter()
        for name, _url in sources:
            send(env, "ascolto.listen", name)
        wait_until(lambda: schema.scalar("SELECT count(*) FROM mention") >= total, 600, 0.05)
        seconds = time.perf_counter() - started
        peaks = stop(processes)
        processes = []
        return {
            "workers": workers,
            "items_stored": schema.scalar("SELECT count(*) FROM mention"),
            "seconds": round(seconds, 2),
            "items_per_second": round(total / seconds, 1),
            "peak_memory_mb": [round(p, 1) for p in peaks],
        }
    finally:
        stop(processes)
        schema.drop()


def rss(items: list[tuple[int, datetime]]) -> bytes:
    entries = "".join(
        f"<item><title>Complaint {n}</title><guid>lat-{n}</guid>"
        f"<link>https://forum.example/t/{n}</link><pubDate>{format_datetime(when)}</pubDate>"
        f"<description>{COMPLAINTS[n % len(COMPLAINTS)]} (ticket {n}, code {n * 7919})"
        "</description></item>"
        for n, when in items
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>f</title>'
        f"<link>https://forum.example/</link><description>f</description>{entries}"
        "</channel></rss>"
    ).encode()


def run_latency(folder: Path, broker: Redis, mentions: int, gap: float) -> dict[str, Any]:
    """New complaints appear every `gap` seconds; time from appearance to draft."""
    schema = Schema()
    run = folder / "latency"
    run.mkdir()
    feeds = Feeds({"/forum": rss([])})
    processes: list[subprocess.Popen[bytes]] = []
    try:
        body = (
            "[classify]\nenabled = true\ninterval = 5\n"
            "[outreach]\nenabled = true\ninterval = 10\n[delivery]\nenabled = false\n"
        )
        path = settings_file(run, [("forum", feeds.url("/forum"))], body)
        env = environment(path, broker.url, schema.url)
        processes = start_workers(run, env, 1)
        beat_log = (run / "beat.log").open("wb")
        processes.append(
            subprocess.Popen(
                [str(ASCOLTO), "beat", "--schedule-file", str(run / "beat-schedule")],
                env=env,
                cwd=run,
                stdout=beat_log,
                stderr=subprocess.STDOUT,
            )
        )
        # A first complaint warms the worker up (the classifier loads on first use).
        items = [(0, datetime.now(UTC))]
        feeds.pages["/forum"] = rss(items)
        wait_until(lambda: (schema.scalar("SELECT count(*) FROM draft") or 0) >= 1, 300, 0.2)
        appeared: dict[str, float] = {}
        for n in range(1, mentions + 1):
            now = datetime.now(UTC)
            items.append((n, now))
            feeds.pages["/forum"] = rss(items)
            appeared[f"lat-{n}"] = now.timestamp()
            time.sleep(gap)
        wait_until(
            lambda: (schema.scalar("SELECT count(*) FROM draft") or 0) >= mentions + 1,
            300,
            0.2,
        )
        import sqlalchemy as sa

        with schema.engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT m.external_id, d.created_at FROM draft d JOIN mention m "
                    "ON m.id = d.mention_id"
                )
            ).all()
        latencies = sorted(
            row[1].replace(tzinfo=UTC).timestamp() - appeared[row[0]]
            for row in rows
            if row[0] in appeared
        )
        peaks = stop(processes)
        processes = []
        return {
            "mentions": len(latencies),
            "poll_interval_seconds": 10,
            "median_seconds": round(statistics.median(latencies), 2),
            "p95_seconds": round(latencies[max(0, int(len(latencies) * 0.95) - 1)], 2),
            "max_seconds": round(latencies[-1], 2),
            "peak_memory_mb": {"worker": round(peaks[0], 1), "beat": round(peaks[1], 1)},
        }
    finally:
        stop(processes)
        feeds.stop()
        schema.drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=8)
    parser.add_argument("--per-feed", type=int, default=250)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--latency-mentions", type=int, default=8)
    parser.add_argument("--latency-gap", type=float, default=1.5)
    parser.add_argument("--embedded-child", nargs=2)
    args = parser.parse_args()
    if args.embedded_child:
        embedded_child(*args.embedded_child)
        return
    total = args.feeds * args.per_feed
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        broker = Redis(folder)
        feeds = Feeds({f"/feed/{n}": feed_page(n, args.per_feed) for n in range(args.feeds)})
        try:
            ingest = [run_embedded(folder, feeds, args.feeds, total)]
            for workers in (int(w) for w in args.workers.split(",")):
                ingest.append(run_distributed(folder, feeds, args.feeds, total, workers, broker))
            latency = run_latency(folder, broker, args.latency_mentions, args.latency_gap)
        finally:
            feeds.stop()
            broker.stop()
    one = next((r for r in ingest if r["workers"] == 1), None)
    for row in ingest:
        if one is not None:
            row["speedup_vs_1_worker"] = round(row["items_per_second"] / one["items_per_second"], 2)
    result = {
        "benchmark": "distributed",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "items": total,
        "sources": args.feeds,
        "ingest": ingest,
        "latency_to_draft": latency,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "distributed.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"ingest of {total} items from {args.feeds} RSS feeds into PostgreSQL")
    print(f"{'mode':<12}{'items/s':>10}{'seconds':>10}{'vs 1 worker':>13}  peak MB per process")
    for row in ingest:
        mode = "embedded" if row["workers"] == "embedded" else f"{row['workers']} worker(s)"
        print(
            f"{mode:<12}{row['items_per_second']:>10}{row['seconds']:>10}"
            f"{row.get('speedup_vs_1_worker', ''):>13}  {row['peak_memory_mb']}"
        )
    print(
        f"latency from appearance to draft ({latency['mentions']} mentions, poll every "
        f"{latency['poll_interval_seconds']}s): median {latency['median_seconds']}s, "
        f"p95 {latency['p95_seconds']}s; peak MB {latency['peak_memory_mb']}"
    )


if __name__ == "__main__":
    main()
