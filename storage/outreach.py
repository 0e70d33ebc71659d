"""Drafts, contacts and care cases, and the facts a draft is written from.

Every function works inside the caller's session and transaction. A draft is stored once
per `key`; a care case once per mention; a contact once per draft.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, func, or_
from sqlmodel import Session, col, select

import storage.models as models
from storage.classifications import sure_enough
from storage.models import (
    Author,
    CareCase,
    Classification,
    Contact,
    Customer,
    Draft,
    Mention,
    Order,
    OrderEvent,
    OrderLine,
    Product,
    Source,
)
from storage.orders import EVENTS
from storage.types import utcnow

# Statuses of a draft that a person approved: it is (or is about to be) a contact.
ANSWERED = ("approved", "sent")
# Statuses of an alert that mean the brand knows about the issue and it is not closed.
ALERT_OPEN = ("open", "acknowledged")
_CHUNK = 500


@dataclass(frozen=True)
class MentionFacts:
    """A mention with its labels, author, customer and source, read in one go."""

    mention: Mention
    labels: Classification
    source_kind: str
    author: Author | None
    customer: Customer | None


@dataclass(frozen=True)
class OrderFacts:
    """An order as drafts may speak of it: only what the order data says."""

    order_id: int
    number: str
    status: str
    placed_at: datetime | None
    # Stage -> when, from the order's events (or its own timestamps when it has none).
    stages: dict[str, datetime]
    products: tuple[str, ...]
    product_ids: tuple[int, ...]
    # The shop's own id of the order when the customer knows it by another number
    # (Shopify's `name`, "#1042"): kept out of public replies like the number itself.
    internal_id: str | None = None


def customer_order_number(order: Order) -> str:
    """The order number the customer knows: the shop's order name ("#1042") when the
    source gives one, else the order's id at the source."""
    name = (order.extra or {}).get("name")
    if isinstance(name, str) and name.strip():
        return name.strip()[:60]
    return order.external_id


@dataclass(frozen=True)
class ContactFact:
    """An earlier message to the same person."""

    at: datetime
    channel: str
    kind: str
    draft_id: int | None


@dataclass(frozen=True)
class KnownIssue:
    """An open alert on a product: a defect the brand already knows about."""

    alert_id: int
    product_id: int
    opened_at: datetime | None


def mentions_to_draft(
    session: Session,
    *,
    after_id: int,
    limit: int,
    since: datetime,
    complaints: bool,
    issues: Sequence[str],
    min_confidence: float = 0.0,
    claim: bool = False,
) -> list[MentionFacts]:
    """Classified, current, undeleted mentions since `since` with no draft yet, by id.

    Candidates are complaints (when `complaints`) or mentions labelled with one of
    `issues` (e.g. question, praise); the drafting step decides the rest.

    With `claim`, on PostgreSQL, the mentions stay claimed until the session's transaction
    ends (`FOR NO KEY UPDATE SKIP LOCKED`, as classification claims them): workers
    drafting at once take different mentions, and a worker that dies lets go with its
    connection. One drafted by another worker just before the claim is left out.
    """
    wanted: list[Any] = []
    if complaints:
        wanted.append(col(Classification.complaint).is_(True))
    # JSON lists are compared as text, which works the same on SQLite and PostgreSQL.
    wanted += [cast(Classification.issues, String).like(f'%"{issue}"%') for issue in issues]
    if not wanted:
        return []
    # A draft withdrawn after a label correction does not count: the mention is drafted again.
    has_draft = (
        select(Draft.id)
        .where(col(Draft.mention_id) == col(Mention.id))
        .where(col(Draft.status) != "withdrawn")
        .exists()
    )
    query: Any = (
        select(Mention, Classification, Source.kind)
        .join(Classification, col(Classification.mention_id) == col(Mention.id))
        .join(Source, col(Source.id) == col(Mention.source_id))
        .where(col(Mention.id) > after_id)
        .where(col(Mention.deleted_at).is_(None))
        # Withdrawn words are never read again (erased, past retention, gone upstream).
        .where(col(Mention.withdrawn_at).is_(None))
        .where(col(Classification.unclassifiable_reason).is_(None))
        .where(col(Classification.content_hash) == col(Mention.content_hash))
        .where(func.coalesce(Mention.published_at, Mention.fetched_at) >= since)
        .where(or_(*wanted))
        .where(sure_enough(min_confidence))
        .where(~has_draft)
        .order_by(col(Mention.id))
        .limit(limit)
    )
    claiming = claim and session.get_bind().dialect.name == "postgresql"
    if claiming:
        query = query.with_for_update(of=Mention, skip_locked=True, key_share=True)
    rows = session.exec(query).all()
    if claiming and rows:
        # A fresh snapshot: drafts committed between the query's snapshot and its locks.
        drafted = set(
            session.exec(
                select(Draft.mention_id)
                .where(col(Draft.mention_id).in_([m.id for m, _, _ in rows]))
                .where(col(Draft.status) != "withdrawn")
            ).all()
        )
        rows = [row for row in rows if row[0].id not in drafted]
    authors = _by_id(session, Author, [m.author_id for m, _, _ in rows])
    customers = _by_id(session, Customer, [a.customer_id for a in authors.values()])
    out = []
    for mention, labels, kind in rows:
        author = authors.get(mention.author_id or 0)
        customer = customers.get(author.customer_id or 0) if author else None
        out.append(MentionFacts(mention, labels, kind, author, customer))
    return out


