"""Whole-database counts, for summaries on the command line."""

from __future__ import annotations

from sqlmodel import Session, col, func, select

from storage.models import Customer, Mention, Order, OrderEvent, QuarantinedItem


def totals(session: Session) -> dict[str, int]:
    """How many mentions, near-duplicates, orders, order events, customers and quarantined
    items are stored."""

    def count(query: object) -> int:
        return int(session.exec(query).one())  # type: ignore[call-overload]

    return {
        "mentions": count(select(func.count()).select_from(Mention)),
        "near_duplicates": count(
            select(func.count()).where(col(Mention.duplicate_of_id).is_not(None))
        ),
        "orders": count(select(func.count()).select_from(Order)),
        "order_events": count(select(func.count()).select_from(OrderEvent)),
        "customers": count(select(func.count()).select_from(Customer)),
        "quarantined": count(select(func.count()).select_from(QuarantinedItem)),
    }
