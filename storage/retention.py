"""Retention and withdrawal: the rows past their age or gone at their source, and taking
the people out of them.

Each function works in the caller's transaction on at most `limit` rows and returns how
many it changed, so a large backlog is worked off in short transactions. Figures survive:
rows that are counted keep their day, source, labels, scores and statuses.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import String, cast, delete, func, or_, update
from sqlmodel import Session, col, select

from storage.models import (
    AuditEvent,
    Author,
    CareCase,
    Contact,
    Customer,
    DefectClusterMember,
    Draft,
    ListenerRun,
    Mention,
    Order,
    OutboxMessage,
    QuarantinedItem,
    SurveyAnswer,
    Unsubscribe,
)
from storage.privacy import (
    alerts_quoting,
    anonymise_draft,
    anonymise_outbox,
    clusters_quoting,
    scrub_quotes,
    withdraw_mentions,
)

DECIDED = ("sent", "approved", "rejected", "withdrawn", "failed")
DONE = ("sent", "failed", "cancelled")


def written_before(
    session: Session, *, before: datetime, source_ids: Iterable[int] | None, limit: int
) -> list[int]:
    """Mentions written before `before` (of these sources; all when None) not withdrawn yet."""
    query = (
        select(Mention.id)
        .where(func.coalesce(Mention.published_at, Mention.fetched_at) < before)
        .where(col(Mention.withdrawn_at).is_(None))
    )
    if source_ids is not None:
        query = query.where(col(Mention.source_id).in_(list(source_ids)))
    return [i for i in session.exec(query.order_by(col(Mention.id)).limit(limit)).all() if i]


def withdraw_everywhere(session: Session, mention_ids: list[int], *, now: datetime) -> int:
    """Withdraw mentions with the samples that quote them and the drafts answering them."""
    if not mention_ids:
        return 0
    ids = set(mention_ids)
    texts = [
        t
        for t in session.exec(select(Mention.text).where(col(Mention.id).in_(mention_ids))).all()
        if t and len(t) >= 3
    ]
    clusters = clusters_quoting(session, ids, texts)
    scrub_quotes(
        session,
        clusters=clusters,
        alerts=alerts_quoting(session, clusters, ids, texts),
        mention_ids=ids,
        needles=texts,
        identifiers=[],
    )
    for draft in session.exec(select(Draft).where(col(Draft.mention_id).in_(mention_ids))).all():
        anonymise_draft(draft)
        session.add(draft)
    return withdraw_mentions(session, mention_ids, now=now)


def in_clusters(session: Session, mention_ids: list[int]) -> list[int]:
    """Those of the mentions that count in a defect cluster."""
    if not mention_ids:
        return []
    return sorted(
        set(
            session.exec(
                select(DefectClusterMember.mention_id).where(
                    col(DefectClusterMember.mention_id).in_(mention_ids)
                )
            ).all()
        )
    )


def drop_lone_authors(session: Session, *, limit: int) -> int:
    """Delete authors with no mention left and no customer: nothing they wrote is kept."""
    has_mention = select(Mention.id).where(col(Mention.author_id) == col(Author.id)).exists()
    ids = list(
        session.exec(
            select(Author.id)
            .where(col(Author.customer_id).is_(None))
            .where(~has_mention)
            .limit(limit)
        ).all()
    )
    if not ids:
        return 0
    session.execute(update(Draft).where(col(Draft.author_id).in_(ids)).values(author_id=None))
    session.execute(update(Contact).where(col(Contact.author_id).in_(ids)).values(author_id=None))
    session.execute(delete(Author).where(col(Author.id).in_(ids)))
    return len(ids)


def drop_customers_without_orders(session: Session, *, before: datetime, limit: int) -> int:
    """Delete customers created before `before` who never had an order. An unsubscribe
    stays (it is kept forever) without its link to the customer."""
    has_order = select(Order.id).where(col(Order.customer_id) == col(Customer.id)).exists()
    ids = list(
        session.exec(
            select(Customer.id)
            .where(col(Customer.created_at) < before)
            .where(~has_order)
            .limit(limit)
        ).all()
    )
    if not ids:
        return 0
    for model in (Author, Draft, Contact, CareCase, SurveyAnswer, Unsubscribe):
        session.execute(
            update(model).where(col(model.customer_id).in_(ids)).values(customer_id=None)
        )
    session.execute(delete(Customer).where(col(Customer.id).in_(ids)))
    return len(ids)


def clear_drafts(session: Session, *, before: datetime, limit: int) -> int:
    """Take the words and recipient out of drafts decided before `before`."""
    rows = session.exec(
        select(Draft)
        .where(col(Draft.status).in_(DECIDED))
        .where(func.coalesce(Draft.decided_at, Draft.created_at) < before)
        .where(or_(col(Draft.text) != "", col(Draft.recipient).is_not(None)))
        .limit(limit)
    ).all()
    for draft in rows:
        anonymise_draft(draft)
        session.add(draft)
    return len(rows)


def clear_outbox(session: Session, *, before: datetime, now: datetime, limit: int) -> int:
    """Take the body and recipient out of messages delivered, failed or cancelled before."""
    rows = session.exec(
        select(OutboxMessage)
        .where(col(OutboxMessage.status).in_(DONE))
        .where(col(OutboxMessage.updated_at) < before)
        .where(OutboxMessage.recipient != "erased")
        .limit(limit)
    ).all()
    for message in rows:
        anonymise_outbox(message, now=now)
        session.add(message)
    return len(rows)


def clear_survey_comments(
    session: Session, *, before: datetime, limit: int
) -> tuple[int, list[int]]:
    """Clear survey comments given before `before`; returns how many, and the mentions made
    of them."""
    rows = session.exec(
        select(SurveyAnswer)
        .where(col(SurveyAnswer.answered_at) < before)
        .where(col(SurveyAnswer.comment).is_not(None))
        .limit(limit)
    ).all()
    for answer in rows:
        answer.comment = None
        session.add(answer)
    return len(rows), [a.mention_id for a in rows if a.mention_id is not None]


def clear_logs(session: Session, *, before: datetime, limit: int) -> int:
    """Audit details, quarantined payloads and run errors older than `before`."""
    done = 0
    events = session.exec(
        select(AuditEvent)
        .where(col(AuditEvent.at) < before)
        .where(cast(AuditEvent.details, String) != "{}")
        .limit(limit)
    ).all()
    for event in events:
        event.details = {}
        session.add(event)
    done += len(events)
    quarantined = list(
        session.exec(
            select(QuarantinedItem.id).where(col(QuarantinedItem.at) < before).limit(limit)
        ).all()
    )
    if quarantined:
        session.execute(delete(QuarantinedItem).where(col(QuarantinedItem.id).in_(quarantined)))
        done += len(quarantined)
    result = session.execute(
        update(ListenerRun)
        .where(col(ListenerRun.started_at) < before)
        .where(or_(col(ListenerRun.error).is_not(None), col(ListenerRun.warning).is_not(None)))
        .values(error=None, warning=None)
    )
    done += int(getattr(result, "rowcount", 0) or 0)
    return done


def to_recheck(session: Session, *, source_id: int, since: datetime, limit: int) -> list[Mention]:
    """The source's mentions written since `since`, still standing, newest first."""
    return list(
        session.exec(
            select(Mention)
            .where(Mention.source_id == source_id)
            .where(func.coalesce(Mention.published_at, Mention.fetched_at) >= since)
            .where(col(Mention.deleted_at).is_(None))
            .where(col(Mention.withdrawn_at).is_(None))
            .order_by(col(Mention.id).desc())
            .limit(limit)
        ).all()
    )


def deleted_not_withdrawn(session: Session, *, limit: int) -> list[int]:
    """Mentions a listener saw deleted at their source whose words are still stored."""
    return [
        i
        for i in session.exec(
            select(Mention.id)
            .where(col(Mention.deleted_at).is_not(None))
            .where(col(Mention.withdrawn_at).is_(None))
            .order_by(col(Mention.id))
            .limit(limit)
        ).all()
        if i
    ]
