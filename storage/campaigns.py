"""Campaigns, their check-ins, survey answers and unsubscribes: rows and queries only.

Every function works inside the caller's session and transaction. A check-in is stored once
per (campaign, order); an answer once per check-in; an unsubscribe once per address.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.models import (
    Author,
    Campaign,
    CareCase,
    CheckIn,
    Classification,
    Customer,
    Draft,
    Mention,
    Order,
    OrderLine,
    OutboxMessage,
    Product,
    SurveyAnswer,
    Unsubscribe,
)
from storage.orders import normalise_email
from storage.types import utcnow

# The order column each trigger reads its time from.
TRIGGER_COLUMNS = {
    "delivered": "delivered_at",
    "shipped": "shipped_at",
    "first_order": "ordered_at",
    "repeat_order": "ordered_at",
    "return": "returned_at",
}
STATUSES = ("scheduled", "skipped", "sent", "answered")
_CHUNK = 500


@dataclass(frozen=True)
class OrderView:
    """An order with what segments and suppression look at: buyer, products, history."""

    order: Order
    customer: Customer | None
    product_ids: tuple[int, ...]
    product_names: tuple[str, ...]
    # The buyer's orders placed before this one (0: a first order).
    earlier_orders: int


def sync_campaign(
    session: Session, *, name: str, definition: dict[str, Any], origin: str = "settings"
) -> Campaign:
    """Create or update the campaign called `name`, active, with this definition."""
    row = get_campaign(session, name)
    now = utcnow()
    if row is None:
        row = Campaign(
            name=name, definition=definition, origin=origin, started_at=now, updated_at=now
        )
    elif row.definition != definition or not row.active or row.origin != origin:
        row.definition = definition
        row.active = True
        row.origin = origin
        row.updated_at = now
    session.add(row)
    session.flush()
    return row


def deactivate_others(
    session: Session, *, keep: Iterable[str], origin: str = "settings"
) -> list[str]:
    """Mark campaigns of this origin not named in `keep` inactive (their rows stay)."""
    kept = set(keep)
    gone = []
    for row in session.exec(
        select(Campaign).where(col(Campaign.active).is_(True)).where(Campaign.origin == origin)
    ).all():
        if row.name not in kept:
            row.active = False
            row.updated_at = utcnow()
            session.add(row)
            gone.append(row.name)
    return gone


def get_campaign(session: Session, name: str) -> Campaign | None:
    """The campaign called `name`, active or not."""
    return session.exec(select(Campaign).where(Campaign.name == name)).first()


def list_campaigns(session: Session, *, active_only: bool = False) -> list[Campaign]:
    """Campaigns by name."""
    query = select(Campaign).order_by(col(Campaign.name))
    if active_only:
        query = query.where(col(Campaign.active).is_(True))
    return list(session.exec(query).all())


def set_paused(session: Session, campaign: Campaign, *, paused: bool, by: str) -> bool:
    """Pause or resume; False when it already was in that state."""
    if paused == (campaign.paused_at is not None):
        return False
    campaign.paused_at = utcnow() if paused else None
    campaign.paused_by = by if paused else None
    campaign.updated_at = utcnow()
    session.add(campaign)
    return True


def status_counts(session: Session, *, campaign_id: int) -> dict[str, int]:
    """Check-ins of a campaign per status."""
    rows = session.exec(
        select(CheckIn.status, func.count())
        .where(CheckIn.campaign_id == campaign_id)
        .group_by(col(CheckIn.status))
    ).all()
    return dict(rows)


def unplanned_orders(
    session: Session,
    *,
    campaign_id: int,
    trigger: str,
    since: datetime,
    until: datetime,
    limit: int = _CHUNK,
    after_id: int = 0,
) -> list[OrderView]:
    """Orders whose trigger time is in [since, until] and that have no check-in of this
    campaign yet, by id, with their buyer, products and earlier orders."""
    column = getattr(Order, TRIGGER_COLUMNS[trigger])
    planned = (
        select(CheckIn.id)
        .where(col(CheckIn.order_id) == col(Order.id))
        .where(col(CheckIn.campaign_id) == campaign_id)
        .exists()
    )
    orders = session.exec(
        select(Order)
        .where(col(column).is_not(None))
        .where(col(column) >= since)
        .where(col(column) <= until)
        .where(col(Order.id) > after_id)
        .where(~planned)
        .order_by(col(Order.id))
        .limit(limit)
    ).all()
    return order_views(session, orders)


def order_views(session: Session, orders: Sequence[Order]) -> list[OrderView]:
    """The orders with their buyers, products and counts of earlier orders."""
    if not orders:
        return []
    ids = [o.id for o in orders]
    customers = {
        c.id: c
        for c in session.exec(
            select(Customer).where(col(Customer.id).in_({o.customer_id for o in orders}))
        ).all()
    }
    lines: dict[int, list[tuple[int | None, str | None]]] = {}
    for order_id, product_id, name in session.exec(
        select(OrderLine.order_id, OrderLine.product_id, Product.name)
        .join(Product, col(Product.id) == col(OrderLine.product_id), isouter=True)
        .where(col(OrderLine.order_id).in_(ids))
        .order_by(col(OrderLine.id))
    ).all():
        lines.setdefault(order_id, []).append((product_id, name))
    placed = func.coalesce(Order.ordered_at, Order.updated_at)
    history: dict[int, list[tuple[datetime, int]]] = {}
    buyer_ids = sorted({o.customer_id for o in orders if o.customer_id is not None})
    for start in range(0, len(buyer_ids), _CHUNK):
        for buyer_id, other_id, at in session.exec(
            select(Order.customer_id, Order.id, placed).where(
                col(Order.customer_id).in_(buyer_ids[start : start + _CHUNK])
            )
        ).all():
            history.setdefault(buyer_id or 0, []).append((_aware(at), other_id or 0))
    views = []
    for order in orders:
        own = (_aware(order.ordered_at or order.updated_at), order.id or 0)
        earlier = sum(1 for entry in history.get(order.customer_id or -1, []) if entry < own)
        found = lines.get(order.id or 0, [])
        views.append(
            OrderView(
                order=order,
                customer=customers.get(order.customer_id),
                product_ids=tuple(dict.fromkeys(p for p, _ in found if p is not None)),
                product_names=tuple(dict.fromkeys(n for _, n in found if n is not None)),
                earlier_orders=earlier,
            )
        )
    return views


def _aware(value: Any) -> datetime:
    # A coalesce() result skips the column type on SQLite: naive UTC (or text) comes back.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        from datetime import UTC

        return value.replace(tzinfo=UTC)
    return value  # type: ignore[no-any-return]


def add_checkin(session: Session, checkin: CheckIn) -> CheckIn | None:
    """Store a new check-in; None when its (campaign, order) already has one."""
    try:
        with session.begin_nested():
            session.add(checkin)
            session.flush()
    except IntegrityError:
        return None
    return checkin


def checkins_of(
    session: Session, *, campaign_id: int, statuses: Sequence[str] = STATUSES
) -> list[CheckIn]:
    """A campaign's check-ins in these statuses, by due time."""
    return list(
        session.exec(
            select(CheckIn)
            .where(CheckIn.campaign_id == campaign_id)
            .where(col(CheckIn.status).in_(statuses))
            .order_by(col(CheckIn.due_at), col(CheckIn.id))
        ).all()
    )


