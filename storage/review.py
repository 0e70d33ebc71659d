"""What the review queue reads: open drafts with their mentions, and a customer's history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from storage.models import (
    AuditEvent,
    Author,
    Classification,
    Customer,
    Draft,
    Mention,
    Order,
    Source,
    SurveyAnswer,
)


@dataclass(frozen=True)
class DraftRow:
    """A draft with the mention it answers, that mention's labels and its source's name."""

    draft: Draft
    mention: Mention | None
    labels: Classification | None
    source: str | None


@dataclass(frozen=True)
class History:
    """What happened before with the same person: their mentions, drafts and orders."""

    mentions: list[tuple[Mention, str]]
    drafts: list[Draft]
    orders: list[Order]


def drafts_with_mentions(
    session: Session, *, statuses: Sequence[str], ids: Sequence[int] = ()
) -> list[DraftRow]:
    """Drafts in these statuses (or with these ids), each with its mention, labels, source."""
    query = (
        select(Draft, Mention, Classification, Source.name)
        .join(Mention, col(Mention.id) == col(Draft.mention_id), isouter=True)
        .join(Classification, col(Classification.mention_id) == col(Mention.id), isouter=True)
        .join(Source, col(Source.id) == col(Mention.source_id), isouter=True)
    )
    query = (
        query.where(col(Draft.id).in_(list(ids)))
        if ids
        else query.where(col(Draft.status).in_(list(statuses)))
    )
    return [
        DraftRow(draft, mention, labels, source)
        for draft, mention, labels, source in session.exec(query.order_by(col(Draft.id))).all()
    ]


def lock_draft(session: Session, draft_id: int) -> Draft | None:
    """The draft, locked for this transaction where the database can (PostgreSQL)."""
    return session.exec(select(Draft).where(col(Draft.id) == draft_id).with_for_update()).first()


def people(session: Session, draft: Draft) -> tuple[Author | None, Customer | None]:
    """Who a draft is for: the author it answers and the customer, when known."""
    author = session.get(Author, draft.author_id) if draft.author_id else None
    customer_id = draft.customer_id or (author.customer_id if author else None)
    customer = session.get(Customer, customer_id) if customer_id else None
    return author, customer


def history(
    session: Session,
    *,
    customer_id: int | None,
    author_id: int | None,
    draft_id: int,
    mention_id: int | None,
    limit: int = 20,
) -> History:
    """Earlier mentions, other drafts and the orders of a customer (or of one author)."""
    authors: set[int] = {author_id} if author_id else set()
    if customer_id is not None:
        linked = session.exec(select(Author.id).where(Author.customer_id == customer_id)).all()
        authors |= {a for a in linked if a is not None}
    mentions: list[tuple[Mention, str]] = []
    if authors:
        query = (
            select(Mention, Source.name)
            .join(Source, col(Source.id) == col(Mention.source_id))
            .where(col(Mention.author_id).in_(sorted(authors)))
            .where(col(Mention.deleted_at).is_(None))
        )
        if mention_id is not None:
            query = query.where(col(Mention.id) != mention_id)
        rows = session.exec(
            query.order_by(
                func.coalesce(Mention.published_at, Mention.fetched_at).desc(),
                col(Mention.id).desc(),
            ).limit(limit)
        ).all()
        mentions = [(m, s) for m, s in rows]
    who = []
    if customer_id is not None:
        who.append(col(Draft.customer_id) == customer_id)
    if author_id is not None:
        who.append(col(Draft.author_id) == author_id)
    drafts: list[Draft] = []
    if who:
        drafts = list(
            session.exec(
                select(Draft)
                .where(or_(*who))
                .where(col(Draft.id) != draft_id)
                .order_by(col(Draft.created_at).desc(), col(Draft.id).desc())
                .limit(limit)
            ).all()
        )
    orders: list[Order] = []
    if customer_id is not None:
        orders = list(
            session.exec(
                select(Order)
                .where(Order.customer_id == customer_id)
                .order_by(
                    func.coalesce(Order.ordered_at, Order.updated_at).desc(),
                    col(Order.id).desc(),
                )
                .limit(limit)
            ).all()
        )
    return History(mentions=mentions, drafts=drafts, orders=orders)


def waiting_since(row: DraftRow) -> datetime:
    """Since when the person has been waiting: the mention's time, else the draft's."""
    if row.mention is not None:
        return row.mention.published_at or row.mention.fetched_at
    return row.draft.created_at


def draft_events(session: Session, draft_id: int, *, limit: int = 50) -> list[AuditEvent]:
    """The audit trail of one draft, oldest first."""
    rows = session.exec(
        select(AuditEvent)
        .where(AuditEvent.subject_type == "draft")
        .where(AuditEvent.subject_id == str(draft_id))
        .order_by(col(AuditEvent.id).desc())
        .limit(limit)
    ).all()
    return list(reversed(rows))


def answer_followed_by(session: Session, draft_id: int) -> SurveyAnswer | None:
    """The survey answer a follow-up draft responds to, if it follows one."""
    return session.exec(
        select(SurveyAnswer).where(SurveyAnswer.follow_up_draft_id == draft_id)
    ).first()
