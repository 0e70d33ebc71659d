"""Idempotent ingest of orders (post-purchase signals) and linking buyers to authors.

An order is stored once per (source, external id). Each stage it reaches (ordered, shipped,
delivered, returned, refunded) is stored once as an OrderEvent, so a re-poll, a webhook
replay or a second import never doubles one. An order that says when its source last changed
it (`NewOrder.updated_at`) is applied only when newer than the stored one, so a late or
replayed delivery never rolls it back; consent is likewise taken only from news newer than
what set it (`Customer.consent_at`), so an old event cannot re-grant a withdrawn consent.
Customers are found by their normalised e-mail
(stripped, lower-case); consent and do-not-contact live on the customer, and do-not-contact,
once set, is never cleared by an import.

Who counts as "the same person" (`link_people`), and nothing else:
- e-mail: an author whose handle, stripped and lower-cased, is exactly a customer's
  normalised e-mail address (any platform);
- explicit handle: an order that names the buyer's account on a platform
  (`NewOrder.handles`, e.g. ``("reddit", "marco_b")``) links the author with that platform
  and handle (compared case-insensitively, a leading "@" ignored); when no such author is
  stored yet, one is created already linked, so that person's later mentions arrive linked.
Display names never link anyone (names collide), and an author already linked to one
customer is never moved to another: the conflict is counted and left for a person.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple
from zoneinfo import available_timezones

from sqlalchemy import func
from sqlmodel import Session, col, delete, select

from storage.models import Author, Customer, Order, OrderEvent, OrderLine, Product
from storage.types import utcnow

# Stages in the order they happen; the latest one reached is the order's status.
EVENTS = ("ordered", "shipped", "delivered", "returned", "refunded")
STATUSES = (*EVENTS, "cancelled")

_CHUNK = 500
_CENT = Decimal("0.01")
_EMAIL = re.compile(r"^[^@\s<>(),;:\"]+@[^@\s<>(),;:\"]+\.[^@\s<>(),;:\"]+$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$")


class NewOrderLine(NamedTuple):
    """One product line as a source reports it."""

    sku: str | None
    title: str | None
    quantity: int = 1
    unit_price: Decimal | None = None


@dataclass(frozen=True, eq=False)
class NewOrder:
    """An order as a listener, webhook or import read it, before storage."""

    external_id: str
    email: str | None = None
    name: str | None = None
    country: str | None = None
    language: str | None = None
    timezone: str | None = None
    # None: the source does not say; True/False: the buyer's marketing consent.
    consent: bool | None = None
    # When the buyer gave or withdrew it, if the source says; else `updated_at` stands in.
    consent_at: datetime | None = None
    # True asks never to contact this person; once stored it is never cleared by an import.
    do_not_contact: bool = False
    customer_external_id: str | None = None
    # None: derived from the latest stage reached (or "cancelled" via the caller).
    status: str | None = None
    currency: str | None = None
    total: Decimal | None = None
    lines: list[NewOrderLine] = field(default_factory=list)
    ordered_at: datetime | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    returned_at: datetime | None = None
    refunded_at: datetime | None = None
    # The buyer's accounts elsewhere, as (platform, handle) pairs: an explicit link.
    handles: tuple[tuple[str, str], ...] = ()
    # When the source last changed the order; None: the source does not say.
    updated_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def event_times(self) -> dict[str, datetime]:
        """The stages this order has reached, with when."""
        times = {
            "ordered": self.ordered_at,
            "shipped": self.shipped_at,
            "delivered": self.delivered_at,
            "returned": self.returned_at,
            "refunded": self.refunded_at,
        }
        return {event: at for event, at in times.items() if at is not None}

    def derived_status(self) -> str:
        """The given status, else the latest stage reached, else `ordered`."""
        if self.status:
            return self.status
        reached = self.event_times()
        return next((e for e in reversed(EVENTS) if e in reached), "ordered")


@dataclass
class OrderCounts:
    """What an upsert did: orders new, changed or unchanged, events and customers added."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    # Older than the stored state (a late or replayed delivery): not applied.
    stale: int = 0
    events: int = 0
    customers_new: int = 0
    linked: int = 0
    link_conflicts: int = 0
    order_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        """The figures for an audit row or a log line."""
        return {
            "orders_new": self.new,
            "orders_updated": self.updated,
            "orders_unchanged": self.unchanged,
            "orders_stale": self.stale,
            "order_events": self.events,
            "customers_new": self.customers_new,
            "people_linked": self.linked,
        }


