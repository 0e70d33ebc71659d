"""Distributed mode: ingest and classification throughput by number of workers,
end-to-end latency, memory. PostgreSQL and RabbitMQ (a queue of the run's own).

1. Ingest: F RSS feeds of N items each from a real HTTP server on 127.0.0.1 into
   PostgreSQL, once in the embedded mode (`run_source` for every source on the in-process
   scheduler's thread pool) and once each with 1, 2 and 4 Celery workers (`ascolto worker
   --pool solo`, one process each). Items/s counts from the moment the tasks are sent to
   the last mention stored.
2. Classification: M stored posts (TweetEval and UMSAB Italian test tweets, real text
   without near-duplicates) labelled by 1, 2 and 4 workers claiming chunks side by side,
   each encoder on one thread (`--encoder-threads`), so a worker is one core's worth of
   work. Mentions/s counts from the moment the tasks are sent (classifiers loaded and
   warmed up) to the last label stored.
3. Latency: two workers and beat with classification and drafting on, sources polled
   every 60 s; new complaints appear in a feed at known instants over two intervals.
   Stored-to-draft is the time from a mention's row being written to its draft being
   visible in the database (the event-driven pipeline); source-to-draft adds the wait for
   the next poll (median, 95th percentile).
4. Peak memory (VmHWM) of every worker and of the embedded process.

    python benchmarks/distributed.py [--feeds 8] [--per-feed 250] [--workers 1,2,4]

Prints a table and writes benchmarks/results/distributed.json and distributed.svg.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT))

from benchmarks.ingest import POSTGRES_URL, feed_page  # noqa: E402
from benchmarks.memory import peak_mb  # noqa: E402

RABBITMQ_URL = os.environ.get("ASCOLTO_BENCH_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")

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

    def execute(self, *statements: str) -> None:
        import sqlalchemy as sa

        with self.engine.begin() as conn:
            for sql in statements:
                conn.execute(sa.text(sql))

    def drop(self) -> None:
        import sqlalchemy as sa

        self.engine.dispose()
        with self.admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{self.name}" CASCADE'))
        self.admin.dispose()


class Broker:
    """A queue of this run's own on the machine's RabbitMQ, deleted at the end."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.queue = f"ascolto-bench-{uuid.uuid4().hex[:8]}"

    def stop(self) -> None:
        from kombu import Connection

        with Connection(self.url) as connection:
            connection.default_channel.queue_delete(self.queue)


