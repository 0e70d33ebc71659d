"""Which orders a campaign is about: its trigger, then its segment."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from outreach.campaigns.settings import CampaignSettings
from policies.context import primary_language
from storage.campaigns import OrderView


def trigger_time(view: OrderView, trigger: str) -> datetime | None:
    """When the order met the trigger, or None when it did not."""
    order = view.order
    if trigger == "delivered":
        return order.delivered_at
    if trigger == "shipped":
        return order.shipped_at
    if trigger == "return":
        return order.returned_at
    if trigger == "first_order":
        return order.ordered_at if view.earlier_orders == 0 else None
    if trigger == "repeat_order":
        return order.ordered_at if view.earlier_orders > 0 else None
    raise ValueError(f"unknown trigger {trigger!r}")


def outside_segment(view: OrderView, config: CampaignSettings) -> str | None:
    """Why the order is not in the campaign's segment (a few words), or None when it is."""
    order, customer = view.order, view.customer
    if customer is None:
        return "no known buyer"
    if config.products and not set(config.products) & set(view.product_names):
        return "product"
    if config.currency and order.currency != config.currency:
        return "currency"
    total = order.total
    if config.min_total is not None and (total is None or total < _amount(config.min_total)):
        return "order value"
    if config.max_total is not None and (total is None or total > _amount(config.max_total)):
        return "order value"
    if config.countries and (customer.country or "").upper() not in config.countries:
        return "country"
    if config.languages and primary_language(customer.language) not in config.languages:
        return "language"
    if config.first_time_buyer is True and view.earlier_orders > 0:
        return "repeat buyer"
    if config.first_time_buyer is False and view.earlier_orders == 0:
        return "first-time buyer"
    return None


def _amount(value: float) -> Decimal:
    # Settings floats compared with stored cents: 49.99 must not become 49.9899...
    return Decimal(str(value))