def mention_facts(session: Session, *, mention_id: int) -> MentionFacts | None:
    """One mention with its labels, author, customer and source kind; None without labels."""
    row = session.exec(
        select(Mention, Classification, Source.kind)
        .join(Classification, col(Classification.mention_id) == col(Mention.id))
        .join(Source, col(Source.id) == col(Mention.source_id))
        .where(col(Mention.id) == mention_id)
    ).first()
    if row is None:
        return None
    mention, labels, kind = row
    author = session.get(Author, mention.author_id) if mention.author_id else None
    customer = session.get(Customer, author.customer_id) if author and author.customer_id else None
    return MentionFacts(mention, labels, kind, author, customer)


def _by_id(session: Session, model: Any, ids: Iterable[int | None]) -> dict[int, Any]:
    wanted = sorted({i for i in ids if i})
    found: dict[int, Any] = {}
    for start in range(0, len(wanted), _CHUNK):
        rows = session.exec(
            select(model).where(col(model.id).in_(wanted[start : start + _CHUNK]))
        ).all()
        found.update({row.id: row for row in rows})
    return found


def products_by_name(session: Session, names: Iterable[str]) -> dict[str, Product]:
    """Stored products by name (the names the classifier reports)."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    rows = session.exec(select(Product).where(col(Product.name).in_(wanted))).all()
    return {p.name: p for p in rows}


def latest_order(
    session: Session, *, customer_id: int, since: datetime, product_ids: Sequence[int] = ()
) -> OrderFacts | None:
    """The customer's latest order placed since `since`, preferring one with these products."""
    orders = session.exec(
        select(Order)
        .where(Order.customer_id == customer_id)
        .where(func.coalesce(Order.ordered_at, Order.updated_at) >= since)
        .order_by(func.coalesce(Order.ordered_at, Order.updated_at).desc(), col(Order.id).desc())
        .limit(20)
    ).all()
    if not orders:
        return None
    lines: dict[int, list[OrderLine]] = {}
    for line in session.exec(
        select(OrderLine)
        .where(col(OrderLine.order_id).in_([o.id for o in orders]))
        .order_by(col(OrderLine.id))
    ).all():
        lines.setdefault(line.order_id, []).append(line)
    chosen = next(
        (
            o
            for o in orders
            if product_ids and any(ln.product_id in product_ids for ln in lines.get(o.id or 0, []))
        ),
        orders[0],
    )
    return _order_facts(session, chosen, lines.get(chosen.id or 0, []))


def _order_facts(session: Session, order: Order, lines: Sequence[OrderLine]) -> OrderFacts:
    rows = session.exec(
        select(OrderEvent.event, OrderEvent.at)
        .where(OrderEvent.order_id == order.id)
        .order_by(col(OrderEvent.at), col(OrderEvent.id))
    ).all()
    stages: dict[str, datetime] = dict(rows)
    if not stages:
        stages = {
            e: getattr(order, f"{e}_at") for e in EVENTS if getattr(order, f"{e}_at") is not None
        }
    names = _by_id(session, Product, [ln.product_id for ln in lines])
    products = tuple(
        dict.fromkeys(
            names[ln.product_id].name if ln.product_id in names else (ln.title or "")
            for ln in lines
            if ln.product_id in names or ln.title
        )
    )
    number = customer_order_number(order)
    if order.status == "cancelled":
        status = "cancelled"
    else:
        status = next((e for e in reversed(EVENTS) if e in stages), order.status)
    return OrderFacts(
        order_id=order.id or 0,
        number=number,
        status=status,
        placed_at=stages.get("ordered") or order.ordered_at,
        stages=stages,
        products=products,
        product_ids=tuple(sorted({ln.product_id for ln in lines if ln.product_id})),
        internal_id=order.external_id
        if customer_order_number(order) != order.external_id
        else None,
    )


def earlier_contacts(
    session: Session,
    *,
    customer_id: int | None,
    author_id: int | None,
    since: datetime | None = None,
) -> list[ContactFact]:
    """Messages a person approved for this customer (or author), newest first.

    Approved and sent drafts, plus contacts recorded without a draft (e.g. a campaign).
    """
    if customer_id is None and author_id is None:
        return []
    who_draft = (
        col(Draft.customer_id) == customer_id
        if customer_id is not None
        else col(Draft.author_id) == author_id
    )
    who_contact = (
        col(Contact.customer_id) == customer_id
        if customer_id is not None
        else col(Contact.author_id) == author_id
    )
    facts: dict[tuple[str, int], ContactFact] = {}
    for draft in session.exec(
        select(Draft).where(who_draft).where(col(Draft.status).in_(ANSWERED))
    ).all():
        at = draft.decided_at or draft.created_at
        if since is None or at >= since:
            facts["draft", draft.id or 0] = ContactFact(at, draft.channel, draft.intent, draft.id)
    query = select(Contact).where(who_contact)
    if since is not None:
        query = query.where(col(Contact.at) >= since)
    for contact in session.exec(query).all():
        key = ("draft", contact.draft_id) if contact.draft_id else ("contact", contact.id or 0)
        facts[key] = ContactFact(contact.at, contact.channel, contact.kind, contact.draft_id)
    return sorted(facts.values(), key=lambda f: f.at, reverse=True)


