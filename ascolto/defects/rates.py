"""Defect rates: each cluster's complaints per 1,000 units delivered, and how sure that is.

Units come from stored orders (lines of a known product with a delivery time). Each member
of a cluster is tied to the orders it is about, most certain way first: an order number it
names, else its author's own orders (the customer), else only the product and the time
(every unit of the product delivered by then). The method is reported with the figures,
so a reader knows how much of the SKU, batch and ship-week split rests on real orders.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session

from classify.defects.rates import rate
from storage.defect_rates import (
    DeliveredLine,
    MemberMention,
    delivered_lines,
    member_mentions,
    order_numbers,
)

METHODS = ("order_number", "customer", "product_time")
UNKNOWN = "unknown"


@dataclass
class _Tally:
    """Complainants (a customer, else a mention) per group key."""

    people: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def add(self, key: str, person: str) -> None:
        self.people[key].add(person)

    def count(self, key: str) -> int:
        return len(self.people.get(key, ()))


def ship_week(line: DeliveredLine) -> str:
    """ISO week the line shipped (or, not known, was delivered), e.g. 2026-W47."""
    at = line.shipped_at or line.delivered_at
    year, week, _ = at.isocalendar()
    return f"{year}-W{week:02d}"


def _match(member: MemberMention, lines: list[DeliveredLine]) -> tuple[str, DeliveredLine | None]:
    """How the member is tied to an order, and the order line when it is."""
    numbers = order_numbers(member.text)
    if numbers:
        named = [ln for ln in lines if ln.order_number.casefold().lstrip("#") in numbers]
        if named:
            return "order_number", named[0]
    if member.customer_id is not None:
        own = [ln for ln in lines if ln.customer_id == member.customer_id]
        if own:
            before = [ln for ln in own if ln.delivered_at <= member.at] or own
            return "customer", max(before, key=lambda ln: ln.delivered_at)
    return "product_time", None


def cluster_rates(
    session: Session, *, now: datetime, product_ids: Iterable[int] | None = None
) -> dict[int, dict[str, Any]]:
    """cluster id -> its rates (JSON-able) for the live clusters of `product_ids` (all)."""
    lines = delivered_lines(session, until=now)
    by_product: dict[int, list[DeliveredLine]] = defaultdict(list)
    for line in lines:
        by_product[line.product_id].append(line)
    wanted = set(product_ids) if product_ids is not None else None
    members = member_mentions(session, product_ids=by_product.keys() | (wanted or set()))
    total_units = sum(ln.units for ln in lines)
    everyone: set[str] = set()
    product_people: dict[int, set[str]] = defaultdict(set)
    clusters: dict[int, dict[str, Any]] = {}
    tallies: dict[int, dict[str, _Tally]] = defaultdict(lambda: defaultdict(_Tally))
    people: dict[int, set[str]] = defaultdict(set)
    methods: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(METHODS, 0))
    products_of: dict[int, int] = {}
    affected: dict[int, dict[str, dict[str, Any]]] = defaultdict(dict)
    for member in members:
        person = (
            f"customer:{member.customer_id}"
            if member.customer_id is not None
            else f"mention:{member.mention_id}"
        )
        everyone.add(f"{member.product_id}:{person}")
        product_people[member.product_id].add(person)
        if wanted is not None and member.product_id not in wanted:
            continue
        products_of[member.cluster_id] = member.product_id
        people[member.cluster_id].add(person)
        method, found = _match(member, by_product.get(member.product_id, []))
        methods[member.cluster_id][method] += 1
        tally = tallies[member.cluster_id]
        if found is not None:
            affected[member.cluster_id][found.order_number] = {
                "order": found.order_number,
                "sku": found.sku,
                "batch": found.batch,
                "ship_week": ship_week(found),
                "units": found.units,
                "matched_by": method,
                "mention_id": member.mention_id,
            }
            tally["sku"].add(_sku(found), person)
            tally["ship_week"].add(ship_week(found), person)
            if found.batch:
                tally["batch"].add(found.batch, person)
    catalogue = rate(len(everyone), total_units).as_dict()
    for cluster_id, product_id in products_of.items():
        product_lines = by_product.get(product_id, [])
        units = sum(ln.units for ln in product_lines)
        own = len(people[cluster_id])
        others = len(product_people[product_id] - people[cluster_id])
        clusters[cluster_id] = {
            **rate(own, units).as_dict(),
            "method": "wilson",
            "product_baseline": rate(others, units).as_dict(),
            "catalogue": catalogue,
            "matched": methods[cluster_id],
            "orders_affected": len(affected[cluster_id]),
            "orders": sorted(affected[cluster_id].values(), key=lambda o: o["order"])[:50],
            "by_sku": _split(
                product_lines, tallies[cluster_id]["sku"], lambda ln: ln.sku or UNKNOWN
            ),
            "by_ship_week": _split(product_lines, tallies[cluster_id]["ship_week"], ship_week),
            "by_batch": _split(
                [ln for ln in product_lines if ln.batch],
                tallies[cluster_id]["batch"],
                lambda ln: ln.batch or UNKNOWN,
            ),
        }
    return clusters


def _split(lines: list[DeliveredLine], tally: _Tally, key: Any) -> list[dict[str, Any]]:
    units: dict[str, int] = defaultdict(int)
    for line in lines:
        units[key(line)] += line.units
    return [{"key": k, **rate(tally.count(k), n).as_dict()} for k, n in sorted(units.items())]


def _sku(line: DeliveredLine) -> str:
    return line.sku or UNKNOWN


def rate_line(rates: dict[str, Any] | None, language: str = "en") -> str:
    """One sentence: the rate, its interval, the baselines and how complaints were matched."""
    if not rates or rates.get("per_1000") is None:
        if language == "it":
            return "Tasso per unità consegnate: sconosciuto (nessun ordine consegnato registrato)."
        return "Rate per delivered unit: unknown (no delivered orders stored)."
    low, high = rates["interval"]
    base = rates["product_baseline"].get("per_1000")
    cat = rates["catalogue"].get("per_1000")
    m = rates["matched"]
    if language == "it":
        return (
            f"{rates['per_1000']:.2f} reclami ogni 1.000 unità consegnate "
            f"({rates['complaints']} su {rates['units']}; "
            f"intervallo 95% da {low:.2f} a {high:.2f}); "
            f"base del prodotto {_fmt(base, 'it')}, catalogo {_fmt(cat, 'it')}. "
            "Abbinati agli ordini: "
            f"{m['order_number']} per numero d'ordine, {m['customer']} per cliente, "
            f"{m['product_time']} per prodotto e data."
        )
    return (
        f"{rates['per_1000']:.2f} complaints per 1,000 units delivered "
        f"({rates['complaints']} of {rates['units']}; 95% interval {low:.2f} to {high:.2f}); "
        f"product baseline {_fmt(base)}, catalogue {_fmt(cat)}. Matched to orders: "
        f"{m['order_number']} by order number, {m['customer']} by customer, "
        f"{m['product_time']} by product and time."
    )


def _fmt(value: float | None, language: str = "en") -> str:
    if value is None:
        return "sconosciuta" if language == "it" else "unknown"
    return f"{value:.2f}"