def settings_file(
    folder: Path,
    sources: list[tuple[str, str]],
    body: str = "",
    *,
    queue: str = "ascolto",
    interval: float = 10,
) -> Path:
    path = folder / "settings.toml"
    lines = [
        "[web]\nenabled = false\n",
        "[http]\nper_host_interval = 0\nread_timeout = 60\n",
        f'[broker]\nqueue = "{queue}"\n',
        body,
    ]
    for name, url in sources:
        # The benchmark's feeds are served on 127.0.0.1.
        lines.append(
            f'[[sources]]\nname = "{name}"\nkind = "rss"\nurl = "{url}"\n'
            f"interval = {interval}\nallow_private_addresses = true\n"
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


def cpu_seconds(processes: list[subprocess.Popen[bytes]]) -> float:
    """CPU time (user and system) the processes have used so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for process in processes:
        fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


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
        env = environment(path, "amqp://unused", schema.url)
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


def start_workers(
    folder: Path, env: dict[str, str], count: int, *, threads: int | None = None
) -> list[subprocess.Popen[bytes]]:
    workers = []
    # The machine's cores split between the workers, as an operator would start them.
    threads = threads or max(1, (os.cpu_count() or 1) // count)
    for n in range(count):
        log = (folder / f"worker{n}.log").open("wb")
        workers.append(
            subprocess.Popen(
                [
                    str(ASCOLTO),
                    "worker",
                    "--pool",
                    "solo",
                    "--loglevel",
                    "INFO",
                    "--encoder-threads",
                    str(threads),
                ],
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


def workers_ready(run: Path, count: int) -> None:
    """Every worker migrated, loaded its classifier (when on) and connected."""
    wait_until(
        lambda: all(
            "ready" in (run / f"worker{n}.log").read_text(errors="replace") for n in range(count)
        ),
        timeout=300,
        every=0.2,
    )


def run_distributed(
    folder: Path, feeds: Feeds, count: int, total: int, workers: int, broker: Broker
) -> dict[str, Any]:
    schema = Schema()
    run = folder / f"w{workers}"
    run.mkdir()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        sources = [(f"feed{n}", feeds.url(f"/feed/{n}")) for n in range(count)]
        body = "".join(f"[{t}]\nenabled = false\n" for t in ("classify", "outreach", "delivery"))
        path = settings_file(run, sources, body, queue=broker.queue)
        env = environment(path, broker.url, schema.url)
        processes = start_workers(run, env, workers)
        workers_ready(run, workers)
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


def posts(count: int) -> list[str]:
    """`count` real posts, half English (TweetEval), half Italian (UMSAB), none repeated."""
    from classify.test_splits import italian_test, tweeteval_test

    datasets = ROOT.parent / "shared" / "datasets"
    english = list(dict.fromkeys(tweeteval_test(datasets).texts))
    italian = list(dict.fromkeys(italian_test(datasets).texts))
    half = count // 2
    return english[: count - min(half, len(italian))] + italian[:half]


def text_feed(texts: list[str]) -> bytes:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    entries = "".join(
        f"<item><guid isPermaLink='false'>post-{n}</guid>"
        f"<link>https://forum.example/p/{n}</link>"
        f"<pubDate>{format_datetime(start)}</pubDate>"
        f"<description>{escape(text)}</description></item>"
        for n, text in enumerate(texts)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>posts</title>'
        f"<link>https://forum.example/</link><description>p</description>{entries}"
        "</channel></rss>"
    ).encode()


def run_classify(
    folder: Path, broker: Broker, mentions: int, counts: list[int], threads: int
) -> list[dict[str, Any]]:
    """The same stored mentions labelled from scratch by 1, 2 and 4 workers, each running
    its encoder on `threads` threads (one each: a worker is a core's worth of work)."""
    from ascolto.database import prepare
    from ascolto.runtime.runner import run_source
    from ascolto.settings import load_settings

    schema = Schema()
    feeds = Feeds({"/posts": text_feed(posts(mentions))})
    rows = []
    try:
        run = folder / "classify"
        run.mkdir()
        body = (
            # Chunks small enough for four workers to share a few hundred mentions.
            "[classify]\nenabled = true\ninterval = 3600\nbatch_size = 16\n"
            "[outreach]\nenabled = false\n[delivery]\nenabled = false\n"
            "[defects]\nenabled = false\n"
        )
        path = settings_file(run, [("posts", feeds.url("/posts"))], body, queue=broker.queue)
        config = load_settings(path, database={"url": schema.url})
        engine = prepare(config)
        stored = run_source(config, engine, "posts").new
        engine.dispose()
        env = environment(path, broker.url, schema.url)
        for count in counts:
            schema.execute("DELETE FROM mentionembedding", "DELETE FROM classification")
            log_dir = run / f"w{count}"
            log_dir.mkdir()
            processes = start_workers(log_dir, env, count, threads=threads)
            try:
                workers_ready(log_dir, count)
                cpu_before = cpu_seconds(processes)
                started = time.perf_counter()
                for _ in range(count):
                    send(env, "ascolto.classify")
                wait_until(
                    lambda: schema.scalar("SELECT count(*) FROM classification") >= stored,
                    900,
                    0.05,
                )
                seconds = time.perf_counter() - started
                # On a machine shared with other work, the CPU the workers got says whether
                # a slow run was short of cores or of something else.
                cpu = cpu_seconds(processes) - cpu_before
            finally:
                peaks = stop(processes)
            rows.append(
                {
                    "workers": count,
                    "encoder_threads": threads,
                    "mentions": stored,
                    "seconds": round(seconds, 2),
                    "mentions_per_second": round(stored / seconds, 1),
                    "worker_cpu_seconds": round(cpu, 1),
                    "cores_used": round(cpu / seconds, 2),
                    "mentions_per_cpu_second": round(stored / cpu, 1) if cpu else None,
                    "peak_memory_mb": [round(p, 1) for p in peaks],
                }
            )
            print(f"classified {stored} mentions with {count} worker(s) in {seconds:.1f}s")
    finally:
        feeds.stop()
        schema.drop()
    return rows


def run_latency(
    folder: Path, broker: Broker, mentions: int, interval: float, workers: int
) -> dict[str, Any]:
    """New complaints appear one by one over a whole poll interval; the time from each
    one's appearance (source-to-draft) and from its row (stored-to-draft) to its draft."""
    schema = Schema()
    run = folder / "latency"
    run.mkdir()
    feeds = Feeds({"/forum": rss([])})
    processes: list[subprocess.Popen[bytes]] = []
    try:
        # The steps' own intervals are long too: only the events move the work along.
        body = (
            f"[classify]\nenabled = true\ninterval = {interval}\n"
            f"[outreach]\nenabled = true\ninterval = {interval}\n"
            "[delivery]\nenabled = false\n"
        )
        sources = [("forum", feeds.url("/forum"))]
        path = settings_file(run, sources, body, queue=broker.queue, interval=interval)
        env = environment(path, broker.url, schema.url)
        processes = start_workers(run, env, workers)
        workers_ready(run, workers)
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
        # A first complaint, in the feed before the first poll: the pipeline is warm.
        items = [(0, datetime.now(UTC))]
        feeds.pages["/forum"] = rss(items)
        wait_until(lambda: (schema.scalar("SELECT count(*) FROM draft") or 0) >= 1, 300, 0.2)
        stored_at: dict[str, float] = {}
        appeared: dict[str, float] = {}
        seen: dict[str, float] = {}
        # Complaints appear over two poll intervals, so more than one poll brings some.
        gap = 2 * interval / mentions
        next_at = time.time()
        n = 0
        deadline = time.time() + 2 * interval + interval * 3 + 60
        while len(seen) < mentions and time.time() < deadline:
            if n < mentions and time.time() >= next_at:
                n += 1
                now = datetime.now(UTC)
                items.append((n, now))
                feeds.pages["/forum"] = rss(items)
                appeared[f"lat-{n}"] = now.timestamp()
                next_at += gap
            for external_id, fetched in drafted(schema):
                if external_id in appeared and external_id not in seen:
                    # When the draft was first visible from outside, against when its
                    # mention's row was written (the same machine's clock).
                    seen[external_id] = time.time()
                    stored_at[external_id] = fetched.replace(tzinfo=UTC).timestamp()
            time.sleep(0.1)
        if len(seen) < mentions:
            raise TimeoutError("the benchmark waited too long for drafts")
        source = sorted(seen[k] - appeared[k] for k in seen)
        stored = sorted(seen[k] - stored_at[k] for k in seen)
        peaks = stop(processes)
        processes = []
        return {
            "mentions": len(source),
            "workers": workers,
            "poll_interval_seconds": interval,
            "source_to_draft": summary(source),
            "stored_to_draft": summary(stored),
            "peak_memory_mb": {
                "workers": [round(p, 1) for p in peaks[:-1]],
                "beat": round(peaks[-1], 1),
            },
        }
    finally:
        stop(processes)
        feeds.stop()
        schema.drop()


def drafted(schema: Schema) -> list[tuple[str, datetime]]:
    """(external id, fetched_at) of every mention with a draft."""
    import sqlalchemy as sa

    with schema.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT m.external_id, m.fetched_at FROM draft d "
                "JOIN mention m ON m.id = d.mention_id"
            )
        ).all()
    return [(row[0], row[1]) for row in rows]


