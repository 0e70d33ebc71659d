"""Shopify orders listener against a real local HTTP server replaying recorded responses."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from ascolto.database import prepare
from ascolto.runtime.runner import run_source
from ascolto.settings import Settings
from storage.models import (
    Customer,
    ListenerRun,
    Order,
    OrderEvent,
    OrderLine,
    Product,
    QuarantinedItem,
)
from tests.feedserver import DATA, FeedServer, Reply, Seen

PATH = "/admin/api/2024-10/orders.json"
TOKEN_ENV = "ASCOLTO_TEST_SHOPIFY_TOKEN"
JSON = "application/json; charset=utf-8"


def recorded(name: str, **kwargs: object) -> Reply:
    """A recorded body with the headers of its .headers sidecar (status line from it too)."""
    body = (DATA / "shopify" / f"{name}.json").read_bytes()
    headers: dict[str, str] = {}
    status = 200
    sidecar = DATA / "shopify" / f"{name}.headers"
    if sidecar.exists():
        first, *rest = sidecar.read_text(encoding="utf-8").splitlines()
        status = int(first.split()[1])
        for line in rest:
            key, _, value = line.partition(":")
            if key.lower() not in ("content-type", "date", "server"):
                headers[key.strip()] = value.strip()
    values: dict[str, object] = {"status": status, "headers": headers, "content_type": JSON}
    return Reply(body=body, **{**values, **kwargs})  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, "shpat_test_token")


@pytest.fixture
def shop(make_settings, server: FeedServer) -> Settings:  # type: ignore[no-untyped-def]
    settings: Settings = make_settings(
        "[[products]]\n"
        'name = "Acme Tab 3"\n'
        'skus = ["acme-tab3-128-gry"]\n\n'
        "[[products]]\n"
        'name = "Acme Buds"\n\n'
        "[[sources]]\n"
        'name = "shop"\n'
        'kind = "shopify"\n'
        "allow_private_addresses = true\n"
        f'shop_url = "{server.url("")}"\n'
        f'token_env = "{TOKEN_ENV}"\n'
        "page_size = 2\n"
    )
    return settings


def run(settings: Settings) -> tuple[Engine, object]:
    engine = prepare(settings)
    return engine, run_source(settings, engine, "shop", trigger="manual")


def hits(server: FeedServer) -> list[Seen]:
    """Requests to the orders endpoint, whatever their query string."""
    return [r for r in server.requests if r.path.split("?", 1)[0] == PATH]


def query_of(seen_path: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(seen_path).query)


def test_follows_link_pagination_and_stores_orders_events_customers(
    shop: Settings, server: FeedServer
) -> None:
    server.route(PATH, recorded("orders_page1"), recorded("orders_page2"))
    engine, report = run(shop)
    assert report.status == "ok", report.error  # type: ignore[attr-defined]
    assert (report.new, report.orders_new, report.order_events) == (3, 3, 7)  # type: ignore[attr-defined]

    first, second = hits(server)
    assert first.headers["X-Shopify-Access-Token"] == "shpat_test_token"
    assert query_of(first.path) == {"status": ["any"], "limit": ["2"]}
    # The next page is asked with its page_info only: filters are not resent.
    assert set(query_of(second.path)) == {"limit", "page_info"}
    assert second.headers["X-Shopify-Access-Token"] == "shpat_test_token"

    with Session(engine) as session:
        orders = {o.extra["name"]: o for o in session.exec(select(Order)).all()}
        assert {name: o.status for name, o in orders.items()} == {
            "#1043": "shipped",
            "#1042": "refunded",
            "#1041": "delivered",
        }
        assert orders["#1043"].total == Decimal("408.00")
        events = {
            (o.extra["name"], e.event)
            for o, e in session.exec(
                select(Order, OrderEvent).join(OrderEvent, col(OrderEvent.order_id) == Order.id)
            ).all()
        }
        assert events == {
            ("#1043", "ordered"),
            ("#1043", "shipped"),
            ("#1042", "ordered"),
            ("#1042", "refunded"),
            ("#1041", "ordered"),
            ("#1041", "shipped"),
            ("#1041", "delivered"),
        }
        customers = {c.email: c for c in session.exec(select(Customer)).all()}
        assert customers["marco.bellini@example.it"].consent is False  # unsubscribed
        assert customers["giulia.ferri@example.it"].consent is True  # subscribed
        assert customers["jen.hale@example.com"].country == "US"
        products = {p.id: p.name for p in session.exec(select(Product)).all()}
        matched = {
            (line.sku, products.get(line.product_id or 0))
            for line in session.exec(select(OrderLine)).all()
        }
        assert matched == {("ACME-TAB3-128-GRY", "Acme Tab 3"), ("ACME-BUDS-WHT", "Acme Buds")}
        last = session.exec(select(ListenerRun)).one()
        assert last.cursor == {"updated_at_min": "2026-11-23T11:20:46+01:00"}


def test_rerun_from_the_cursor_stores_nothing_new(shop: Settings, server: FeedServer) -> None:
    server.route(PATH, recorded("orders_page1"), recorded("orders_page2"))
    engine, _ = run(shop)
    # The shop answers the cursor's query with the last order again (updated_at_min is >=).
    newest = _page("orders_page1")["orders"][:1]  # type: ignore[index]
    server.route(PATH, Reply(body=json.dumps({"orders": newest}).encode(), content_type=JSON))
    report = run_source(shop, engine, "shop", trigger="manual")
    assert report.status == "ok"
    assert (report.new, report.updated, report.order_events) == (0, 0, 0)
    assert query_of(hits(server)[-1].path)["updated_at_min"] == ["2026-11-23T11:20:46+01:00"]
    with Session(engine) as session:
        assert len(session.exec(select(Order)).all()) == 3
        assert len(session.exec(select(OrderEvent)).all()) == 7


def _page(name: str) -> dict[str, object]:
    data = json.loads((DATA / "shopify" / f"{name}.json").read_bytes())
    return {"orders": data["orders"]}


def test_waits_out_429_with_fractional_retry_after(shop: Settings, server: FeedServer) -> None:
    server.route(PATH, recorded("orders_429"), recorded("orders_page2"))
    started = time.monotonic()
    _engine, report = run(shop)
    assert report.status == "ok", report.error  # type: ignore[attr-defined]
    assert report.new == 1  # type: ignore[attr-defined]
    first, second = hits(server)
    # Retry-After "2.0" is honoured, not replaced by the (shorter) backoff.
    assert second.at - first.at >= 1.9
    assert time.monotonic() - started < 10


def test_retries_5xx_then_fails_without_storing_or_moving_the_cursor(
    shop: Settings, server: FeedServer
) -> None:
    server.route(PATH, Reply(status=503, body=b"busy"), recorded("orders_page2"))
    engine, report = run(shop)
    assert report.status == "ok"  # type: ignore[attr-defined]
    server.route(PATH, Reply(status=502, body=b"bad gateway", content_type="text/html"))
    report = run_source(shop, engine, "shop", trigger="manual")
    assert report.status == "failed"
    assert "502" in (report.error or "")
    with Session(engine) as session:
        assert len(session.exec(select(Order)).all()) == 1
        runs = session.exec(select(ListenerRun).order_by(col(ListenerRun.id))).all()
        assert runs[-1].cursor is None
        assert runs[0].cursor == {"updated_at_min": "2026-11-22T14:03:11+01:00"}


def test_bad_page_mid_pagination_stores_nothing(shop: Settings, server: FeedServer) -> None:
    server.route(
        PATH,
        recorded("orders_page1"),
        Reply(body=(DATA / "shopify/orders_truncated.json").read_bytes()),
    )
    engine, report = run(shop)
    assert report.status == "failed"  # type: ignore[attr-defined]
    assert "not valid JSON" in (report.error or "")  # type: ignore[attr-defined]
    with Session(engine) as session:
        assert session.exec(select(Order)).all() == []


def test_401_is_blocked_not_empty(shop: Settings, server: FeedServer) -> None:
    server.route(PATH, recorded("orders_401", status=401))
    engine, report = run(shop)
    assert report.status == "blocked"  # type: ignore[attr-defined]
    with Session(engine) as session:
        assert session.exec(select(ListenerRun)).one().status == "blocked"


def test_missing_token_fails_naming_the_variable(
    shop: Settings, server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(TOKEN_ENV)
    server.route(PATH, recorded("orders_page2"))
    _, report = run(shop)
    assert report.status == "failed"  # type: ignore[attr-defined]
    assert TOKEN_ENV in (report.error or "")  # type: ignore[attr-defined]
    assert hits(server) == []


def test_invalid_order_is_quarantined_with_reason_and_others_stored(
    shop: Settings, server: FeedServer, tmp_path: Path
) -> None:
    page = _page("orders_page1")
    orders = page["orders"]
    assert isinstance(orders, list)
    orders[0]["email"] = "marco at example"
    orders[0]["contact_email"] = None
    server.route(PATH, Reply(body=json.dumps(page).encode(), content_type=JSON))
    engine, report = run(shop)
    assert (report.status, report.new, report.quarantined) == ("ok", 1, 1)  # type: ignore[attr-defined]
    with Session(engine) as session:
        item = session.exec(select(QuarantinedItem)).one()
        assert item.external_id == "6123456789203"
        assert "email" in item.reason