def normalise_email(value: str | None) -> str | None:
    """Stripped and lower-cased; None for a blank value."""
    if value is None:
        return None
    value = value.strip().lower()
    return value or None


def is_email(value: str | None) -> bool:
    """True for something shaped like an e-mail address (one @, a dot in the domain)."""
    return bool(value) and len(value or "") <= 320 and _EMAIL.match(value or "") is not None


_ZONES: set[str] = set()


def problems(order: NewOrder) -> list[str]:
    """Why `order` cannot be stored as it is; empty when it can."""
    found: list[str] = []
    if not order.external_id or not order.external_id.strip():
        found.append("external_id: missing")
    elif len(order.external_id) > 200:
        found.append("external_id: longer than 200 characters")
    email = normalise_email(order.email)
    if email is not None and not is_email(email):
        found.append(f"email {order.email!r}: expected an e-mail address")
    if order.name is not None and len(order.name) > 300:
        found.append("name: longer than 300 characters")
    if order.country is not None and not re.fullmatch(r"[A-Za-z]{2}", order.country):
        found.append(f"country {order.country!r}: expected a two-letter ISO code such as IT")
    if order.language is not None and (
        len(order.language) > 20 or not _LANGUAGE.match(order.language)
    ):
        found.append(f"language {order.language!r}: expected a language tag such as it or en-GB")
    if order.timezone is not None:
        if not _ZONES:
            _ZONES.update(available_timezones())
        if order.timezone not in _ZONES:
            found.append(f"timezone {order.timezone!r}: expected an IANA zone such as Europe/Rome")
    if order.status is not None and order.status not in STATUSES:
        found.append(f"status {order.status!r}: expected one of {', '.join(STATUSES)}")
    if order.currency is not None and not re.fullmatch(r"[A-Z]{3}", order.currency):
        found.append(f"currency {order.currency!r}: expected a three-letter code such as EUR")
    found += _amount_problems("total", order.total)
    for index, line in enumerate(order.lines):
        where = f"lines[{index}]"
        if not (line.sku or line.title):
            found.append(f"{where}: expected a sku or a title")
        if line.sku is not None and len(line.sku) > 100:
            found.append(f"{where}.sku: longer than 100 characters")
        if line.title is not None and len(line.title) > 500:
            found.append(f"{where}.title: longer than 500 characters")
        if not isinstance(line.quantity, int) or line.quantity < 0:
            found.append(f"{where}.quantity {line.quantity!r}: expected a whole number >= 0")
        found += _amount_problems(f"{where}.unit_price", line.unit_price)
    for event, at in order.event_times().items():
        if at.tzinfo is None:
            found.append(f"{event}_at {at.isoformat()}: expected a time with its UTC offset")
    for name in ("updated_at", "consent_at"):
        value = getattr(order, name)
        if value is not None and value.tzinfo is None:
            found.append(f"{name} {value.isoformat()}: expected a time with its UTC offset")
    for pair in order.handles:
        if len(pair) != 2 or not all(isinstance(p, str) and p.strip() for p in pair):
            found.append(f"handles {pair!r}: expected (platform, handle)")
        elif len(pair[0]) > 200 or len(pair[1]) > 300:
            found.append(f"handles {pair!r}: too long")
    return found


def _amount_problems(name: str, value: Decimal | None) -> list[str]:
    if value is None:
        return []
    try:
        ok = value.is_finite() and value >= 0 and abs(value) < Decimal("1e12")
    except (InvalidOperation, AttributeError):
        ok = False
    return [] if ok else [f"{name} {value!r}: expected an amount >= 0"]


