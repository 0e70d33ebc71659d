"""Web app response times with a million stored mentions in PostgreSQL.

Creates a dedicated database (`ascolto_bench` by default, dropped and created again),
migrates it, bulk-loads synthetic mentions with COPY (a year of them, stored in the order
they were written as listeners store them, with their labels and care cases), then serves
the app with uvicorn on 127.0.0.1 and times, over HTTP with a signed-in session, the
overview and the mentions list (plain, filtered, searched, second page). Baselines measured
in the same run: the HTTP floor (GET /healthz) and the same search done with ILIKE instead
of the text index.

    python benchmarks/web.py [--mentions 1000000] [--repeat 30] [--keep]

Prints a table and writes benchmarks/results/web.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import socket
import statistics
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT))
POSTGRES_URL = os.environ.get(
    "ASCOLTO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TARGET_MS = 300.0
WORDS = [
    *("battery", "screen", "charger", "delivery", "refund", "hinge", "speaker", "update"),
    *("crash", "login", "order", "late", "broken", "arrived", "support", "app", "price"),
    *("colour", "camera", "wifi", "bluetooth", "noise", "warranty", "box"),
]
ITALIAN = ["batteria", "schermo", "consegna", "rimborso", "rotto", "arrivato", "ordine"]
SOURCES = ("reddit", "mastodon", "hackernews", "bluesky", "appstore", "trustpilot")
ISSUES = ("defect", "delivery", "billing", "service", "question", "praise", "other")
PRODUCTS = ("Acme Tab 3", "Acme Buds", "Acme Watch")


def database_urls(name: str) -> tuple[str, str]:
    """(admin URL on the server's `postgres` database, URL of the benchmark database)."""
    from sqlalchemy.engine import make_url

    base = make_url(POSTGRES_URL)
    admin = base.set(database="postgres").render_as_string(hide_password=False)
    return admin, base.set(database=name).render_as_string(hide_password=False)


def recreate(admin_url: str, name: str) -> None:
    import sqlalchemy as sa

    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise SystemExit(f"--database {name!r}: use lower-case letters, digits and _")
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


def load(url: str, mentions: int, seed: int) -> dict[str, Any]:
    """Migrate and fill the benchmark database; returns what was loaded."""
    import psycopg
    from sqlalchemy.engine import make_url

    from ascolto.auth import create_user
    from ascolto.database import prepare
    from ascolto.settings import load_settings
    from storage.db import session_scope

    settings = load_settings(None, database={"url": url})
    engine = prepare(settings)
    with session_scope(engine) as session:
        create_user(session, username="bench", password="benchmark password", role="admin")
    rng = random.Random(seed)
    now = datetime.now(UTC)
    started = time.perf_counter()
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        for name in SOURCES:
            cur.execute(
                "INSERT INTO source (name, kind, enabled, created_at) VALUES (%s, %s, true, %s)",
                (name, name, now),
            )
        for name in PRODUCTS:
            cur.execute(
                "INSERT INTO product (name, aliases, skus, watch_days) VALUES (%s, '[]', '[]', 60)",
                (name,),
            )
        authors = max(1000, mentions // 20)
        with cur.copy("COPY author (platform, handle, first_seen_at) FROM STDIN") as copy:
            for n in range(authors):
                copy.write_row((SOURCES[n % len(SOURCES)], f"user{n}", now))
        with cur.copy(
            "COPY mention (source_id, external_id, author_id, text, content_hash, "
            "published_at, fetched_at, kind, extra) FROM STDIN"
        ) as copy:
            for n in range(mentions):
                italian = n % 5 == 0
                words = rng.sample(ITALIAN if italian else WORDS, 5)
                text = f"{PRODUCTS[n % 3]} {' '.join(words)} #{n}"
                # Stored as they arrive: oldest first, a few minutes out of order.
                age = (1 - n / mentions) * 365 * 86400 + rng.random() * 600
                at = now - timedelta(seconds=age)
                copy.write_row(
                    (
                        1 + n % len(SOURCES),
                        f"b{n}",
                        1 + n % authors,
                        text,
                        f"{n:064x}",
                        at,
                        at,
                        "post",
                        "{}",
                    )
                )
        with cur.copy(
            "COPY classification (mention_id, model_version, content_hash, language, "
            "sentiment, sentiment_scores, complaint, issues, issue_scores, urgency, "
            "urgency_scores, products, truncated, classified_at) FROM STDIN"
        ) as copy:
            for n in range(mentions):
                sentiment = ("negative", "neutral", "positive")[rng.randrange(3)]
                complaint = sentiment == "negative" and n % 2 == 0
                issue = ISSUES[rng.randrange(len(ISSUES))]
                copy.write_row(
                    (
                        n + 1,
                        "bench",
                        f"{n:064x}",
                        "it" if n % 5 == 0 else "en",
                        sentiment,
                        "{}",
                        complaint,
                        json.dumps([issue]),
                        "{}",
                        "[]",
                        "{}",
                        json.dumps([PRODUCTS[n % 3]]),
                        False,
                        now,
                    )
                )
        cur.execute(
            "INSERT INTO carecase (mention_id, opened_at, first_response_at, resolved_at) "
            "SELECT c.mention_id, coalesce(m.published_at, m.fetched_at), "
            "coalesce(m.published_at, m.fetched_at) + (random() * interval '3 hours'), "
            "CASE WHEN random() < 0.7 THEN coalesce(m.published_at, m.fetched_at) "
            "+ (random() * interval '3 days') END "
            "FROM classification c JOIN mention m ON m.id = c.mention_id WHERE c.complaint"
        )
        cases = cur.rowcount
        conn.commit()
    loaded = time.perf_counter() - started
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    engine.dispose()
    return {"mentions": mentions, "authors": authors, "care_cases": cases, "load_s": loaded}


def serve(url: str) -> tuple[Any, threading.Thread, str]:
    import uvicorn

    from ascolto.database import prepare
    from ascolto.settings import load_settings
    from ascolto.web.app import create_app

    settings = load_settings(None, database={"url": url})
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # uvicorn binds the port itself, as `ascolto run` does: a socket handed in keeps
    # Nagle's algorithm on and adds ~40 ms to each keep-alive request.
    config = uvicorn.Config(
        create_app(settings, prepare(settings)),
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def sign_in(base: str) -> Any:
    import requests

    client = requests.Session()
    form = client.get(f"{base}/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token
    reply = client.post(
        f"{base}/login",
        data={"username": "bench", "password": "benchmark password", "csrf_token": token[1]},
        allow_redirects=False,
    )
    assert reply.status_code == 303, reply.text
    return client


def timed(client: Any, url: str, repeat: int) -> dict[str, float]:
    client.get(url)  # warm-up: the first request of a kind fills caches
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        reply = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert reply.status_code == 200, (url, reply.status_code)
    times.sort()
    return {
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[min(len(times) - 1, int(0.95 * len(times)))], 1),
    }


def naive_search(url: str, repeat: int) -> dict[str, float]:
    """The search without the text index: ILIKE on every row, newest first."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    sql = sa.text(
        "SELECT id FROM mention WHERE text ILIKE :q "
        "ORDER BY coalesce(published_at, fetched_at) DESC, id DESC LIMIT 51"
    )
    times = []
    with engine.connect() as conn:
        conn.execute(sql, {"q": "%warranty%"}).all()
        for _ in range(repeat):
            start = time.perf_counter()
            conn.execute(sql, {"q": "%warranty%"}).all()
            times.append((time.perf_counter() - start) * 1000)
    engine.dispose()
    times.sort()
    return {
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[min(len(times) - 1, int(0.95 * len(times)))], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mentions", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--database", default="ascolto_bench")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="reuse a database already loaded")
    args = parser.parse_args()
    admin_url, url = database_urls(args.database)
    load_before = os.getloadavg()[0]
    if args.keep:
        loaded: dict[str, Any] = {"mentions": args.mentions, "reused": True}
    else:
        recreate(admin_url, args.database)
        loaded = load(url, args.mentions, args.seed)
        print(f"loaded {loaded['mentions']:,} mentions in {loaded['load_s']:.0f} s")
    server, thread, base = serve(url)
    try:
        client = sign_in(base)
        cursor_page = client.get(f"{base}/api/v1/mentions", params={"limit": 50}).json()
        pages = {
            "overview (30 days)": "/",
            "overview (7 days)": "/?days=7",
            "mentions: newest": "/mentions",
            "mentions: negative, one source": "/mentions?sentiment=negative&source=reddit",
            "mentions: product, issue, language": (
                "/mentions?product=Acme+Buds&issue=defect&language=it"
            ),
            "mentions: date range": (
                f"/mentions?since={(datetime.now(UTC) - timedelta(days=200)).date()}"
                f"&until={(datetime.now(UTC) - timedelta(days=190)).date()}"
            ),
            "mentions: search": "/mentions?q=warranty",
            "mentions: search, two words": "/mentions?q=warranty+camera",
            "mentions: second page": f"/mentions?cursor={quote(cursor_page['next_cursor'])}",
            "api: mentions": "/api/v1/mentions",
            "api: overview": "/api/v1/overview",
        }
        results = {name: timed(client, base + path, args.repeat) for name, path in pages.items()}
        floor = timed(client, f"{base}/healthz", args.repeat)
    finally:
        server.should_exit = True
        thread.join(10)
    naive = naive_search(url, max(5, args.repeat // 3))
    search = results["mentions: search"]
    report = {
        "benchmark": "web",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            # Other work on the machine inflates every figure: the 1-minute load average
            # when the run started and when it ended.
            "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        },
        "data": loaded,
        "repeat": args.repeat,
        "target_median_ms": TARGET_MS,
        "pages": results,
        "baselines": {
            "http_floor_healthz": floor,
            "search_sql_ilike_without_index": naive,
        },
        "ratios": {
            "search_page_vs_ilike_sql": round(search["median_ms"] / naive["median_ms"], 3),
        },
        "all_under_target": all(r["median_ms"] < TARGET_MS for r in results.values()),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "web.json").write_text(json.dumps(report, indent=2) + "\n")
    width = max(len(n) for n in results) + 2
    print(f"\n{'page':<{width}}{'median ms':>11}{'p95 ms':>9}")
    for name, figures in results.items():
        print(f"{name:<{width}}{figures['median_ms']:>11.1f}{figures['p95_ms']:>9.1f}")
    print(f"{'baseline: GET /healthz':<{width}}{floor['median_ms']:>11.1f}{floor['p95_ms']:>9.1f}")
    print(
        f"{'baseline: ILIKE search (SQL only)':<{width}}"
        f"{naive['median_ms']:>11.1f}{naive['p95_ms']:>9.1f}"
    )
    print(f"load average (1 min) at start and end: {report['machine']['load_average_1m']}")
    verdict = "yes" if report["all_under_target"] else "NO"
    print(f"\nevery page under {TARGET_MS:.0f} ms at the median: {verdict}")
    print(f"written to {RESULTS / 'web.json'}")


if __name__ == "__main__":
    main()
