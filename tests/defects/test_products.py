"""Which product a complaint is about: named in it (aliases, SKUs, typos) or bought."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from classify.products import ProductMatcher, ProductSpec
from storage.db import session_scope
from storage.models import OrderLine
from storage.orders import NewOrder, NewOrderLine, upsert_orders
from tests.defects.conftest import World, detect, theme_vector
from tests.factories import at


def order(world: World, number: str, email: str, *lines: NewOrderLine) -> None:
    with session_scope(world.engine) as session:
        upsert_orders(
            session,
            source_id=world.source("shop"),
            orders=[NewOrder(external_id=number, email=email, lines=list(lines), ordered_at=at())],
        )


def test_an_unnamed_complaint_counts_for_the_one_watched_product_its_author_bought(
    world: World, make_settings: Any, engine: Engine
) -> None:
    settings = make_settings()
    tab = world.product("Acme Tab 3", skus=["AT3-128-GRY"])
    world.product("Acme Buds", skus=["ABUDS-WHT"])
    order(world, "1001", "marco@example.it", NewOrderLine("at3-128-gry", "Tablet", 1))
    order(
        world,
        "1002",
        "giulia@example.it",
        NewOrderLine("AT3-128-GRY", "Tablet", 1, Decimal("329")),
        NewOrderLine("ABUDS-WHT", "Buds", 1, Decimal("79")),
    )
    with Session(engine) as session:
        matched = session.exec(select(OrderLine.sku, OrderLine.product_id)).all()
    assert ("at3-128-gry", tab) in matched

    # E-mail handles link authors to customers as they are first stored.
    marco = world.mention("la batteria si scarica di notte", author="marco@example.it")
    giulia = world.mention("si scarica di notte anche a me", author="giulia@example.it")
    stranger = world.mention("mine drains overnight", author="someone")
    for n, mention_id in enumerate((marco, giulia, stranger)):
        world.label(mention_id, vector=theme_vector(0, seed=n), products=[])
    report = detect(settings, engine, at(hours=20))
    assert report.complaints == 1
    (cluster,) = world.clusters()
    assert cluster.product_id == tab
    # Giulia bought two watched products: which one she means is unknown, so neither.
    assert world.members(cluster.id or 0) == {marco}


def test_products_are_recognised_by_alias_sku_and_misspelling_in_both_languages() -> None:
    matcher = ProductMatcher(
        [
            ProductSpec("Acme Tab 3", aliases=["Tab 3", "AcmeTab3"], skus=["AT3-128-GRY"]),
            ProductSpec("Acme Buds", aliases=["Buds"], skus=["ABUDS-WHT"]),
        ]
    )
    assert matcher.match("My Acme Tab 3 drains overnight") == ["Acme Tab 3"]
    assert matcher.match("il mio tab 3 si scarica di notte") == ["Acme Tab 3"]
    assert matcher.match("la acmetab3 si surriscalda") == ["Acme Tab 3"]
    assert matcher.match("ordine AT3 128 GRY arrivato rotto") == ["Acme Tab 3"]
    assert matcher.match("the Acme Tabb 3 keeps rebooting") == ["Acme Tab 3"]
    assert matcher.match("gli auricolari abuds-wht non si accoppiano") == ["Acme Buds"]
    assert matcher.match("I love my new headphones") == []


def test_order_lines_match_products_by_sku_whatever_the_case_and_separators(
    world: World, engine: Engine
) -> None:
    tab = world.product("Acme Tab 3", skus=["AT3-128-GRY"])
    buds = world.product("Acme Buds", skus=["ABUDS-WHT"])
    order(
        world,
        "2001",
        "anna@example.it",
        NewOrderLine(" at3-128-gry ", None, 1),
        NewOrderLine("AT3 128 GRY", None, 1),
        NewOrderLine("abuds_wht", None, 1),
        NewOrderLine("AT3-128", None, 1),
    )
    with Session(engine) as session:
        lines = session.exec(select(OrderLine).order_by(OrderLine.id)).all()
    assert [line.product_id for line in lines] == [tab, tab, buds, None]