def due_checkin_ids(
    session: Session, *, now: datetime, campaign_ids: Sequence[int], limit: int
) -> list[int]:
    """Scheduled check-ins due by `now` in these campaigns, earliest first."""
    if not campaign_ids:
        return []
    found = session.exec(
        select(CheckIn.id)
        .where(CheckIn.status == "scheduled")
        .where(col(CheckIn.due_at) <= now)
        .where(col(CheckIn.campaign_id).in_(campaign_ids))
        .order_by(col(CheckIn.due_at), col(CheckIn.id))
        .limit(limit)
    ).all()
    return [i for i in found if i is not None]


def claim(session: Session, *, checkin_id: int, status: str, at: datetime, **values: Any) -> bool:
    """Move a scheduled check-in to `status`; False when it is no longer scheduled.

    The update is the lock: of two processes deciding the same check-in, one wins.
    """
    result = session.execute(
        update(CheckIn)
        .where(col(CheckIn.id) == checkin_id)
        .where(col(CheckIn.status) == "scheduled")
        .values(status=status, decided_at=at, **values)
    )
    return bool(getattr(result, "rowcount", 0))


def set_outbox(session: Session, *, checkin_id: int, outbox_id: int) -> None:
    """Link a sent check-in to its outbox message."""
    session.execute(
        update(CheckIn).where(col(CheckIn.id) == checkin_id).values(outbox_id=outbox_id)
    )


