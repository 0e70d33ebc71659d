"""The `ascolto` command line, run as a real process against real databases and feeds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from ascolto import __version__
from storage.migrate import head_revision
from tests.conftest import rss_source, write_settings
from tests.feedserver import FeedServer, Reply

UNREACHABLE_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:1/ascolto"


def ascolto(
    cwd: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run `python -m ascolto ARGS` in `cwd`; a wide terminal so tables are not cut."""
    return subprocess.run(
        [sys.executable, "-m", "ascolto", *args],
        cwd=cwd,
        env={**os.environ, "COLUMNS": "250", **(env or {})},
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        check=False,
    )


def query(url: str, sql: str, **params: Any) -> list[Any]:
    """Rows of `sql` on the database at `url`, through a connection of our own."""
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(sql), params).all())
    finally:
        engine.dispose()


def rss_feed(items: list[tuple[str, str, datetime | None]]) -> bytes:
    """An RSS 2.0 document with one item per (guid, title, published)."""
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>']
    parts.append("<title>Acme watch</title><link>http://feeds.example/</link>")
    for guid, title, published in items:
        parts.append(
            f"<item><guid>{escape(guid)}</guid><title>{escape(title)}</title>"
            f"<link>http://feeds.example/{escape(guid)}</link>"
            f"<description>{escape(title)}: Acme mentioned here.</description>"
            + (f"<pubDate>{format_datetime(published, usegmt=True)}</pubDate>" if published else "")
            + "</item>"
        )
    parts.append("</channel></rss>\n")
    return "".join(parts).encode("utf-8")