def upsert_orders(session: Session, *, source_id: int, orders: Sequence[NewOrder]) -> OrderCounts:
    """Insert new orders and update changed ones, inside the caller's transaction.

    Raises ValueError for an order `problems()` refuses: callers validate first and
    quarantine what fails.
    """
    counts = OrderCounts()
    chosen: dict[str, NewOrder] = {}
    for order in orders:
        found = problems(order)
        if found:
            raise ValueError(f"order {order.external_id!r}: {'; '.join(found)}")
        # One order per external id: the newest copy, else the later one in the batch.
        earlier = chosen.get(order.external_id)
        if earlier is None or not _older(order, earlier.updated_at):
            chosen[order.external_id] = order
    batch = list(chosen.values())
    if not batch:
        return counts
    products = _ProductIndex(session)
    customers = _customers(session, batch, counts)
    now = utcnow()
    touched: set[int] = set()
    for start in range(0, len(batch), _CHUNK):
        chunk = batch[start : start + _CHUNK]
        existing = {
            o.external_id: o
            for o in session.exec(
                select(Order)
                .where(Order.source_id == source_id)
                .where(col(Order.external_id).in_([o.external_id for o in chunk]))
            ).all()
        }
        for item in chunk:
            customer = customers.get(_customer_key(item) or ("", ""))
            stored = existing.get(item.external_id)
            if stored is None:
                stored = Order(source_id=source_id, external_id=item.external_id, updated_at=now)
                changed = _apply(stored, item, customer)
                session.add(stored)
                session.flush()
                counts.new += 1
                _replace_lines(session, stored, item, products)
            elif _older(item, stored.source_updated_at):
                counts.stale += 1
                counts.order_ids.append(stored.id or 0)
                continue
            else:
                changed = _apply(stored, item, customer)
                # No lines in the payload (a refund webhook) says nothing about them.
                if item.lines and _lines_differ(session, stored, item, products):
                    _replace_lines(session, stored, item, products)
                    changed = True
                if changed:
                    stored.updated_at = now
                    session.add(stored)
                    counts.updated += 1
                else:
                    counts.unchanged += 1
            counts.order_ids.append(stored.id or 0)
            counts.events += _add_events(session, stored, item, now)
            if customer is not None and customer.id is not None:
                touched.add(customer.id)
                linked, conflicts = _link_handles(session, customer, item.handles)
                counts.linked += linked
                counts.link_conflicts += conflicts
        session.flush()
    linked, conflicts = link_people(session, customer_ids=touched)
    counts.linked += linked
    counts.link_conflicts += conflicts
    return counts


def _older(item: NewOrder, than: datetime | None) -> bool:
    """Whether `item` is not newer than the state changed at `than` (both must be known)."""
    return item.updated_at is not None and than is not None and item.updated_at <= than


def _apply(order: Order, item: NewOrder, customer: Customer | None) -> bool:
    """Copy what the source says onto the stored order; True when anything changed.

    A stage time the source leaves out is kept: a partial payload (a refund webhook) never
    erases what an earlier one recorded.
    """
    values: dict[str, Any] = {"extra": {**(order.extra or {}), **item.extra}}
    if item.currency is not None:
        values["currency"] = item.currency
    if item.total is not None:
        values["total"] = _money(item.total)
    if customer is not None:
        values["customer_id"] = customer.id
    if item.updated_at is not None:
        values["source_updated_at"] = item.updated_at
    for event, at in item.event_times().items():
        values[f"{event}_at"] = at
    changed = False
    for key, value in values.items():
        current = getattr(order, key)
        if key == "total":
            current = _money(current)
        if current != value:
            setattr(order, key, value)
            changed = True
    # The status is the one the source states, else the latest stage known so far, so a
    # late or partial delivery (orders/create after orders/fulfilled) never moves it back.
    status = item.status or next(
        (e for e in reversed(EVENTS) if getattr(order, f"{e}_at") is not None), "ordered"
    )
    if order.status != status:
        order.status = status
        changed = True
    return changed


def _money(value: Decimal | None) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(_CENT)


def _add_events(session: Session, order: Order, item: NewOrder, now: datetime) -> int:
    """One OrderEvent per stage reached, never two for the same stage."""
    reached = item.event_times()
    if not reached:
        return 0
    have = set(session.exec(select(OrderEvent.event).where(OrderEvent.order_id == order.id)).all())
    added = 0
    for event, at in reached.items():
        if event not in have:
            session.add(OrderEvent(order_id=order.id or 0, event=event, at=at, received_at=now))
            added += 1
    return added


