"""Planning: one check-in per eligible order, due after the delay, in the send window."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from ascolto.settings import Settings
from outreach.campaigns import preview, run_campaigns
from storage.orders import NewOrderLine
from tests.campaigns.conftest import (
    add_order,
    campaign_toml,
    checkin_of,
    checkins,
    outbox,
    setup_products,
)

ROME = ZoneInfo("Europe/Rome")
NEW_YORK = ZoneInfo("America/New_York")
SYDNEY = ZoneInfo("Australia/Sydney")
BEFORE = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)


def rome(*args: int) -> datetime:
    return datetime(*args, tzinfo=ROME).astimezone(UTC)  # type: ignore[misc]


def test_each_delivered_order_gets_one_check_in_at_its_customers_time(
    campaign_settings: Callable[..., Settings], engine: Engine
) -> None:
    settings = campaign_settings(campaign_toml(starts_on="2026-11-01"))
    setup_products(engine, settings)
    delivered = datetime(2026, 11, 3, 14, 0, tzinfo=UTC)
    in_rome = add_order(engine, delivered_at=delivered)
    in_new_york = add_order(
        engine, timezone="America/New_York", language="en", country="US", delivered_at=delivered
    )
    in_sydney = add_order(
        engine, timezone="Australia/Sydney", language="en", country="AU", delivered_at=delivered
    )
    unknown_zone = add_order(engine, timezone=None, delivered_at=delivered)

    run = run_campaigns(settings, engine, now=BEFORE)
    assert run.planned == {"after-delivery": 4}
    assert run.sent_total == 0

    # 15:00 in Rome + 3 days, inside 10-19: the same clock time.
    assert checkin_of(engine, in_rome).due_at == rome(2026, 11, 6, 15, 0)
    # 09:00 in New York + 3 days: before the window opens, so 10:00.
    due = checkin_of(engine, in_new_york).due_at.astimezone(NEW_YORK)
    assert due.replace(tzinfo=None) == datetime(2026, 11, 6, 10, 0)
    # 01:00 the next day in Sydney + 3 days, so 10:00 on the 7th.
    due = checkin_of(engine, in_sydney).due_at.astimezone(SYDNEY)
    assert due.replace(tzinfo=None) == datetime(2026, 11, 7, 10, 0)
    # No zone known: the campaign's (UTC): 14:00.
    assert checkin_of(engine, unknown_zone).due_at == datetime(2026, 11, 6, 14, 0, tzinfo=UTC)
    assert [c.language for c in checkins(engine)] == ["it", "en", "en", "it"]

    # Planning again, or later, never adds a second check-in for an order.
    assert run_campaigns(settings, engine, now=BEFORE).planned == {"after-delivery": 0}
    assert run_campaigns(settings, engine, now=BEFORE + timedelta(hours=5)).planned == {
        "after-delivery": 0
    }
    assert len(checkins(engine)) == 4


def test_due_check_ins_go_out_in_their_window_and_not_before(
    campaign_settings: Callable[..., Settings], engine: Engine
) -> None:
    settings = campaign_settings(campaign_toml(starts_on="2026-11-01"))
    setup_products(engine, settings)
    rome_order = add_order(engine)
    new_york_order = add_order(engine, timezone="America/New_York", language="en")

    # 15:00 in Rome on the 6th is 09:00 in New York: only Rome's is due.
    run = run_campaigns(settings, engine, now=rome(2026, 11, 6, 15, 0))
    assert run.sent_total == 1
    assert checkin_of(engine, rome_order).status == "sent"
    assert checkin_of(engine, new_york_order).status == "scheduled"
    # 10:00 in New York.
    run = run_campaigns(settings, engine, now=datetime(2026, 11, 6, 15, 0, tzinfo=UTC))
    assert run.sent_total == 1
    assert [m.key for m in outbox(engine)] == [
        f"checkin:{checkin_of(engine, rome_order).id}",
        f"checkin:{checkin_of(engine, new_york_order).id}",
    ]


def test_the_delay_keeps_the_clock_time_across_the_spring_change_in_rome(
    campaign_settings: Callable[..., Settings], engine: Engine
) -> None:
    settings = campaign_settings(campaign_toml(starts_on="2027-03-01"))
    setup_products(engine, settings)
    # Friday 15:00 winter time; clocks go forward on Sunday the 28th.
    friday = rome(2027, 3, 26, 15, 0)
    order_id = add_order(engine, ordered_at=friday - timedelta(days=3), delivered_at=friday)
    run_campaigns(settings, engine, now=friday + timedelta(hours=1))
    due = checkin_of(engine, order_id).due_at
    assert due.astimezone(ROME).replace(tzinfo=None) == datetime(2027, 3, 29, 15, 0)
    assert due - friday == timedelta(hours=71)
    # An hour before, by the UTC clock a naive 72 hours would pick, nothing is due.
    assert run_campaigns(settings, engine, now=due - timedelta(minutes=1)).sent_total == 0
    assert run_campaigns(settings, engine, now=due).sent_total == 1


def test_the_segment_picks_products_values_countries_languages_and_first_buyers(
    campaign_settings: Callable[..., Settings], engine: Engine
) -> None:
    settings = campaign_settings(
        campaign_toml(
            starts_on="2026-11-01",
            products=["Acme Tab 3"],
            countries=["it", "GB"],
            languages=["it", "en"],
            min_total=50,
            max_total=500,
            first_time_buyer=True,
        )
    )
    setup_products(engine, settings)
    wanted = add_order(engine, email="first@example.com")
    add_order(engine, email="gb@example.com", country="GB", language="en-GB")
    add_order(engine, email="buds@example.com", lines=[NewOrderLine("BUDS", "Acme Buds", 1, None)])
    add_order(engine, email="fr@example.com", country="FR", language="fr")
    add_order(engine, email="de-it@example.com", language="de")
    add_order(engine, email="cheap@example.com", total=Decimal("49.99"))
    add_order(engine, email="dear@example.com", total=Decimal("500.01"))
    # A repeat buyer: an earlier order, then this one.
    add_order(
        engine,
        email="again@example.com",
        ordered_at=datetime(2026, 9, 1, tzinfo=UTC),
        delivered_at=datetime(2026, 9, 3, tzinfo=UTC),
    )
    add_order(engine, email="again@example.com")

    shown = preview(settings, engine, "after-delivery", now=BEFORE)
    assert sorted(e.customer for e in shown.entries) == ["first@example.com", "gb@example.com"]
    assert shown.outside == {
        "product": 1,
        "country": 1,
        "language": 1,
        "order value": 2,
        "repeat buyer": 1,
        # The first order of the repeat buyer was delivered long before the campaign.
    }
    run = run_campaigns(settings, engine, now=BEFORE)
    assert run.planned == {"after-delivery": 2}
    assert checkin_of(engine, wanted).language == "it"
    assert {c.language for c in checkins(engine)} == {"it", "en"}


def test_first_repeat_shipped_and_return_triggers(
    campaign_settings: Callable[..., Settings], engine: Engine
) -> None:
    settings = campaign_settings(
        *(
            campaign_toml(name, trigger=trigger, delay=delay, starts_on="2026-08-01", late_days=10)
            for name, trigger, delay in (
                ("welcome", "first_order", "1d"),
                ("again", "repeat_order", "1d"),
                ("on-the-way", "shipped", "1h"),
                ("returns", "return", "2d"),
            )
        )
    )
    setup_products(engine, settings)
    first = add_order(engine, email="p@example.com", ordered_at=datetime(2026, 9, 1, tzinfo=UTC))
    second = add_order(engine, email="p@example.com")
    returned = add_order(
        engine, email="r@example.com", returned_at=datetime(2026, 11, 4, 9, tzinfo=UTC)
    )
    run_campaigns(settings, engine, now=datetime(2026, 11, 10, 12, tzinfo=UTC))
    by_campaign: dict[int, set[int]] = {}
    for checkin in checkins(engine):
        by_campaign.setdefault(checkin.campaign_id, set()).add(checkin.order_id)
    welcome, again, on_the_way, returns = (by_campaign.get(i, set()) for i in (1, 2, 3, 4))
    assert first not in welcome  # its due time was long before the campaign's late days
    assert returned in welcome  # r@ ordered once: a first order
    assert again == {second}
    assert returns == {returned}
    assert second in on_the_way
    assert returned in on_the_way


def test_orders_due_before_the_campaign_starts_or_after_it_ends_are_left_out(
    campaign_settings: Callable[..., Settings], engine: Engine
) -> None:
    settings = campaign_settings(campaign_toml(starts_on="2026-11-06", ends_on="2026-11-07"))
    setup_products(engine, settings)
    too_early = add_order(engine, delivered_at=rome(2026, 11, 2, 23, 0))  # due on the 5th
    first_day = add_order(engine, delivered_at=rome(2026, 11, 3, 0, 30))  # due on the 6th
    last_day = add_order(engine, delivered_at=rome(2026, 11, 4, 23, 30))  # due on the 7th
    too_late = add_order(engine, delivered_at=rome(2026, 11, 5, 0, 30))  # due on the 8th
    shown = preview(settings, engine, "after-delivery", now=rome(2026, 11, 5, 12, 0))
    assert shown.outside == {"outside the campaign's dates": 2}
    run_campaigns(settings, engine, now=rome(2026, 11, 5, 12, 0))
    assert {c.order_id for c in checkins(engine)} == {first_day, last_day}
    assert too_early not in {c.order_id for c in checkins(engine)}
    assert too_late not in {c.order_id for c in checkins(engine)}


def test_an_order_stored_late_still_gets_its_check_in_unless_too_late(
    campaign_settings: Callable[..., Settings], engine: Engine
) -> None:
    settings = campaign_settings(campaign_toml(starts_on="2026-11-01", late_days=2))
    setup_products(engine, settings)
    now = rome(2026, 11, 10, 12, 0)
    # Delivered on the 6th, due on the 9th at 15:00; the delivery event arrives on the 10th.
    recent = add_order(engine, delivered_at=rome(2026, 11, 6, 15, 0))
    # Delivered on the 4th, due on the 7th: three days ago, beyond `late_days`.
    old = add_order(engine, delivered_at=rome(2026, 11, 4, 15, 0))
    run = run_campaigns(settings, engine, now=now)
    assert run.sent_total == 1
    assert checkin_of(engine, recent).status == "sent"
    late = checkin_of(engine, old)
    assert (late.status, late.skip_reason) == ("skipped", "late")
    assert "more than 2 day(s) ago" in (late.skip_details or "")


def test_a_paused_campaign_plans_but_sends_nothing_until_resumed(
    campaign_settings: Callable[..., Settings], engine: Engine
) -> None:
    from storage import campaigns as store
    from storage.db import session_scope

    settings = campaign_settings(campaign_toml(starts_on="2026-11-01"))
    setup_products(engine, settings)
    order_id = add_order(engine)
    run_campaigns(settings, engine, now=BEFORE)
    with session_scope(engine) as session:
        row = store.get_campaign(session, "after-delivery")
        assert row is not None
        assert store.set_paused(session, row, paused=True, by="sara")
    due = checkin_of(engine, order_id).due_at
    assert run_campaigns(settings, engine, now=due).sent_total == 0
    assert preview(settings, engine, "after-delivery", now=due).paused
    with session_scope(engine) as session:
        row = store.get_campaign(session, "after-delivery")
        assert row is not None
        assert store.set_paused(session, row, paused=False, by="sara")
    assert run_campaigns(settings, engine, now=due + timedelta(hours=1)).sent_total == 1