def record_contact(
    session: Session,
    *,
    channel: str,
    kind: str,
    customer_id: int | None = None,
    author_id: int | None = None,
    draft_id: int | None = None,
    at: datetime | None = None,
) -> Contact:
    """Remember a message that went to a person; once per draft."""
    if draft_id is not None:
        existing = session.exec(select(Contact).where(Contact.draft_id == draft_id)).first()
        if existing is not None:
            return existing
    contact = Contact(
        customer_id=customer_id,
        author_id=author_id,
        channel=channel,
        kind=kind,
        draft_id=draft_id,
        at=at or utcnow(),
    )
    session.add(contact)
    session.flush()
    return contact


def open_issues(session: Session, *, product_ids: Sequence[int]) -> list[KnownIssue]:
    """Open or acknowledged defect alerts on these products, newest first.

    Empty when defect alerts are not part of this installation.
    """
    alert = getattr(models, "Alert", None)
    if alert is None or not product_ids:
        return []
    rows = session.exec(
        select(alert)
        .where(col(alert.product_id).in_(list(product_ids)))
        .where(col(alert.status).in_(ALERT_OPEN))
        .order_by(col(alert.id).desc())
    ).all()
    return [KnownIssue(r.id, r.product_id, getattr(r, "created_at", None)) for r in rows]


def draft_by_key(session: Session, key: str) -> Draft | None:
    """The draft stored under `key`, if any."""
    return session.exec(select(Draft).where(Draft.key == key)).first()


def drafts_of_mention(session: Session, *, mention_id: int) -> list[Draft]:
    """Every draft for a mention, oldest first."""
    return list(
        session.exec(
            select(Draft).where(Draft.mention_id == mention_id).order_by(col(Draft.id))
        ).all()
    )


def get_case(session: Session, *, mention_id: int) -> CareCase | None:
    """The mention's care case, if it has one."""
    return session.exec(select(CareCase).where(CareCase.mention_id == mention_id)).first()


def open_case(
    session: Session, *, mention_id: int, opened_at: datetime, customer_id: int | None
) -> CareCase:
    """The mention's care case, created on first use."""
    case = get_case(session, mention_id=mention_id)
    if case is None:
        case = CareCase(mention_id=mention_id, opened_at=opened_at, customer_id=customer_id)
        session.add(case)
        session.flush()
    return case


def record_response(
    session: Session, *, mention_id: int, at: datetime, draft_id: int | None = None
) -> CareCase | None:
    """Note that the mention was answered at `at`; the earliest answer is the first response."""
    case = get_case(session, mention_id=mention_id)
    if case is None:
        return None
    if case.first_response_at is None or at < case.first_response_at:
        case.first_response_at = at
        case.first_response_draft_id = draft_id
        session.add(case)
    return case


def sync_responses(session: Session) -> int:
    """Record as first responses the approved drafts of cases that have none yet.

    Approval happens in the review queue; this keeps the cases right whichever way a
    draft was approved. Returns how many cases got their first response.
    """
    rows = session.exec(
        select(CareCase, Draft)
        .join(Draft, col(Draft.mention_id) == col(CareCase.mention_id))
        .where(col(CareCase.first_response_at).is_(None))
        .where(col(Draft.status).in_(ANSWERED))
        .order_by(col(Draft.decided_at), col(Draft.id))
    ).all()
    done: set[int] = set()
    for case, draft in rows:
        if case.id in done:
            continue
        case.first_response_at = draft.decided_at or draft.created_at
        case.first_response_draft_id = draft.id
        session.add(case)
        done.add(case.id or 0)
    return len(done)


def resolve_case(
    session: Session,
    *,
    mention_id: int,
    by: str,
    at: datetime | None = None,
    resolution: str | None = None,
) -> CareCase | None:
    """Mark the mention's case resolved (once: a second call changes nothing)."""
    case = get_case(session, mention_id=mention_id)
    if case is None or case.resolved_at is not None:
        return case
    case.resolved_at = at or utcnow()
    case.resolved_by = by
    case.resolution = resolution
    session.add(case)
    return case


def cases_since(session: Session, *, since: datetime) -> list[CareCase]:
    """Care cases of mentions written since `since`."""
    return list(
        session.exec(
            select(CareCase).where(col(CareCase.opened_at) >= since).order_by(col(CareCase.id))
        ).all()
    )