def _sku_key(sku: str) -> str:
    """The key of a SKU: `AT3-128-GRY`, `at3 128 gry` and `AT3128GRY` are one SKU."""
    return re.sub(r"[\W_]+", "", sku.casefold())


class _ProductIndex:
    """Products by SKU (case and separators ignored), then by name or alias in the title."""

    def __init__(self, session: Session) -> None:
        self.by_sku: dict[str, int] = {}
        names: list[tuple[str, int]] = []
        for product in session.exec(select(Product)).all():
            pid = product.id or 0
            for sku in product.skus:
                if _sku_key(sku):
                    self.by_sku.setdefault(_sku_key(sku), pid)
            for name in (product.name, *product.aliases):
                if name.strip():
                    names.append((name.strip().lower(), pid))
        # Longest name first, so "Acme Tab 3 Pro" wins over "Acme Tab 3".
        names.sort(key=lambda pair: -len(pair[0]))
        self.names = [(re.compile(rf"(?<!\w){re.escape(name)}(?!\w)"), pid) for name, pid in names]

    def match(self, sku: str | None, title: str | None) -> int | None:
        if sku and _sku_key(sku) in self.by_sku:
            return self.by_sku[_sku_key(sku)]
        if title:
            lowered = " ".join(title.lower().split())
            for pattern, pid in self.names:
                if pattern.search(lowered):
                    return pid
        return None


def _line_rows(item: NewOrder, products: _ProductIndex) -> list[tuple[Any, ...]]:
    return [
        (
            line.sku,
            line.title,
            line.quantity,
            _money(line.unit_price),
            products.match(line.sku, line.title),
        )
        for line in item.lines
    ]


def _stored_lines(session: Session, order: Order) -> list[OrderLine]:
    return list(
        session.exec(
            select(OrderLine).where(OrderLine.order_id == order.id).order_by(col(OrderLine.id))
        ).all()
    )


def _lines_differ(session: Session, order: Order, item: NewOrder, products: _ProductIndex) -> bool:
    stored = [
        (line.sku, line.title, line.quantity, _money(line.unit_price), line.product_id)
        for line in _stored_lines(session, order)
    ]
    return stored != _line_rows(item, products)


def _replace_lines(session: Session, order: Order, item: NewOrder, products: _ProductIndex) -> None:
    session.execute(delete(OrderLine).where(col(OrderLine.order_id) == order.id))
    for sku, title, quantity, unit_price, product_id in _line_rows(item, products):
        session.add(
            OrderLine(
                order_id=order.id or 0,
                sku=sku,
                title=title,
                quantity=quantity,
                unit_price=unit_price,
                product_id=product_id,
            )
        )


def _customer_key(item: NewOrder) -> tuple[str, str] | None:
    email = normalise_email(item.email)
    if email:
        return "email", email
    if item.customer_external_id:
        return "external", item.customer_external_id
    return None


def _customers(
    session: Session, batch: Sequence[NewOrder], counts: OrderCounts
) -> dict[tuple[str, str], Customer]:
    """Find or create the buyer of each order, and apply what the orders say about them."""
    found: dict[tuple[str, str], Customer] = {}
    emails = sorted({k[1] for o in batch if (k := _customer_key(o)) and k[0] == "email"})
    externals = sorted({k[1] for o in batch if (k := _customer_key(o)) and k[0] == "external"})
    for start in range(0, len(emails), _CHUNK):
        for customer in session.exec(
            select(Customer).where(col(Customer.email).in_(emails[start : start + _CHUNK]))
        ).all():
            found["email", customer.email or ""] = customer
    for start in range(0, len(externals), _CHUNK):
        for customer in session.exec(
            select(Customer)
            .where(col(Customer.external_id).in_(externals[start : start + _CHUNK]))
            .where(col(Customer.email).is_(None))
            .order_by(col(Customer.id))
        ).all():
            found.setdefault(("external", customer.external_id or ""), customer)
    for item in batch:
        key = _customer_key(item)
        if key is None:
            continue
        buyer = found.get(key)
        if buyer is None:
            buyer = Customer(email=key[1] if key[0] == "email" else None)
            found[key] = buyer
            counts.customers_new += 1
        _update_customer(buyer, item)
        session.add(buyer)
    session.flush()
    return found