def postpone(session: Session, *, checkin_id: int, due_at: datetime) -> None:
    """Move a scheduled check-in's time."""
    session.execute(
        update(CheckIn)
        .where(col(CheckIn.id) == checkin_id)
        .where(col(CheckIn.status) == "scheduled")
        .values(due_at=due_at)
    )


def open_complaints(
    session: Session, *, customer_ids: Sequence[int], since: datetime
) -> dict[int, list[int]]:
    """Mentions by each customer since `since` classified as complaints that care has not
    closed: no resolved care case and no reply sent. Mention ids per customer id."""
    if not customer_ids:
        return {}
    answered = (
        select(Draft.id)
        .where(col(Draft.mention_id) == col(Mention.id))
        .where(col(Draft.status) == "sent")
        .exists()
    )
    resolved = (
        select(CareCase.id)
        .where(col(CareCase.mention_id) == col(Mention.id))
        .where(col(CareCase.resolved_at).is_not(None))
        .exists()
    )
    rows = session.exec(
        select(Author.customer_id, Mention.id)
        .join(Author, col(Author.id) == col(Mention.author_id))
        .join(Classification, col(Classification.mention_id) == col(Mention.id))
        .where(col(Author.customer_id).in_(customer_ids))
        .where(col(Classification.complaint).is_(True))
        .where(col(Mention.deleted_at).is_(None))
        .where(func.coalesce(Mention.published_at, Mention.fetched_at) >= since)
        .where(~answered)
        .where(~resolved)
        .order_by(col(Mention.id))
    ).all()
    found: dict[int, list[int]] = {}
    for customer_id, mention_id in rows:
        found.setdefault(customer_id or 0, []).append(mention_id or 0)
    return found


def unsubscribes(session: Session, *, emails: Iterable[str | None]) -> dict[str, Unsubscribe]:
    """The unsubscribes of these addresses, by normalised address."""
    wanted = sorted({e for e in (normalise_email(a) for a in emails) if e})
    found: dict[str, Unsubscribe] = {}
    for start in range(0, len(wanted), _CHUNK):
        for row in session.exec(
            select(Unsubscribe).where(col(Unsubscribe.email).in_(wanted[start : start + _CHUNK]))
        ).all():
            found[row.email] = row
    return found


def is_unsubscribed(session: Session, *, email: str | None) -> bool:
    """Whether this address asked for no more check-ins."""
    return bool(unsubscribes(session, emails=[email]))


