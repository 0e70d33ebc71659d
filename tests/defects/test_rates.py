"""Rates per 1,000 units delivered: from stored orders, per product, SKU, batch and ship
week, against the product's and the catalogue's baseline, with a Wilson interval."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from ascolto.cli import defects as cli_defects
from ascolto.defects.rates import cluster_rates, rate_line
from classify.defects.rates import rate, wilson
from storage.db import session_scope
from storage.orders import NewOrder, NewOrderLine, upsert_orders
from tests.defects.conftest import World, detect
from tests.factories import at, make_source

PRODUCTS = (
    '[[products]]\nname = "Acme Mini"\nskus = ["MINI-1"]\n\n'
    '[[products]]\nname = "Acme Tab 3"\nskus = ["AT3-128", "AT3-256"]\n\n'
)


def test_wilson_interval_holds_the_rate_and_stays_in_bounds() -> None:
    low, high = wilson(5, 40)
    assert 0.05 < low < 5 / 40 < high < 0.27
    assert wilson(0, 10)[0] == 0.0
    assert rate(3, 0).per_1000 is None
    assert rate(20, 50_000).per_1000 == 0.4


def _orders(engine: Engine, orders: list[NewOrder]) -> None:
    with session_scope(engine) as session:
        source = make_source(session, "shop")
        upsert_orders(session, source_id=source.id or 0, orders=orders)


def test_a_small_products_five_on_forty_outranks_twenty_on_fifty_thousand(
    world: World, make_settings: Any, engine: Engine
) -> None:
    settings = make_settings(PRODUCTS)
    world.product("Acme Mini", skus=["MINI-1"])
    world.product("Acme Tab 3", skus=["AT3-128", "AT3-256"])
    orders = [
        NewOrder(
            external_id=f"M{i:04d}",
            email=f"mini{i}@example.com",
            lines=[NewOrderLine("MINI-1", "Acme Mini", 1)],
            shipped_at=at(days=-5 if i < 20 else -12),
            delivered_at=at(days=-3),
            handles=(("forum", f"mini{i}"),),
            extra={"batch": "B1" if i < 20 else "B2"},
        )
        for i in range(40)
    ]
    orders += [
        NewOrder(
            external_id=f"T{i}",
            email=f"tab{i}@example.com",
            lines=[NewOrderLine("AT3-128" if i % 2 else "AT3-256", "Acme Tab 3", 12_500)],
            shipped_at=at(days=-6),
            delivered_at=at(days=-4),
        )
        for i in range(4)
    ]
    _orders(engine, orders)
    # Five buyers of the Mini (four known by their handle, one naming the order number).
    mini = [
        world.complaint(
            "My Acme Mini battery drains overnight",
            theme=1,
            products=("Acme Mini",),
            author=f"mini{i}",
            when=at(hours=10 + i),
        )
        for i in range(4)
    ]
    mini.append(
        world.complaint(
            "Order #M0030: the Acme Mini drains its battery overnight",
            theme=1,
            products=("Acme Mini",),
            author="stranger",
            when=at(hours=15),
        )
    )
    tab = world.outbreak(20, theme=0, start_hours=10)
    detect(settings, engine, at(hours=40))

    with Session(engine) as session:
        rates = cluster_rates(session, now=at(hours=40))
    by_size = {r["complaints"]: (cid, r) for cid, r in rates.items()}
    _, small = by_size[5]
    _, big = by_size[20]
    assert (small["units"], small["per_1000"]) == (40, 125.0)
    assert (big["units"], big["per_1000"]) == (50_000, 0.4)
    assert small["interval"][0] > big["interval"][1]
    assert small["matched"] == {"order_number": 1, "customer": 4, "product_time": 0}
    assert big["matched"] == {"order_number": 0, "customer": 0, "product_time": 20}
    assert small["catalogue"]["units"] == 50_040
    assert small["product_baseline"]["complaints"] == 0
    batches = {r["key"]: r for r in small["by_batch"]}
    assert (batches["B1"]["complaints"], batches["B1"]["units"]) == (4, 20)
    assert (batches["B2"]["complaints"], batches["B2"]["units"]) == (1, 20)
    assert len(small["by_ship_week"]) == 2
    assert {r["key"] for r in big["by_sku"]} == {"AT3-128", "AT3-256"}
    assert "125.00 complaints per 1,000 units delivered" in rate_line(small)
    assert "ogni 1.000 unità consegnate" in rate_line(small, "it")
    assert (len(tab), len(mini)) == (20, 5)

    # The alert carries its rate, and the list puts the small product first.
    alerts = world.alerts()
    assert any((a.evidence.get("rates") or {}).get("per_1000") == 125.0 for a in alerts)
    assert any("per 1,000 units delivered" in a.summary for a in alerts)
    from ascolto.settings import use_settings

    use_settings(settings)
    listed = CliRunner().invoke(cli_defects.defects_app, ["list", "--json"])
    assert listed.exit_code == 0, listed.output
    first = json.loads(listed.output)[0]
    assert (first["product"], first["rates"]["per_1000"]) == ("Acme Mini", 125.0)