def _update_customer(customer: Customer, item: NewOrder) -> None:
    if item.customer_external_id:
        customer.external_id = item.customer_external_id
    if item.name:
        customer.name = item.name
    if item.country:
        customer.country = item.country.upper()
    if item.language:
        customer.language = item.language
    if item.timezone:
        customer.timezone = item.timezone
    _update_consent(customer, item)
    # Once a person asked not to be contacted, no import or re-poll undoes it.
    customer.do_not_contact = bool(customer.do_not_contact or item.do_not_contact)


def _update_consent(customer: Customer, item: NewOrder) -> None:
    """Take the order's consent unless older (or undated) news than what set the stored one.

    Older news may still withdraw consent (the safe direction), never grant it.
    """
    if item.consent is None:
        return
    said_at = item.consent_at or item.updated_at
    known = customer.consent_at
    if known is not None and (said_at is None or said_at <= known):
        if item.consent is False:
            customer.consent = False
        return
    customer.consent = item.consent
    if said_at is not None:
        customer.consent_at = said_at


def _clean_handle(handle: str) -> str:
    return handle.strip().removeprefix("@").lower()


def _link_handles(
    session: Session, customer: Customer, handles: Iterable[tuple[str, str]]
) -> tuple[int, int]:
    """Link (or create, linked) the author of each explicit (platform, handle)."""
    linked = conflicts = 0
    for platform, handle in handles:
        platform = platform.strip()
        wanted = _clean_handle(handle)
        authors = session.exec(
            select(Author)
            .where(Author.platform == platform)
            .where(func.lower(col(Author.handle)).in_([wanted, f"@{wanted}"]))
        ).all()
        if not authors:
            session.add(
                Author(
                    platform=platform,
                    handle=handle.strip(),
                    display_name=customer.name,
                    customer_id=customer.id,
                )
            )
            linked += 1
            continue
        for author in authors:
            done, clash = _link(session, author, customer)
            linked += done
            conflicts += clash
    session.flush()
    return linked, conflicts


def _link(session: Session, author: Author, customer: Customer) -> tuple[int, int]:
    """Link an unlinked author; (1, 0) when linked, (0, 1) when already someone else's.

    An author already linked to another customer is never moved: that is a conflict.
    """
    if author.customer_id is None:
        author.customer_id = customer.id
        session.add(author)
        return 1, 0
    return 0, int(author.customer_id != customer.id)


def link_people(session: Session, *, customer_ids: Iterable[int] | None = None) -> tuple[int, int]:
    """Link unlinked authors whose handle is a customer's e-mail address.

    Limited to `customer_ids` when given, else every customer. Returns (linked, conflicts):
    conflicts are authors whose handle is an e-mail of one customer but who are already
    linked to another, left as they are.
    """
    handle = func.lower(func.trim(col(Author.handle)))
    query = (
        select(Author, Customer)
        .join(Customer, col(Customer.email) == handle)
        .where(col(Author.handle).contains("@"))
    )
    ids: list[int] | None = None if customer_ids is None else sorted(set(customer_ids))
    if ids is not None and not ids:
        return 0, 0
    linked = conflicts = 0
    for start in range(0, len(ids) if ids is not None else 1, _CHUNK):
        scoped = query
        if ids is not None:
            scoped = scoped.where(col(Customer.id).in_(ids[start : start + _CHUNK]))
        for author, customer in session.exec(scoped).all():
            done, clash = _link(session, author, customer)
            linked += done
            conflicts += clash
    session.flush()
    return linked, conflicts


def order_events(session: Session, order_id: int) -> list[tuple[str, datetime]]:
    """An order's stages, earliest first."""
    rows = session.exec(
        select(OrderEvent.event, OrderEvent.at)
        .where(OrderEvent.order_id == order_id)
        .order_by(col(OrderEvent.at), col(OrderEvent.id))
    ).all()
    return [(event, at) for event, at in rows]


def orders_by_source(session: Session) -> dict[int, int]:
    """Stored orders per source id."""
    query = select(Order.source_id, func.count()).group_by(col(Order.source_id))
    return dict(session.exec(query).all())
