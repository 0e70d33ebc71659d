"""Ingest throughput: items from a local replay server through the listeners into storage.

Serves N items from a real HTTP server on 127.0.0.1, half as RSS feeds and half as the pages
of one Hacker News (Algolia) search, runs every source through
`ascolto.runtime.runner.run_source` (fetch, parse, filter, store in one transaction per run) into a
SQLite file and into PostgreSQL, each in its own process so peak memory is its own, and
measures in the same run the bare HTTP download of the same pages as the baseline.

    python benchmarks/ingest.py [--items 20000] [--per-feed 500]

Each backend runs `--runs` times, in turns; the median run is reported, with the rate of
every run. Prints a table and writes benchmarks/results/ingest.json. Peak memory is each child's own
high-water mark (VmHWM); items per CPU second leave out what other processes on a shared
machine take. Where the time goes, by stage (benchmarks/profiling.py):

    py-spy record --subprocesses -f raw -o stacks.txt -- python benchmarks/ingest.py
    python benchmarks/profiling.py stacks.txt benchmarks/results/ingest_profile_after

and `-f flamegraph -o benchmarks/results/ingest_profile_after.svg` for the flame graph.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
POSTGRES_URL = os.environ.get(
    "ASCOLTO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
sys.path.insert(0, str(ROOT))

from benchmarks.memory import peak_mb  # noqa: E402

PHRASES = [
    "My Acme Tab 3 battery drains overnight since the 2.1 update",
    "La batteria del mio Acme Tab 3 si scarica di notte",
    "Acme Buds left earbud stopped charging after a week",
    "Delivery of my Acme order is three days late, no tracking",
    "Love the new Acme Tab 3 screen, colours are great",
    "Acme support answered in ten minutes, problem solved",
    "Il rimborso per il mio ordine Acme non è ancora arrivato",
    "Hinge on the Acme Tab 3 case makes a noise when opened",
]


def hn_page(page: int, per_page: int, pages: int, offset: int) -> bytes:
    """One page of an Algolia `search_by_date` answer, newest first."""
    start = 1_795_000_000
    hits = []
    for i in range(per_page):
        n = offset + (pages - page) * per_page - i
        comment = n % 3 != 0
        text = f"{PHRASES[n % len(PHRASES)]} &mdash; seen on build {n} <i>again</i>"
        hit: dict[str, Any] = {
            "_tags": ["comment" if comment else "story", f"author_hn{n % 701}", "story_1"],
            "author": f"hn{n % 701}",
            "created_at": datetime.fromtimestamp(start + n * 60, UTC).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
            "created_at_i": start + n * 60,
            "objectID": str(40_000_000 + n),
            "updated_at": "2026-11-24T09:00:00Z",
        }
        if comment:
            hit |= {
                "comment_text": text,
                "parent_id": 1,
                "story_id": 1,
                "story_title": "Ask HN: Acme Tab 3 battery?",
                "story_url": None,
            }
        else:
            hit |= {
                "title": PHRASES[n % len(PHRASES)],
                "story_text": text,
                "url": None,
                "points": n % 50,
                "num_comments": n % 7,
            }
        hits.append(hit)
    return json.dumps(
        {
            "hits": hits,
            "nbHits": pages * per_page,
            "nbPages": pages,
            "page": page,
            "hitsPerPage": per_page,
            "exhaustiveNbHits": True,
            "query": "acme",
        }
    ).encode()


def feed_page(feed: int, per_feed: int) -> bytes:
    """An RSS 2.0 document of `per_feed` distinct items."""
    start = datetime(2026, 11, 1, tzinfo=UTC)
    items = []
    for i in range(per_feed):
        n = feed * per_feed + i
        text = f"{PHRASES[n % len(PHRASES)]} (report {n}, batch {feed}) <b>details</b> #{n}"
        items.append(
            f"<item><title>{escape(PHRASES[n % len(PHRASES)][:40])} #{n}</title>"
            f"<guid isPermaLink='false'>bench-{n}</guid>"
            f"<link>https://forum.example/t/{n}</link>"
            f"<author>user{n % 997}@example.com (User {n % 997})</author>"
            f"<pubDate>{format_datetime(start + timedelta(minutes=n))}</pubDate>"
            f"<description>{escape(text)}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>feed {feed}</title><link>https://forum.example/</link>"
        f"<description>bench</description>{''.join(items)}</channel></rss>"
    ).encode()


class Replay:
    """A threaded HTTP server answering /feed/<n> with pre-rendered pages."""

    def __init__(self, pages: dict[str, bytes]) -> None:
        outer = self
        self.pages = pages

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                if path == "/hn/search_by_date":
                    page = dict(p.split("=", 1) for p in query.split("&") if "=" in p)["page"]
                    path = f"/hn/{page}"
                body = outer.pages.get(path)
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                kind = "json" if path.startswith("/hn/") else "rss+xml"
                self.send_header("Content-Type", f"application/{kind}; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def child(backend: str, base: str, feeds: int, hn_pages: int, per_page: int, out: Path) -> None:
    """Run in a fresh process: ingest every feed once, report figures as JSON."""
    import sqlalchemy as sa

    from ascolto.database import prepare
    from ascolto.runtime.runner import run_source
    from ascolto.settings import load_settings

    schema = None
    if backend == "sqlite":
        url = f"sqlite:///{out.with_suffix('.db')}"
    else:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(POSTGRES_URL)
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        url = (
            sa.engine.make_url(POSTGRES_URL)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    sources = "".join(
        f'[[sources]]\nname = "feed-{i}"\nkind = "rss"\nurl = "{base}/feed/{i}"\n'
        "allow_private_addresses = true\n\n"
        for i in range(feeds)
    ) + (
        f'[[sources]]\nname = "hn"\nkind = "hackernews"\nquery = "acme"\n'
        "allow_private_addresses = true\n"
        f'base_url = "{base}/hn"\npage_size = {per_page}\nmax_pages = {hn_pages + 1}\n\n'
    )
    names = [f"feed-{i}" for i in range(feeds)] + ["hn"]
    config = out.with_suffix(".toml")
    config.write_text(
        f'[database]\nurl = "{url}"\n[web]\nenabled = false\n'
        f'[http]\nper_host_interval = 0\n[log]\nlevel = "WARNING"\n\n{sources}',
        encoding="utf-8",
    )
    settings = load_settings(config)
    engine = prepare(settings)
    started = time.perf_counter()
    cpu_started = time.process_time()
    stored = 0
    network = 0.0
    for name in names:
        report = run_source(settings, engine, name, trigger="benchmark")
        if not report.ok:
            raise SystemExit(f"{name} failed: {report.error}")
        stored += report.new
        network += report.network_seconds
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    # A second round: everything is already stored, so this measures the idempotency path.
    again_started = time.perf_counter()
    for name in names:
        run_source(settings, engine, name, trigger="benchmark")
    again = time.perf_counter() - again_started
    with engine.connect() as conn:
        count = conn.execute(sa.text("SELECT count(*) FROM mention")).scalar_one()
    if schema:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    out.write_text(
        json.dumps(
            {
                "backend": backend,
                "items_stored": stored,
                "rows_in_database": count,
                "seconds": elapsed,
                "items_per_second": stored / elapsed,
                "network_wait_seconds": network,
                "share_outside_network_wait": 1 - network / elapsed,
                "cpu_seconds": cpu,
                "items_per_cpu_second": stored / cpu,
                "rerun_seconds_nothing_new": again,
                "peak_memory_mb": peak_mb(),
            }
        )
    )


def baseline(base: str, feeds: int, hn_pages: int) -> dict[str, Any]:
    """Bare downloads of the same pages with requests: the floor any listener pays."""
    import requests

    session = requests.Session()
    started = time.perf_counter()
    size = 0
    for i in range(feeds):
        size += len(session.get(f"{base}/feed/{i}", timeout=30).content)
    for page in range(hn_pages):
        size += len(session.get(f"{base}/hn/search_by_date?page={page}", timeout=30).content)
    elapsed = time.perf_counter() - started
    return {"seconds": elapsed, "bytes": size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--per-feed", type=int, default=500)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--runs",
        type=int,
        default=3,
        help="runs per backend, taken in turns; the median run is reported",
    )
    parser.add_argument("--child", nargs=6)
    args = parser.parse_args()
    if args.child:
        backend, base, feeds, hn_pages, per_page, out = args.child
        child(backend, base, int(feeds), int(hn_pages), int(per_page), Path(out))
        return
    # Half the items in RSS feeds, half in the pages of one Hacker News search.
    feeds = max(1, args.items // 2 // args.per_feed)
    hn_pages = max(1, args.items // 2 // args.per_feed)
    pages = {f"/feed/{i}": feed_page(i, args.per_feed) for i in range(feeds)}
    offset = feeds * args.per_feed
    pages |= {f"/hn/{p}": hn_page(p, args.per_feed, hn_pages, offset) for p in range(hn_pages)}
    replay = Replay(pages)
    load = os.getloadavg()[0]
    try:
        raw = baseline(replay.base, feeds, hn_pages)
        runs: dict[str, list[dict[str, Any]]] = {}
        with tempfile.TemporaryDirectory() as tmp:
            # Backends in turns, so a burst of other work on a shared machine does not
            # land on one backend only.
            for number in range(args.runs):
                for backend in args.backends.split(","):
                    out = Path(tmp) / f"{backend}-{number}.json"
                    subprocess.run(
                        [
                            sys.executable,
                            __file__,
                            "--child",
                            backend,
                            replay.base,
                            str(feeds),
                            str(hn_pages),
                            str(args.per_feed),
                            str(out),
                        ],
                        check=True,
                        cwd=tmp,
                    )
                    runs.setdefault(backend, []).append(json.loads(out.read_text()))
        results: dict[str, Any] = {}
        for backend, figures in runs.items():
            ranked = sorted(figures, key=lambda f: f["items_per_second"])
            results[backend] = {
                **ranked[len(ranked) // 2],
                "runs": len(figures),
                "items_per_second_each_run": [f["items_per_second"] for f in figures],
            }
    finally:
        replay.close()
    items = (feeds + hn_pages) * args.per_feed
    raw_rate = items / raw["seconds"]
    for figures in results.values():
        figures["ratio_to_bare_download"] = figures["items_per_second"] / raw_rate
    report = {
        "benchmark": "ingest",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        # Other work on the machine when the run started: wall-clock rates fall with it.
        "load_average_at_start": load,
        "items": items,
        "sources": {"rss_feeds": feeds, "hackernews_pages": hn_pages, "per_page": args.per_feed},
        "baseline_bare_download": {**raw, "items_per_second": raw_rate},
        "results": results,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ingest.json").write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"ingest: {items} items ({feeds} RSS feeds, a Hacker News search of {hn_pages} pages) "
        "from a local replay server"
    )
    print(
        f"{'backend':<12}{'items/s':>10}{'vs bare GET':>13}{'outside net':>13}"
        f"{'rerun s':>9}{'peak MB':>9}"
    )
    print(f"{'bare GET':<12}{raw_rate:>10.0f}{1.0:>13.3f}{'':>13}{'':>9}{'':>9}")
    for name, f in results.items():
        print(
            f"{name:<12}{f['items_per_second']:>10.0f}{f['ratio_to_bare_download']:>13.3f}"
            f"{f['share_outside_network_wait']:>12.0%} {f['rerun_seconds_nothing_new']:>8.1f}"
            f"{f['peak_memory_mb']:>9.0f}"
        )
    print(f"written to {RESULTS / 'ingest.json'}")


if __name__ == "__main__":
    main()
