"""What defect rates are computed from: units delivered, and the orders behind complaints.

Reads only; every function works inside the caller's session.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select as sql_select
from sqlmodel import Session, col

from storage.models import (
    Author,
    DefectCluster,
    DefectClusterMember,
    Mention,
    Order,
    OrderLine,
)

_ORDER_NUMBER = re.compile(
    r"(?:#|\border\s*(?:no\.?|number|n\.?|nr\.?)?\s*#?|ordine\s*(?:n\.?|numero)?\s*#?)\s*([A-Za-z0-9-]{4,30})",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class DeliveredLine:
    """Units of one product delivered in one order line."""

    order_id: int
    order_number: str
    customer_id: int | None
    product_id: int
    sku: str | None
    batch: str | None
    units: int
    shipped_at: datetime | None
    delivered_at: datetime


@dataclass(frozen=True)
class MemberMention:
    """A cluster member with what can tie it to an order."""

    mention_id: int
    cluster_id: int
    product_id: int
    customer_id: int | None
    text: str
    at: datetime


def delivered_lines(
    session: Session, *, until: datetime, product_ids: Iterable[int] | None = None
) -> list[DeliveredLine]:
    """Order lines of known products delivered by `until`."""
    query = (
        sql_select(
            col(Order.id),
            col(Order.external_id),
            col(Order.customer_id),
            col(OrderLine.product_id),
            col(OrderLine.sku),
            col(Order.extra),
            col(OrderLine.quantity),
            col(Order.shipped_at),
            col(Order.delivered_at),
        )
        .join(OrderLine, col(OrderLine.order_id) == Order.id)
        .where(col(OrderLine.product_id).is_not(None))
        .where(col(Order.delivered_at).is_not(None))
        .where(col(Order.delivered_at) <= until)
    )
    if product_ids is not None:
        query = query.where(col(OrderLine.product_id).in_(sorted(set(product_ids))))
    out = []
    for oid, number, customer, product, sku, extra, quantity, shipped, delivered in session.execute(
        query
    ).all():
        batch = (extra or {}).get("batch") if isinstance(extra, dict) else None
        out.append(
            DeliveredLine(
                order_id=oid,
                order_number=number,
                customer_id=customer,
                product_id=product,
                sku=sku,
                batch=str(batch) if batch else None,
                units=max(int(quantity or 0), 0),
                shipped_at=shipped,
                delivered_at=delivered,
            )
        )
    return out


def member_mentions(
    session: Session, *, product_ids: Iterable[int], live_only: bool = True
) -> list[MemberMention]:
    """Every member of the products' clusters, with its author's customer and its text."""
    query = (
        sql_select(
            col(DefectClusterMember.mention_id),
            col(DefectClusterMember.cluster_id),
            col(DefectClusterMember.product_id),
            col(Author.customer_id),
            col(Mention.title),
            col(Mention.text),
            col(Mention.published_at),
            col(Mention.fetched_at),
        )
        .join(Mention, col(Mention.id) == DefectClusterMember.mention_id)
        .join(DefectCluster, col(DefectCluster.id) == DefectClusterMember.cluster_id)
        .join(Author, col(Author.id) == Mention.author_id, isouter=True)
        .where(col(DefectClusterMember.product_id).in_(sorted(set(product_ids))))
    )
    if live_only:
        query = query.where(col(DefectCluster.live).is_(True))
    return [
        MemberMention(
            mention_id=mid,
            cluster_id=cid,
            product_id=pid,
            customer_id=customer,
            text=f"{title or ''}\n{text}",
            at=published or fetched,
        )
        for mid, cid, pid, customer, title, text, published, fetched in session.execute(query).all()
    ]


def order_numbers(text: str) -> set[str]:
    """Order numbers a mention names ("order #1042", "ordine n. 1042")."""
    return {m.casefold() for m in _ORDER_NUMBER.findall(text)}
