"""The status page and the sources API, over a real database filled by real runs."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ascolto.database import prepare
from ascolto.runtime.runner import run_source
from ascolto.web.app import create_app
from tests.conftest import rss_source
from tests.feedserver import FeedServer, Reply
from tests.web.conftest import add_user, sign_in

COLUMNS = [
    "source",
    "kind",
    "every",
    "last run",
    "status",
    "new",
    "stored",
    "failed runs",
    "problem",
]
SCRIPT = "<script>alert(1)</script>"


class _Rows(HTMLParser):
    """The text of each cell of each body row of the page's table."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._in_body = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self.rows.append([])
        elif tag == "td" and self._in_body:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._in_body = False
        elif tag == "td" and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def table(html: str) -> dict[str, dict[str, str]]:
    parser = _Rows()
    parser.feed(html)
    rows = {}
    for cells in parser.rows:
        assert len(cells) == len(COLUMNS), cells
        row = dict(zip(COLUMNS, cells, strict=True))
        rows[row["source"].removesuffix(" (disabled)")] = row
    return rows


@pytest.fixture
def client(make_settings: Any, server: FeedServer) -> Iterator[TestClient]:
    """An app over a database where `news` worked, `broken` failed, `quiet` never ran."""
    good = server.route("/news", Reply.file("rss/rss2_brand_news.xml"))
    # The failing feed's address carries markup; it ends up in the error text.
    broken = server.url("/feed/" + SCRIPT)
    settings = make_settings(
        rss_source("news", good, interval=600)
        + rss_source("broken", broken, interval=60)
        + rss_source("quiet", server.url("/quiet"), interval=3600)
        + rss_source("off", server.url("/off"), enabled=False)
    )
    engine = prepare(settings)
    assert run_source(settings, engine, "news").status == "ok"
    for _ in range(2):
        assert run_source(settings, engine, "broken").status == "failed"
    add_user(engine, "viewer")
    with TestClient(create_app(settings, engine)) as test_client:
        sign_in(test_client, "viewer")
        yield test_client


def test_status_page_lists_every_source(client: TestClient) -> None:
    response = client.get("/sources")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    rows = table(response.text)
    assert list(rows) == ["broken", "news", "off", "quiet"]

    news = rows["news"]
    assert news["kind"] == "rss"
    assert news["every"] == "600 s"
    assert news["last run"].endswith("UTC")
    assert news["status"] == "working"
    assert news["new"] == "8"
    assert news["stored"] == "8"
    assert news["problem"] == ""

    quiet = rows["quiet"]
    assert quiet["every"] == "3,600 s"  # grouped as the viewer's language writes numbers
    assert quiet["last run"] == "never"
    assert quiet["status"] == "never run"
    assert quiet["new"] == "unknown"
    assert quiet["stored"] == "0"

    assert "(disabled)" in table(response.text)["off"]["source"]


def test_failing_source_shows_its_error_escaped(client: TestClient) -> None:
    response = client.get("/sources")
    broken = table(response.text)["broken"]
    assert broken["status"].startswith("failing")
    assert "2 failures in a row" in broken["status"]
    assert broken["new"] == "unknown"
    assert broken["last run"].endswith("UTC")
    assert broken["problem"].startswith("HTTP 404 from ")
    assert SCRIPT in broken["problem"]  # shown as text ...
    assert SCRIPT not in response.text  # ... never as markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    assert "<script>alert" not in response.text


def test_sources_api(client: TestClient) -> None:
    response = client.get("/api/v1/sources")
    assert response.status_code == 200
    sources = {s["name"]: s for s in response.json()}
    assert list(sources) == ["broken", "news", "off", "quiet"]
    keys = {"name", "kind", "enabled", "interval", "working", "last_status", "last_started"}
    keys |= {"last_finished", "last_success", "last_new", "last_error", "mentions"}
    keys |= {"consecutive_failures"}
    for source in sources.values():
        assert keys <= set(source)

    assert sources["news"]["working"] == "working"
    assert sources["news"]["last_new"] == 8
    assert sources["news"]["mentions"] == 8
    assert sources["news"]["interval"] == 600
    assert sources["news"]["last_success"] is not None

    assert sources["broken"]["working"] == "failing"
    assert sources["broken"]["last_status"] == "failed"
    assert sources["broken"]["last_new"] is None
    assert sources["broken"]["last_success"] is None
    assert sources["broken"]["consecutive_failures"] == 2
    assert SCRIPT in sources["broken"]["last_error"]

    assert sources["quiet"]["working"] == "never run"
    assert sources["quiet"]["last_started"] is None
    assert sources["quiet"]["last_new"] is None
    assert sources["quiet"]["mentions"] == 0
    assert sources["off"]["enabled"] is False


@pytest.mark.parametrize(
    "path", ["/", "/sources", "/api/v1/sources", "/healthz", "/static/ascolto.css"]
)
def test_security_headers(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    directives = {d.strip().split()[0]: d.strip() for d in csp.split(";") if d.strip()}
    assert directives["frame-ancestors"] == "frame-ancestors 'none'"
    assert directives["default-src"] == "default-src 'self'"
    assert "unsafe-inline" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"


def test_empty_database_page(make_settings: Any) -> None:
    settings = make_settings()
    engine = prepare(settings)
    add_user(engine, "viewer")
    with TestClient(create_app(settings, engine)) as test_client:
        sign_in(test_client, "viewer")
        response = test_client.get("/sources")
        assert response.status_code == 200
        assert "No sources are configured" in response.text
        assert test_client.get("/api/v1/sources").json() == []


def test_pages_and_api_need_a_sign_in(make_settings: Any) -> None:
    settings = make_settings()
    with TestClient(create_app(settings, prepare(settings))) as anonymous:
        page = anonymous.get("/", follow_redirects=False)
        assert (page.status_code, page.headers["location"]) == (303, "/login?next=%2F")
        api = anonymous.get("/api/v1/sources")
        assert (api.status_code, api.json()) == (401, {"detail": "sign in first"})
        assert anonymous.get("/healthz").json() == {"status": "ok"}
        assert anonymous.get("/static/ascolto.css").status_code == 200
