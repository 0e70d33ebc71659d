"""Orders: idempotent upsert, one event per stage, customers, products, linking people."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from storage.db import session_scope
from storage.mentions import NewMention
from storage.models import (
    AuditEvent,
    Author,
    Customer,
    ListenerRun,
    Mention,
    Order,
    OrderEvent,
    OrderLine,
    Product,
    Source,
)
from storage.orders import (
    NewOrder,
    NewOrderLine,
    OrderCounts,
    link_people,
    order_events,
    problems,
    upsert_orders,
)
from storage.runs import finish_run, start_run
from tests.factories import OWNER, at, make_item, make_run, make_source


@pytest.fixture
def source_id(engine: Engine) -> int:
    with session_scope(engine) as session:
        session.add(Product(name="Acme Tab 3", aliases=["Tab 3"], skus=["ACME-TAB3-128-GRY"]))
        session.add(Product(name="Acme Tab 3 Pro", aliases=[], skus=[]))
        session.add(Product(name="Acme Buds", aliases=["Buds"], skus=["ACME-BUDS-WHT"]))
        return make_source(session, "shop", kind="shopify").id or 0


def order(**overrides: object) -> NewOrder:
    values: dict[str, object] = {
        "external_id": "1001",
        "email": "marco.bellini@example.it",
        "name": "Marco Bellini",
        "country": "IT",
        "language": "it",
        "timezone": "Europe/Rome",
        "consent": True,
        "currency": "EUR",
        "total": Decimal("408.00"),
        "lines": [
            NewOrderLine("acme-tab3-128-gry", "Tablet", 1, Decimal("329.00")),
            NewOrderLine(None, "ACME BUDS - Bianco", 1, Decimal("79")),
        ],
        "ordered_at": at(0),
    }
    values.update(overrides)
    return NewOrder(**values)  # type: ignore[arg-type]


def upsert(engine: Engine, source_id: int, *orders: NewOrder) -> OrderCounts:
    with session_scope(engine) as session:
        return upsert_orders(session, source_id=source_id, orders=list(orders))


def count(engine: Engine, model: type) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def events(engine: Engine) -> list[tuple[str, str]]:
    with Session(engine) as session:
        rows = session.exec(
            select(Order.external_id, OrderEvent.event)
            .join(Order, col(Order.id) == OrderEvent.order_id)
            .order_by(col(Order.external_id), col(OrderEvent.at))
        ).all()
        return [(a, b) for a, b in rows]


def test_replayed_order_is_stored_once_with_one_event_per_stage(
    engine: Engine, source_id: int
) -> None:
    first = upsert(engine, source_id, order())
    assert (first.new, first.updated, first.events, first.customers_new) == (1, 0, 1, 1)

    again = upsert(engine, source_id, order())
    assert (again.new, again.updated, again.unchanged, again.events) == (0, 0, 1, 0)
    assert count(engine, Order) == 1
    assert count(engine, OrderLine) == 2
    assert events(engine) == [("1001", "ordered")]


def test_each_transition_adds_one_event_and_replays_add_none(
    engine: Engine, source_id: int
) -> None:
    shipped = order(shipped_at=at(hours=20))
    delivered = replace(shipped, delivered_at=at(days=2))
    upsert(engine, source_id, order())
    assert upsert(engine, source_id, shipped).events == 1
    assert upsert(engine, source_id, delivered).events == 1
    # A late copy of an older state (a re-poll, a delayed webhook) changes nothing back.
    late = upsert(engine, source_id, order(), shipped)
    assert late.events == 0
    assert events(engine) == [("1001", "ordered"), ("1001", "shipped"), ("1001", "delivered")]
    with Session(engine) as session:
        stored = session.exec(select(Order)).one()
        assert stored.status == "delivered"
        assert stored.delivered_at == at(days=2)
        assert stored.total == Decimal("408.00")
        assert order_events(session, stored.id or 0)[-1] == ("delivered", at(days=2))


def test_partial_payload_keeps_what_was_known(engine: Engine, source_id: int) -> None:
    upsert(engine, source_id, order(shipped_at=at(hours=3)))
    refund_only = NewOrder(external_id="1001", refunded_at=at(days=5), extra={"refund": 1})
    counts = upsert(engine, source_id, refund_only)
    assert (counts.updated, counts.events) == (1, 1)
    with Session(engine) as session:
        stored = session.exec(select(Order)).one()
        assert stored.status == "refunded"
        assert stored.shipped_at == at(hours=3)
        assert stored.total == Decimal("408.00")
        assert stored.currency == "EUR"
        assert stored.customer_id is not None
        assert stored.extra["refund"] == 1
    assert count(engine, OrderLine) == 2


def test_same_external_id_in_another_source_is_another_order(
    engine: Engine, source_id: int
) -> None:
    with session_scope(engine) as session:
        other = make_source(session, "csv", kind="import").id or 0
    upsert(engine, source_id, order())
    upsert(engine, other, order())
    assert count(engine, Order) == 2
    assert count(engine, Customer) == 1


def test_customers_are_matched_on_normalised_email(engine: Engine, source_id: int) -> None:
    upsert(engine, source_id, order(external_id="1", email="  Marco.Bellini@Example.IT "))
    counts = upsert(engine, source_id, order(external_id="2", email="marco.bellini@example.it"))
    assert counts.customers_new == 0
    with Session(engine) as session:
        customer = session.exec(select(Customer)).one()
        assert customer.email == "marco.bellini@example.it"
        assert {o.customer_id for o in session.exec(select(Order)).all()} == {customer.id}
        assert (customer.country, customer.language, customer.timezone) == (
            "IT",
            "it",
            "Europe/Rome",
        )


def test_do_not_contact_is_never_cleared_and_consent_follows_the_source(
    engine: Engine, source_id: int
) -> None:
    upsert(engine, source_id, order(external_id="1", consent=True, do_not_contact=True))
    upsert(engine, source_id, order(external_id="2", consent=False, do_not_contact=False))
    with Session(engine) as session:
        customer = session.exec(select(Customer)).one()
        assert customer.do_not_contact is True
        assert customer.consent is False
    # A source that does not say anything about consent leaves it as it is.
    upsert(engine, source_id, order(external_id="3", consent=None))
    with Session(engine) as session:
        assert session.exec(select(Customer)).one().consent is False


def test_lines_match_products_by_sku_then_name_or_alias(engine: Engine, source_id: int) -> None:
    lines = [
        NewOrderLine("ACME-tab3-128-gry", "something else", 1, Decimal("329")),
        NewOrderLine("UNKNOWN-SKU", "Acme Buds - Bianco", 2, Decimal("79")),
        NewOrderLine(None, "acme tab 3 pro 256GB", 1, None),
        NewOrderLine(None, "Tab 3 cover", 1, None),
        NewOrderLine(None, "Gift card", 1, Decimal("25")),
        NewOrderLine(None, "Acme Tabby", 1, None),
    ]
    upsert(engine, source_id, order(lines=lines))
    with Session(engine) as session:
        names = {p.id: p.name for p in session.exec(select(Product)).all()}
        stored = session.exec(select(OrderLine).order_by(col(OrderLine.id))).all()
        assert [names.get(line.product_id or 0) for line in stored] == [
            "Acme Tab 3",
            "Acme Buds",
            "Acme Tab 3 Pro",
            "Acme Tab 3",
            None,
            None,
        ]
        assert stored[1].quantity == 2


def test_changed_lines_replace_the_old_ones(engine: Engine, source_id: int) -> None:
    upsert(engine, source_id, order())
    fewer = order(lines=[NewOrderLine("ACME-BUDS-WHT", "Acme Buds", 1, Decimal("79.00"))])
    assert upsert(engine, source_id, fewer).updated == 1
    assert count(engine, OrderLine) == 1


def test_invalid_orders_are_refused_before_anything_is_written(
    engine: Engine, source_id: int
) -> None:
    bad = order(email="marco at example", currency="euro", total=Decimal("-1"))
    found = problems(bad)
    assert any(p.startswith("email") for p in found)
    assert any(p.startswith("currency") for p in found)
    assert any(p.startswith("total") for p in found)
    with pytest.raises(ValueError, match="email"), session_scope(engine) as session:
        upsert_orders(session, source_id=source_id, orders=[order(external_id="ok"), bad])
    assert count(engine, Order) == 0


# --- linking authors and customers -------------------------------------------------


def add_author(engine: Engine, platform: str, handle: str, **kw: object) -> int:
    with session_scope(engine) as session:
        author = Author(platform=platform, handle=handle, **kw)  # type: ignore[arg-type]
        session.add(author)
        session.flush()
        return author.id or 0


def author_customer(engine: Engine, author_id: int) -> int | None:
    with Session(engine) as session:
        author = session.get(Author, author_id)
        assert author is not None
        return author.customer_id


def customer_id(engine: Engine, email: str) -> int:
    with Session(engine) as session:
        return session.exec(select(Customer.id).where(Customer.email == email)).one() or 0


def test_author_whose_handle_is_the_customer_email_is_linked(
    engine: Engine, source_id: int
) -> None:
    by_email = add_author(engine, "forum.acme.example", " Marco.Bellini@example.IT")
    same_name = add_author(engine, "reddit", "mbellini", display_name="Marco Bellini")
    counts = upsert(engine, source_id, order())
    assert counts.linked == 1
    marco = customer_id(engine, "marco.bellini@example.it")
    assert author_customer(engine, by_email) == marco
    # The same display name is not the same person.
    assert author_customer(engine, same_name) is None


def test_explicit_handle_links_an_existing_author_and_a_future_one(
    engine: Engine, source_id: int
) -> None:
    existing = add_author(engine, "reddit", "Marco_B")
    upsert(
        engine,
        source_id,
        order(handles=(("reddit", "@marco_b"), ("mastodon:mastodon.social", "marcob"))),
    )
    marco = customer_id(engine, "marco.bellini@example.it")
    assert author_customer(engine, existing) == marco
    # A mention by the second account, fetched later, arrives already linked.
    with session_scope(engine) as session:
        forum = make_source(session, "masto").id or 0
    item = make_item(author_platform="mastodon:mastodon.social", author_handle="marcob")
    make_run(engine, forum, [item])
    with Session(engine) as session:
        mention = session.exec(select(Mention).where(Mention.source_id == forum)).one()
        author = session.get(Author, mention.author_id)
        assert author is not None
        assert author.customer_id == marco


def test_author_linked_to_one_customer_is_not_moved_to_another(
    engine: Engine, source_id: int
) -> None:
    upsert(engine, source_id, order(handles=(("reddit", "shared_account"),)))
    counts = upsert(
        engine,
        source_id,
        order(external_id="2", email="giulia@example.it", handles=(("reddit", "shared_account"),)),
    )
    assert (counts.linked, counts.link_conflicts) == (0, 1)
    with Session(engine) as session:
        author = session.exec(select(Author).where(Author.handle == "shared_account")).one()
    assert author.customer_id == customer_id(engine, "marco.bellini@example.it")


def test_new_mention_author_is_linked_to_a_known_customer(engine: Engine, source_id: int) -> None:
    upsert(engine, source_id, order())
    with session_scope(engine) as session:
        forum = make_source(session, "forum").id or 0
    item = make_item(author_platform="forum", author_handle="marco.bellini@example.it")
    make_run(engine, forum, [item])
    with Session(engine) as session:
        author = session.exec(select(Author).where(Author.platform == "forum")).one()
    assert author.customer_id == customer_id(engine, "marco.bellini@example.it")
    assert link_people_count(engine) == (0, 0)


def link_people_count(engine: Engine) -> tuple[int, int]:
    with session_scope(engine) as session:
        return link_people(session)


# --- one transaction with the run --------------------------------------------------


def test_orders_are_stored_with_the_run_and_its_cursor(engine: Engine, source_id: int) -> None:
    run = make_run(engine, source_id, status="running")
    with session_scope(engine) as session:
        session.add(run)
        counts = finish_run(
            session,
            run,
            owner=OWNER,
            items=[],
            skipped=1,
            cursor={"updated_at_min": "2026-11-23T11:20:46+01:00"},
            orders=[order(), order(external_id="1002", shipped_at=at(hours=5))],
        )
    assert (counts.orders.new, counts.orders.events) == (2, 3)
    with Session(engine) as session:
        stored_run = session.get(ListenerRun, run.id)
        assert stored_run is not None
        assert (stored_run.items_seen, stored_run.items_new, stored_run.status) == (3, 2, "ok")
        audit_row = session.exec(
            select(AuditEvent).where(AuditEvent.action == "listener.run")
        ).all()[-1]
        assert audit_row.details["orders_new"] == 2
        assert audit_row.details["order_events"] == 3


def test_a_failed_transaction_stores_no_order_and_no_cursor(engine: Engine, source_id: int) -> None:
    run = make_run(engine, source_id, status="running")
    run_id = run.id

    def crash_before_commit() -> None:
        with session_scope(engine) as session:
            session.add(run)
            finish_run(
                session,
                run,
                owner=OWNER,
                items=[NewMention(external_id="m1", text="Acme Tab 3")],
                skipped=0,
                cursor={"updated_at_min": "x"},
                orders=[order()],
            )
            raise RuntimeError("crash before commit")

    with pytest.raises(RuntimeError):
        crash_before_commit()
    assert count(engine, Order) == 0
    assert count(engine, OrderEvent) == 0
    assert count(engine, Mention) == 0
    with Session(engine) as session:
        stored_run = session.get(ListenerRun, run_id)
        assert stored_run is not None
        assert stored_run.status == "running"
        assert stored_run.cursor is None
    # The lease is still held by the crashed run's owner, as for mentions.
    with session_scope(engine) as session:
        src = session.get(Source, source_id)
        assert src is not None
        assert start_run(session, src, owner="other", lease_seconds=60, trigger="x") is None