def add_unsubscribe(
    session: Session, *, email: str, via: str, checkin_id: int | None = None
) -> tuple[Unsubscribe, bool]:
    """Record that `email` wants no more check-ins; (row, True) when it is new."""
    address = normalise_email(email) or ""
    existing = unsubscribes(session, emails=[address]).get(address)
    if existing is not None:
        return existing, False
    customer = session.exec(select(Customer).where(Customer.email == address)).first()
    row = Unsubscribe(
        email=address,
        customer_id=customer.id if customer else None,
        via=via,
        checkin_id=checkin_id,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        # Two clicks at once: the other one stored it.
        again = unsubscribes(session, emails=[address])[address]
        return again, False
    return row, True


def customer_by_email(session: Session, email: str) -> Customer | None:
    """The customer with this (normalised) address."""
    address = normalise_email(email)
    if not address:
        return None
    return session.exec(select(Customer).where(Customer.email == address)).first()


def get_answer(session: Session, *, checkin_id: int) -> SurveyAnswer | None:
    """The answer to a check-in, if any."""
    return session.exec(select(SurveyAnswer).where(SurveyAnswer.checkin_id == checkin_id)).first()


def answers_to_act_on(session: Session, *, limit: int) -> list[tuple[SurveyAnswer, CheckIn]]:
    """Answers changed since they were last acted on, oldest first."""
    return [
        (answer, checkin)
        for answer, checkin in session.exec(
            select(SurveyAnswer, CheckIn)
            .join(CheckIn, col(CheckIn.id) == col(SurveyAnswer.checkin_id))
            .where(col(SurveyAnswer.acted_at).is_(None))
            .order_by(col(SurveyAnswer.updated_at), col(SurveyAnswer.id))
            .limit(limit)
        ).all()
    ]


def labels_of(session: Session, *, mention_id: int) -> Classification | None:
    """The current labels of a mention (None when missing or stale after an edit)."""
    row = session.exec(
        select(Classification, Mention.content_hash)
        .join(Mention, col(Mention.id) == col(Classification.mention_id))
        .where(col(Classification.mention_id) == mention_id)
    ).first()
    if row is None:
        return None
    labels, content_hash = row
    return labels if labels.content_hash == content_hash else None


# What became of a check-in's e-mail, from its outbox message's status. An answer proves
# it arrived, whatever the outbox knows; a cancelled message never left.
DELIVERY = {
    "sent": "sent",
    "pending": "queued",
    "sending": "queued",
    "failed": "failed",
    "cancelled": "failed",
    "uncertain": "uncertain",
}


@dataclass(frozen=True)
class ReportRow:
    """One check-in put in the outbox, for the reports: its campaign, products, week, what
    became of its e-mail (`delivery`: sent, queued, failed or uncertain) and its answer."""

    checkin_id: int
    campaign: str
    sent_at: datetime
    products: tuple[str, ...]
    csat: int | None
    nps: int | None
    answered: bool
    delivery: str = "sent"


def report_rows(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    campaigns: Sequence[str] = (),
) -> list[ReportRow]:
    """Every check-in put in the outbox (sent or answered) in [since, until), with its
    answer and its e-mail's delivery status."""
    query: Any = (
        select(CheckIn, Campaign.name, SurveyAnswer, OutboxMessage.status)
        .join(Campaign, col(Campaign.id) == col(CheckIn.campaign_id))
        .join(SurveyAnswer, col(SurveyAnswer.checkin_id) == col(CheckIn.id), isouter=True)
        .join(OutboxMessage, col(OutboxMessage.id) == col(CheckIn.outbox_id), isouter=True)
        .where(col(CheckIn.status).in_(("sent", "answered")))
        .where(col(CheckIn.sent_at).is_not(None))
    )
    if since is not None:
        query = query.where(col(CheckIn.sent_at) >= since)
    if until is not None:
        query = query.where(col(CheckIn.sent_at) < until)
    if campaigns:
        query = query.where(col(Campaign.name).in_(campaigns))
    rows = session.exec(query.order_by(col(CheckIn.sent_at), col(CheckIn.id))).all()
    names: dict[int, list[str]] = {}
    order_ids = sorted({c.order_id for c, _, _, _ in rows})
    for start in range(0, len(order_ids), _CHUNK):
        for order_id, name, title in session.exec(
            select(OrderLine.order_id, Product.name, OrderLine.title)
            .join(Product, col(Product.id) == col(OrderLine.product_id), isouter=True)
            .where(col(OrderLine.order_id).in_(order_ids[start : start + _CHUNK]))
            .order_by(col(OrderLine.id))
        ).all():
            label = name or title
            if label and label not in names.setdefault(order_id, []):
                names[order_id].append(label)
    return [
        ReportRow(
            checkin_id=checkin.id or 0,
            campaign=name,
            sent_at=checkin.sent_at or checkin.due_at,
            products=tuple(names.get(checkin.order_id, [])),
            csat=answer.csat if answer else None,
            nps=answer.nps if answer else None,
            answered=answer is not None,
            delivery="sent" if answer is not None else DELIVERY.get(status or "", "queued"),
        )
        for checkin, name, answer, status in rows
    ]


def survey_mentions_without_labels(session: Session, *, source_id: int) -> int:
    """Survey comments still waiting for the classification step."""
    return int(
        session.exec(
            select(func.count())
            .select_from(Mention)
            .join(Classification, col(Classification.mention_id) == col(Mention.id), isouter=True)
            .where(Mention.source_id == source_id)
            .where(
                or_(
                    col(Classification.id).is_(None),
                    col(Classification.content_hash) != col(Mention.content_hash),
                )
            )
        ).one()
    )