def test_version(tmp_path: Path) -> None:
    result = ascolto(tmp_path, "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"ascolto {__version__}"


def test_console_script_is_installed(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "ascolto"
    result = subprocess.run(
        [str(script), "--version"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert __version__ in result.stdout


def test_config_option_and_environment_variable(tmp_path: Path, sqlite_url: str) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    from_flag = write_settings(
        conf / "flag.toml", sqlite_url, rss_source("from-flag", "http://127.0.0.1:9/a")
    )
    from_env = write_settings(
        conf / "env.toml", sqlite_url, rss_source("from-env", "http://127.0.0.1:9/b")
    )

    by_flag = ascolto(tmp_path, "--config", str(from_flag), "sources", "--json")
    assert by_flag.returncode == 0, by_flag.stderr
    assert [s["name"] for s in json.loads(by_flag.stdout)] == ["from-flag"]

    by_env = ascolto(tmp_path, "sources", "--json", env={"ASCOLTO_CONFIG": str(from_env)})
    assert by_env.returncode == 0, by_env.stderr
    # The source of the first file stays in the database, disabled.
    names = {s["name"]: s["enabled"] for s in json.loads(by_env.stdout)}
    assert names == {"from-flag": False, "from-env": True}

    both = ascolto(
        tmp_path, "-c", str(from_flag), "sources", "--json", env={"ASCOLTO_CONFIG": str(from_env)}
    )
    assert both.returncode == 0, both.stderr
    assert {s["name"]: s["enabled"] for s in json.loads(both.stdout)} == {
        "from-flag": True,
        "from-env": False,
    }

    missing = ascolto(tmp_path, "--config", "nowhere.toml", "sources")
    assert missing.returncode == 2
    assert "nowhere.toml does not exist" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_db_upgrade_then_already_at_head(tmp_path: Path, database_url: str) -> None:
    write_settings(tmp_path / "settings.toml", database_url)
    head = head_revision()

    first = ascolto(tmp_path, "db", "upgrade")
    assert first.returncode == 0, first.stderr
    assert f"upgraded from an empty database to {head}" in first.stdout

    second = ascolto(tmp_path, "db", "upgrade")
    assert second.returncode == 0, second.stderr
    assert f"already at revision {head}" in second.stdout
    assert query(database_url, "SELECT version_num FROM alembic_version") == [(head,)]


def test_listen_once_stores_mentions(tmp_path: Path, database_url: str, server: FeedServer) -> None:
    url = server.route("/news", Reply.file("rss/rss2_brand_news.xml"))
    write_settings(tmp_path / "settings.toml", database_url, rss_source("news", url))

    first = ascolto(tmp_path, "listen", "news", "--once")
    assert first.returncode == 0, first.stderr
    assert "news" in first.stdout
    assert " ok " in first.stdout
    stored = query(database_url, "SELECT count(*), count(DISTINCT external_id) FROM mention")
    assert stored == [(8, 8)]
    runs = query(database_url, "SELECT status, trigger, items_new FROM listenerrun")
    assert runs == [("ok", "manual", 8)]

    again = ascolto(tmp_path, "listen", "news", "--once")
    assert again.returncode == 0, again.stderr
    assert query(database_url, "SELECT count(*) FROM mention") == [(8,)]
    assert query(database_url, "SELECT items_new FROM listenerrun ORDER BY id") == [(8,), (0,)]


def test_unknown_source_exits_2_with_known_names(tmp_path: Path, sqlite_url: str) -> None:
    write_settings(
        tmp_path / "settings.toml",
        sqlite_url,
        rss_source("news", "http://127.0.0.1:9/a") + rss_source("forum", "http://127.0.0.1:9/b"),
    )
    result = ascolto(tmp_path, "listen", "nope", "--once")
    assert result.returncode == 2
    assert "no source named 'nope'" in result.stderr
    assert "known: news, forum" in result.stderr
    assert "Traceback" not in result.stderr


def test_failing_source_exits_1_and_others_still_run(
    tmp_path: Path, sqlite_url: str, server: FeedServer
) -> None:
    good = server.route("/good", Reply.file("rss/rss2_brand_news.xml"))
    bad = server.route("/bad", Reply(b"gone", status=404, content_type="text/plain"))
    write_settings(
        tmp_path / "settings.toml", sqlite_url, rss_source("bad", bad) + rss_source("good", good)
    )

    only_bad = ascolto(tmp_path, "listen", "bad", "--once")
    assert only_bad.returncode == 1
    assert "failed" in only_bad.stdout
    assert "Traceback" not in only_bad.stderr

    every = ascolto(tmp_path, "listen", "--once")
    assert every.returncode == 1
    runs = query(
        sqlite_url,
        "SELECT s.name, r.status FROM listenerrun r JOIN source s ON s.id = r.source_id "
        "ORDER BY r.id",
    )
    assert runs == [("bad", "failed"), ("bad", "failed"), ("good", "ok")]
    assert query(sqlite_url, "SELECT count(*) FROM mention") == [(8,)]


def test_dry_run_prints_items_and_writes_nothing(
    tmp_path: Path, database_url: str, server: FeedServer
) -> None:
    url = server.route("/latin1", Reply.file("rss/rss2_latin1.xml", content_type="text/xml"))
    write_settings(tmp_path / "settings.toml", database_url, rss_source("consumer", url))

    result = ascolto(tmp_path, "listen", "consumer", "--once", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "would store 3 items" in result.stdout
    assert "Écouteurs Acme Buds" in result.stdout
    assert "dry_run" in result.stdout
    assert query(database_url, "SELECT count(*) FROM mention") == [(0,)]
    assert query(database_url, "SELECT count(*) FROM listenerrun") == [(0,)]
    assert query(database_url, "SELECT count(*) FROM author") == [(0,)]
    assert len(server.hits("/latin1")) == 1


def test_sources_table_and_json(tmp_path: Path, database_url: str, server: FeedServer) -> None:
    good = server.route("/good", Reply.file("rss/rss2_brand_news.xml"))
    bad = server.route("/bad", Reply(b"nope", status=500, content_type="text/plain"))
    write_settings(
        tmp_path / "settings.toml",
        database_url,
        rss_source("news", good, interval=600)
        + rss_source("broken", bad, interval=60)
        + rss_source("quiet", "http://127.0.0.1:9/never", interval=3600),
    )
    assert ascolto(tmp_path, "listen", "news", "--once").returncode == 0
    assert ascolto(tmp_path, "listen", "broken", "--once").returncode == 1

    table = ascolto(tmp_path, "sources")
    assert table.returncode == 0, table.stderr
    for header in ("name", "kind", "interval", "last run", "status", "new last run", "stored"):
        assert header in table.stdout
    rows = {line.split("│")[1].strip(): line for line in table.stdout.splitlines() if "│" in line}
    cells = {name: [c.strip() for c in line.split("│")[1:-1]] for name, line in rows.items()}
    news, broken, quiet = cells["news"], cells["broken"], cells["quiet"]
    assert news[1:3] == ["rss", "600 s"]
    assert news[3].endswith("UTC")
    assert news[4:7] == ["working", "8", "8"]
    assert broken[1:3] == ["rss", "60 s"]
    assert broken[4:7] == ["failing", "unknown", "0"]
    assert "HTTP 500" in broken[7]
    assert quiet[2:7] == ["3600 s", "never", "never run", "unknown", "0"]

    as_json = ascolto(tmp_path, "sources", "--json")
    assert as_json.returncode == 0, as_json.stderr
    report = {s["name"]: s for s in json.loads(as_json.stdout)}
    assert list(report) == ["broken", "news", "quiet"]
    assert report["news"]["kind"] == "rss"
    assert report["news"]["interval"] == 600
    assert report["news"]["working"] == "working"
    assert report["news"]["last_status"] == "ok"
    assert report["news"]["last_new"] == 8
    assert report["news"]["mentions"] == 8
    assert datetime.fromisoformat(report["news"]["last_started"]).tzinfo is not None
    assert report["broken"]["working"] == "failing"
    assert report["broken"]["last_new"] is None
    assert "HTTP 500" in report["broken"]["last_error"]
    assert report["broken"]["consecutive_failures"] == 1
    assert report["quiet"]["working"] == "never run"
    assert report["quiet"]["last_started"] is None
    assert report["quiet"]["last_new"] is None


@pytest.mark.parametrize(
    "content_type", ["application/rss+xml", "application/rss+xml; charset=ISO-8859-1"]
)
def test_mentions_json_decodes_latin1(
    tmp_path: Path, database_url: str, server: FeedServer, content_type: str
) -> None:
    url = server.route("/latin1", Reply.file("rss/rss2_latin1.xml", content_type=content_type))
    news = server.route("/news", Reply.file("rss/rss2_brand_news.xml"))
    write_settings(
        tmp_path / "settings.toml",
        database_url,
        rss_source("consumer", url) + rss_source("news", news),
    )
    assert ascolto(tmp_path, "listen", "--once").returncode == 0

    result = ascolto(tmp_path, "mentions", "--json", "--source", "consumer")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert isinstance(rows, list)
    assert len(rows) == 3
    fields = {"source", "external_id", "url", "author", "title", "text"}
    fields |= {"published_at", "fetched_at"}
    for row in rows:
        assert fields <= set(row)
        assert row["source"] == "consumer"
        datetime.fromisoformat(row["fetched_at"])
    by_id = {r["external_id"]: r for r in rows}
    tab = by_id["http://www.consumatori-tech.example/segnalazioni.php?id=8812"]
    assert tab["title"] == "Acme Tab 3: perché la batteria si scarica così in fretta?"
    assert "Forlì, Cantù, Mondovì" in tab["text"]
    assert "«È inaccettabile»" in tab["text"]
    assert tab["url"] == "http://www.consumatori-tech.example/segnalazioni.php?id=8812"
    assert datetime.fromisoformat(tab["published_at"]) == datetime(2026, 11, 23, 16, 30, tzinfo=UTC)
    buds = by_id["http://www.consumatori-tech.example/segnalazioni.php?id=8809"]
    assert buds["title"] == "Écouteurs Acme Buds : la qualité du son déçoit à Besançon"
    assert "½" in by_id["http://www.consumatori-tech.example/segnalazioni.php?id=8801"]["text"]
    # Newest first.
    assert [r["published_at"] for r in rows] == sorted(
        (r["published_at"] for r in rows), reverse=True
    )
    for row in rows:
        assert "\ufffd" not in row["text"]
        assert "Ã" not in row["text"]

    everything = json.loads(ascolto(tmp_path, "mentions", "--json").stdout)
    assert {r["source"] for r in everything} == {"consumer", "news"}
    assert len(everything) == 11


def test_mentions_since_and_limit(tmp_path: Path, database_url: str, server: FeedServer) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    body = rss_feed(
        [
            ("recent", "An hour ago", now - timedelta(hours=1)),
            ("days", "Three days ago", now - timedelta(days=3)),
            ("new-year", "Second of January", datetime(2026, 1, 2, 12, tzinfo=UTC)),
            ("old-year", "New Year's Eve", datetime(2025, 12, 31, 12, tzinfo=UTC)),
        ]
    )
    url = server.route("/feed", Reply(body))
    write_settings(tmp_path / "settings.toml", database_url, rss_source("feed", url))
    assert ascolto(tmp_path, "listen", "feed", "--once").returncode == 0

    def ids(*args: str) -> list[str]:
        result = ascolto(tmp_path, "mentions", "--json", *args)
        assert result.returncode == 0, result.stderr
        return [row["external_id"] for row in json.loads(result.stdout)]

    assert ids() == ["recent", "days", "new-year", "old-year"]
    assert ids("--since", "24h") == ["recent"]
    assert ids("--since", "7d") == ["recent", "days"]
    assert ids("--since", "2026-01-01") == ["recent", "days", "new-year"]
    assert ids("--since", "2026-01-01T00:00:00+00:00", "--limit", "2") == ["recent", "days"]
    assert ids("--limit", "1") == ["recent"]
    assert ids("--source", "feed", "--limit", "3") == ["recent", "days", "new-year"]
    assert ids("--source", "other") == []

    bad = ascolto(tmp_path, "mentions", "--since", "yesterday")
    assert bad.returncode == 2
    assert "--since" in bad.stderr
    assert "Traceback" not in bad.stderr

    table = ascolto(tmp_path, "mentions", "--since", "24h")
    assert table.returncode == 0, table.stderr
    assert " 1 mention " in table.stdout
    assert "An hour ago" in table.stdout


@pytest.mark.parametrize(
    ("edit", "key", "problem"),
    [
        (("", rss_source("news", "http://127.0.0.1:9/a", interval=5)), "sources[0].interval", "10"),
        (("[web]\n", "[web]\nprot = 8080\n"), "web.prot", "unknown key"),
        (("", rss_source("news", "ftp://feeds.example/a")), "sources[0].url", "http"),
    ],
    ids=["too-short-interval", "unknown-key", "bad-url"],
)
def test_bad_settings_exit_2_naming_the_key(
    tmp_path: Path, sqlite_url: str, edit: tuple[str, str], key: str, problem: str
) -> None:
    path = write_settings(tmp_path / "settings.toml", sqlite_url)
    old, new = edit
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(old, new, 1) if old else text + new, encoding="utf-8")

    result = ascolto(tmp_path, "sources")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: settings.toml: 1 invalid setting(s)")
    line = next(line for line in result.stderr.splitlines() if key in line)
    assert problem in line
    assert result.stdout == ""


def test_unreachable_postgres_exits_3(tmp_path: Path) -> None:
    write_settings(tmp_path / "settings.toml", UNREACHABLE_POSTGRES)
    for command in (["db", "upgrade"], ["sources"], ["mentions", "--json"]):
        result = ascolto(tmp_path, *command)
        assert result.returncode == 3, (command, result.stderr)
        assert "cannot open or migrate the database" in result.stderr
        assert "127.0.0.1:1" in result.stderr
        assert "Traceback" not in result.stderr


def test_json_logs_one_line_per_run(tmp_path: Path, database_url: str, server: FeedServer) -> None:
    good = server.route("/good", Reply.file("rss/rss2_brand_news.xml"))
    bad = server.route("/bad", Reply(b"gone", status=404, content_type="text/plain"))
    write_settings(
        tmp_path / "settings.toml",
        database_url,
        '[log]\nformat = "json"\n\n' + rss_source("news", good) + rss_source("broken", bad),
    )
    result = ascolto(tmp_path, "listen", "--once")
    assert result.returncode == 1

    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines
    records = [json.loads(line) for line in lines]
    runs = [r for r in records if r.get("logger") == "ascolto.listen" and "source" in r]
    assert sorted(r["source"] for r in runs) == ["broken", "news"]
    by_source = {r["source"]: r for r in runs}
    assert by_source["news"]["status"] == "ok"
    assert by_source["news"]["new"] == 8
    assert by_source["broken"]["status"] == "failed"
    assert "HTTP 404" in by_source["broken"]["error"]
    for record in runs:
        assert isinstance(record["duration_ms"], int)
        assert record["duration_ms"] >= 0
        assert isinstance(record["new"], int)
        assert {"time", "level", "message"} <= set(record)


def test_campaigns_list_without_campaigns_names_the_table(tmp_path: Path) -> None:
    write_settings(tmp_path / "settings.toml", f"sqlite:///{tmp_path / 'a.db'}")
    result = ascolto(tmp_path, "campaigns", "list")
    assert result.returncode == 0, result.stderr
    assert "add a [[campaigns]] table" in result.stdout