def summary(values: list[float]) -> dict[str, float]:
    """Median, 95th percentile (nearest rank) and maximum, in seconds."""
    rank = max(0, min(len(values) - 1, -(-len(values) * 95 // 100) - 1))
    return {
        "median_seconds": round(statistics.median(values), 2),
        "p95_seconds": round(values[rank], 2),
        "max_seconds": round(values[-1], 2),
    }


def plot(path: Path, classify: list[dict[str, Any]], ingest: list[dict[str, Any]]) -> None:
    """Throughput against workers as a small SVG line chart (no plotting library needed)."""
    width, height, left, bottom, top, right = 520, 300, 60, 40, 30, 150
    series = [
        (
            "classification, mentions/s",
            "#1f77b4",
            [(r["workers"], r["mentions_per_second"]) for r in classify],
        ),
        (
            "ingest, items/s ÷ 10",
            "#ff7f0e",
            [
                (r["workers"], r["items_per_second"] / 10)
                for r in ingest
                if r["workers"] != "embedded"
            ],
        ),
    ]
    counts = sorted({w for _, _, points in series for w, _ in points})
    peak = max([v for _, _, points in series for _, v in points] + [1.0]) * 1.15
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(workers: int) -> float:
        return left + plot_w * (counts.index(workers) / max(1, len(counts) - 1))

    def y(value: float) -> float:
        return top + plot_h * (1 - value / peak)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="12">',
        f'<text x="{left}" y="18">Throughput against workers '
        f"(same run, {os.cpu_count()} cores)</text>",
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        'stroke="black"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="black"/>',
        f'<text x="{left + plot_w / 2}" y="{height - 6}" text-anchor="middle">workers</text>',
    ]
    for workers in counts:
        parts.append(
            f'<text x="{x(workers)}" y="{top + plot_h + 16}" text-anchor="middle">{workers}</text>'
        )
    for step in range(5):
        value = peak * step / 4
        parts.append(
            f'<text x="{left - 6}" y="{y(value) + 4}" text-anchor="end">{value:.0f}</text>'
        )
    for n, (label, colour, points) in enumerate(series):
        line = " ".join(f"{x(w):.1f},{y(v):.1f}" for w, v in points)
        parts.append(f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for w, v in points:
            parts.append(f'<circle cx="{x(w):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}"/>')
        parts.append(
            f'<text x="{left + plot_w + 10}" y="{top + 14 + 18 * n}" fill="{colour}">{label}</text>'
        )
    parts.append("</svg>")
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=8)
    parser.add_argument("--per-feed", type=int, default=250)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--classify-mentions", type=int, default=480)
    parser.add_argument("--encoder-threads", type=int, default=1)
    parser.add_argument("--latency-mentions", type=int, default=16)
    parser.add_argument("--latency-workers", type=int, default=2)
    parser.add_argument("--poll-interval", type=float, default=60)
    parser.add_argument("--broker", default=RABBITMQ_URL)
    parser.add_argument("--embedded-child", nargs=2)
    args = parser.parse_args()
    if args.embedded_child:
        embedded_child(*args.embedded_child)
        return
    total = args.feeds * args.per_feed
    counts = [int(w) for w in args.workers.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        broker = Broker(args.broker)
        feeds = Feeds({f"/feed/{n}": feed_page(n, args.per_feed) for n in range(args.feeds)})
        try:
            ingest = [run_embedded(folder, feeds, args.feeds, total)]
            for workers in counts:
                ingest.append(run_distributed(folder, feeds, args.feeds, total, workers, broker))
            classify = run_classify(
                folder, broker, args.classify_mentions, counts, args.encoder_threads
            )
            latency = run_latency(
                folder, broker, args.latency_mentions, args.poll_interval, args.latency_workers
            )
        finally:
            feeds.stop()
            broker.stop()
    one = next((r for r in ingest if r["workers"] == 1), None)
    for row in ingest:
        if one is not None:
            row["speedup_vs_1_worker"] = round(row["items_per_second"] / one["items_per_second"], 2)
    first = classify[0]["mentions_per_second"]
    for row in classify:
        row["speedup_vs_1_worker"] = round(row["mentions_per_second"] / first, 2)
    embedded = ingest[0]["items_per_second"]
    result = {
        "benchmark": "distributed",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "broker": "rabbitmq",
        "database": "postgresql",
        "items": total,
        "sources": args.feeds,
        "ingest": ingest,
        "ingest_1_worker_vs_embedded": round(one["items_per_second"] / embedded, 2)
        if one
        else None,
        "classify": classify,
        "classify_per_second": {str(r["workers"]): r["mentions_per_second"] for r in classify},
        "latency_to_draft": latency,
        "poll_interval_seconds": latency["poll_interval_seconds"],
        "stored_to_draft_p95_seconds": latency["stored_to_draft"]["p95_seconds"],
        "source_to_draft_p95_seconds": latency["source_to_draft"]["p95_seconds"],
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "distributed.json").write_text(json.dumps(result, indent=2) + "\n")
    plot(RESULTS / "distributed.svg", classify, ingest)
    print(f"ingest of {total} items from {args.feeds} RSS feeds into PostgreSQL")
    print(f"{'mode':<12}{'items/s':>10}{'seconds':>10}{'vs 1 worker':>13}  peak MB per process")
    for row in ingest:
        mode = "embedded" if row["workers"] == "embedded" else f"{row['workers']} worker(s)"
        print(
            f"{mode:<12}{row['items_per_second']:>10}{row['seconds']:>10}"
            f"{row.get('speedup_vs_1_worker', ''):>13}  {row['peak_memory_mb']}"
        )
    print(f"classification of {classify[0]['mentions']} mentions")
    for row in classify:
        print(
            f"{row['workers']} worker(s) x {row['encoder_threads']} thread(s): "
            f"{row['mentions_per_second']} mentions/s ({row['speedup_vs_1_worker']}x), "
            f"peak MB {row['peak_memory_mb']}"
        )
    print(
        f"latency to draft ({latency['mentions']} mentions, {latency['workers']} workers, "
        f"poll every {latency['poll_interval_seconds']}s): stored-to-draft "
        f"{latency['stored_to_draft']}, source-to-draft {latency['source_to_draft']}"
    )


if __name__ == "__main__":
    main()
