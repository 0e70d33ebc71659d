"""Defect clusters, their members, alerts and where detection stands, read and written.

Every function works inside the caller's session and transaction. A cluster or a
product's watch is written only if its `version` is still the one read: when a person
acts on a cluster while a detection run holds it, the later writer gets `StaleWrite` and
its transaction is rolled back, instead of silently undoing the other's change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Text, and_, cast, delete, or_, update
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, func, select

from storage.classifications import sure_enough
from storage.models import (
    Alert,
    Author,
    Classification,
    DefectCluster,
    DefectClusterMember,
    DefectWatch,
    Mention,
    MentionEmbedding,
    Order,
    OrderLine,
    OutboxMessage,
    Product,
    Source,
)
from storage.types import utcnow

ALERT_STATUSES = ("open", "acknowledged", "dismissed", "resolved")
CLOSED = ("dismissed", "resolved")
_CHUNK = 500


class StaleWrite(RuntimeError):
    """A row changed since it was read; the transaction must be rolled back and retried."""


# -- products and their watch ---------------------------------------------------------------


def watch_start(product: Product) -> datetime | None:
    """The launch instant (midnight UTC of the launch day), if the product has one."""
    if product.launched_on is None:
        return None
    return datetime.combine(product.launched_on, time(), tzinfo=UTC)


def in_watch_window(product: Product, today: date) -> bool:
    """Launched, and at most `watch_days` days ago."""
    launched = product.launched_on
    return launched is not None and launched <= today <= launched + timedelta(product.watch_days)


def watched_products(session: Session, *, today: date) -> list[Product]:
    """Products in their watch window on `today`, by id."""
    rows = session.exec(
        select(Product).where(col(Product.launched_on).is_not(None)).order_by(col(Product.id))
    ).all()
    return [p for p in rows if in_watch_window(p, today)]


def get_watch(session: Session, product_id: int) -> DefectWatch:
    """The product's watch; a new, unsaved one (version 0) when detection never ran."""
    found = session.get(DefectWatch, product_id)
    return found if found is not None else DefectWatch(product_id=product_id, version=0)


def save_watch(
    session: Session,
    *,
    product_id: int,
    version: int,
    cursor: tuple[datetime, int] | None,
    daily: dict[str, int],
    now: datetime,
) -> None:
    """Store where detection stands, if nobody else moved it since `version` was read."""
    cursor_at, cursor_id = cursor if cursor is not None else (None, 0)
    values: dict[str, Any] = {
        "cursor_at": cursor_at,
        "cursor_mention_id": cursor_id,
        "daily": daily,
        "updated_at": now,
        "version": version + 1,
    }
    if version == 0:
        session.add(DefectWatch(product_id=product_id, **values))
        session.flush()
        return
    _update_versioned(
        session, DefectWatch, col(DefectWatch.product_id) == product_id, version, values
    )


# -- complaints to cluster -------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A classified complaint or defect report: the labels needed to pick its products."""

    mention_id: int
    classified_at: datetime
    products: tuple[str, ...]
    copied_from_id: int | None
    complaint: bool | None = None
    issues: tuple[str, ...] = ()
    sentiment: str | None = None

    @property
    def position(self) -> tuple[datetime, int]:
        """Where it stands in the order detection reads labels."""
        return self.classified_at, self.mention_id


@dataclass(frozen=True)
class ComplaintText:
    """A complaint's mention, its writer, where it was posted and its embedding."""

    mention_id: int
    title: str | None
    text: str
    at: datetime
    author: str
    source: str
    language: str | None
    vector: npt.NDArray[np.float32]


def complaint_candidates(
    session: Session,
    *,
    after: tuple[datetime, int] | None,
    limit: int,
    min_confidence: float = 0.0,
) -> list[Candidate]:
    """Defect labels classified after `after`, oldest first, at most `limit`.

    Deleted and unclassifiable mentions are left out, and so are labels that wait for a
    person (a confirmation moves `classified_at`, so they are read again then).
    """
    is_defect = cast(Classification.issues, Text).like('%"defect"%')
    query: Any = (
        sql_select(
            col(Classification.mention_id),
            col(Classification.classified_at),
            col(Classification.products),
            col(Classification.copied_from_id),
            col(Classification.complaint),
            col(Classification.issues),
            col(Classification.sentiment),
        )
        .join(Mention, col(Mention.id) == Classification.mention_id)
        .where(col(Mention.deleted_at).is_(None))
        # Withdrawn words are never read again (erased, past retention, gone upstream).
        .where(col(Mention.withdrawn_at).is_(None))
        .where(col(Classification.unclassifiable_reason).is_(None))
        .where(is_defect)
        .where(sure_enough(min_confidence))
    )
    if after is not None:
        at, mention_id = after
        query = query.where(
            or_(
                col(Classification.classified_at) > at,
                and_(
                    col(Classification.classified_at) == at,
                    col(Classification.mention_id) > mention_id,
                ),
            )
        )
    rows = session.execute(
        query.order_by(col(Classification.classified_at), col(Classification.mention_id)).limit(
            limit
        )
    ).all()
    return [
        Candidate(
            mention_id=mention_id,
            classified_at=at,
            products=tuple(products or ()),
            copied_from_id=copied,
            complaint=complaint,
            issues=tuple(issues or ()),
            sentiment=sentiment,
        )
        for mention_id, at, products, copied, complaint, issues, sentiment in rows
    ]


@dataclass(frozen=True)
class Relabelled:
    """A mention counted in a cluster whose labels changed after detection read them."""

    mention_id: int
    product: str
    classified_at: datetime
    complaint: bool | None
    issues: tuple[str, ...]
    products: tuple[str, ...]
    gone: bool
    """Deleted, or unclassifiable now: it counts nowhere."""
    sentiment: str | None = None
    title: str | None = None
    text: str = ""


def relabelled_members(session: Session, *, after: tuple[datetime, int] | None) -> list[Relabelled]:
    """Members whose mention was (re)classified or corrected after `after`, oldest first."""
    query: Any = (
        sql_select(
            col(DefectClusterMember.mention_id),
            col(Product.name),
            col(Classification.classified_at),
            col(Classification.complaint),
            col(Classification.issues),
            col(Classification.products),
            col(Classification.unclassifiable_reason),
            col(Mention.deleted_at),
            col(Classification.sentiment),
            col(Mention.title),
            col(Mention.text),
        )
        .join(Product, col(Product.id) == DefectClusterMember.product_id)
        .join(Mention, col(Mention.id) == DefectClusterMember.mention_id)
        .join(
            Classification,
            col(Classification.mention_id) == DefectClusterMember.mention_id,
            isouter=True,
        )
    )
    if after is not None:
        at, mention_id = after
        query = query.where(
            or_(
                col(Classification.classified_at) > at,
                and_(
                    col(Classification.classified_at) == at,
                    col(Classification.mention_id) > mention_id,
                ),
                col(Classification.id).is_(None),
            )
        )
    rows = session.execute(
        query.order_by(col(Classification.classified_at), col(DefectClusterMember.mention_id))
    ).all()
    return [
        Relabelled(
            mention_id=mention_id,
            product=product,
            classified_at=at or utcnow(),
            complaint=complaint,
            issues=tuple(issues or ()),
            products=tuple(products or ()),
            gone=deleted is not None or reason is not None or at is None,
            sentiment=sentiment,
            title=title,
            text=text,
        )
        for (
            mention_id,
            product,
            at,
            complaint,
            issues,
            products,
            reason,
            deleted,
            sentiment,
            title,
            text,
        ) in rows
    ]


def bought_products(session: Session, mention_ids: Iterable[int]) -> dict[int, set[int]]:
    """Products whose order lines (matched by SKU or title) the mention's author bought.

    Only authors known as customers have any; mentions without are left out.
    """
    ids = sorted(set(mention_ids))
    found: dict[int, set[int]] = {}
    for start in range(0, len(ids), _CHUNK):
        rows = session.exec(
            select(Mention.id, OrderLine.product_id)
            .join(Author, col(Author.id) == Mention.author_id)
            .join(Order, col(Order.customer_id) == Author.customer_id)
            .join(OrderLine, col(OrderLine.order_id) == Order.id)
            .where(col(Mention.id).in_(ids[start : start + _CHUNK]))
            .where(col(OrderLine.product_id).is_not(None))
        ).all()
        for mention_id, product_id in rows:
            if mention_id is not None and product_id is not None:
                found.setdefault(mention_id, set()).add(product_id)
    return found


def complaint_texts(session: Session, candidates: Sequence[Candidate]) -> dict[int, ComplaintText]:
    """Text, time, author, source and embedding of each candidate that has an embedding.

    A near-duplicate whose labels were copied uses its original's embedding. The author
    is the customer when known (one person across platforms), else the platform handle,
    else the mention itself.
    """
    wanted = {c.mention_id: c for c in candidates}
    ids = sorted(wanted)
    vector_of = {c.mention_id: c.copied_from_id or c.mention_id for c in candidates}
    out: dict[int, ComplaintText] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        vectors = {
            e.mention_id: e
            for e in session.exec(
                select(MentionEmbedding).where(
                    col(MentionEmbedding.mention_id).in_({vector_of[i] for i in chunk})
                )
            ).all()
        }
        rows = session.exec(
            select(Mention, Source.name, Author.customer_id, Classification.language)
            .join(Source, col(Source.id) == Mention.source_id)
            .join(Author, col(Author.id) == Mention.author_id, isouter=True)
            .join(Classification, col(Classification.mention_id) == Mention.id)
            .where(col(Mention.id).in_(chunk))
        ).all()
        for mention, source, customer_id, language in rows:
            mention_id = mention.id or 0
            stored = vectors.get(vector_of[mention_id])
            if stored is None:
                continue
            if customer_id is not None:
                author = f"customer:{customer_id}"
            elif mention.author_id is not None:
                author = f"author:{mention.author_id}"
            else:
                author = f"mention:{mention_id}"
            out[mention_id] = ComplaintText(
                mention_id=mention_id,
                title=mention.title,
                text=mention.text,
                at=mention.published_at or mention.fetched_at,
                author=author,
                source=source,
                language=language or mention.lang,
                vector=np.frombuffer(stored.vector, dtype="<f4").astype(np.float32),
            )
    return out


def known_members(session: Session, *, product_id: int, mention_ids: Iterable[int]) -> set[int]:
    """Which of `mention_ids` already count in a cluster of the product."""
    ids = sorted(set(mention_ids))
    found: set[int] = set()
    for start in range(0, len(ids), _CHUNK):
        found.update(
            session.exec(
                select(DefectClusterMember.mention_id)
                .where(DefectClusterMember.product_id == product_id)
                .where(col(DefectClusterMember.mention_id).in_(ids[start : start + _CHUNK]))
            ).all()
        )
    return found


def memberships(
    session: Session, *, mention_id: int
) -> list[tuple[DefectClusterMember, DefectCluster, Product]]:
    """Where a mention counts: its member rows with their clusters and products."""
    rows = session.exec(
        select(DefectClusterMember, DefectCluster, Product)
        .join(DefectCluster, col(DefectCluster.id) == DefectClusterMember.cluster_id)
        .join(Product, col(Product.id) == DefectClusterMember.product_id)
        .where(DefectClusterMember.mention_id == mention_id)
        .order_by(col(DefectClusterMember.id))
    ).all()
    return [(member, cluster, product) for member, cluster, product in rows]


def remove_member(session: Session, *, member_id: int) -> None:
    """Stop counting a mention in its cluster (the caller updates the cluster itself)."""
    session.execute(delete(DefectClusterMember).where(col(DefectClusterMember.id) == member_id))


# -- clusters --------------------------------------------------------------------------------


def live_clusters(session: Session, product_ids: Iterable[int]) -> list[DefectCluster]:
    """The clusters detection still updates (not merged away), of these products, by id."""
    ids = sorted(set(product_ids))
    if not ids:
        return []
    return list(
        session.exec(
            select(DefectCluster)
            .where(col(DefectCluster.product_id).in_(ids))
            .where(col(DefectCluster.live).is_(True))
            .order_by(col(DefectCluster.id))
        ).all()
    )


def insert_cluster(session: Session, *, key: str, product_id: int, values: dict[str, Any]) -> int:
    """Store a new cluster; returns its id. A second cluster with the same key is refused."""
    row = DefectCluster(key=key, product_id=product_id, version=1, **values)
    session.add(row)
    session.flush()
    return row.id or 0


def update_cluster(
    session: Session, *, cluster_id: int, version: int, values: dict[str, Any]
) -> int:
    """Write a cluster read at `version`; returns the new version (or raises StaleWrite)."""
    _update_versioned(
        session,
        DefectCluster,
        col(DefectCluster.id) == cluster_id,
        version,
        {**values, "version": version + 1},
    )
    return version + 1


def add_members(
    session: Session,
    *,
    product_id: int,
    members: dict[int, int],
    now: datetime,
) -> None:
    """Count each mention (key) in its cluster (value)."""
    session.add_all(
        DefectClusterMember(cluster_id=cluster, product_id=product_id, mention_id=m, added_at=now)
        for m, cluster in sorted(members.items())
    )
    session.flush()


def merge_cluster(
    session: Session, *, absorbed_id: int, version: int, survivor_id: int, now: datetime
) -> None:
    """Move a merged cluster's members to the cluster that absorbed it; keep it, not live."""
    session.execute(
        update(DefectClusterMember)
        .where(col(DefectClusterMember.cluster_id) == absorbed_id)
        .values(cluster_id=survivor_id)
    )
    update_cluster(
        session,
        cluster_id=absorbed_id,
        version=version,
        values={"live": False, "merged_into_id": survivor_id, "updated_at": now},
    )


def drop_cluster(session: Session, *, cluster_id: int, version: int, now: datetime) -> None:
    """Forget a small quiet cluster and its members; one that ever alerted is only retired."""
    alerted = session.exec(
        select(func.count()).select_from(Alert).where(Alert.cluster_id == cluster_id)
    ).one()
    if alerted:
        update_cluster(
            session,
            cluster_id=cluster_id,
            version=version,
            values={"live": False, "updated_at": now},
        )
        return
    found = session.exec(
        select(DefectCluster.version).where(DefectCluster.id == cluster_id)
    ).first()
    if found != version:
        raise StaleWrite(f"defect cluster {cluster_id} changed since it was read")
    session.execute(
        delete(DefectClusterMember).where(col(DefectClusterMember.cluster_id) == cluster_id)
    )
    session.execute(delete(DefectCluster).where(col(DefectCluster.id) == cluster_id))


def get_cluster(session: Session, cluster_id: int) -> DefectCluster | None:
    """One cluster by id."""
    return session.get(DefectCluster, cluster_id)


def list_clusters(
    session: Session,
    *,
    product_id: int | None = None,
    statuses: Sequence[str] | None = None,
    live_only: bool = True,
    limit: int = 100,
) -> list[DefectCluster]:
    """Clusters, highest level first, then largest, then newest."""
    query: Any = select(DefectCluster)
    if product_id is not None:
        query = query.where(DefectCluster.product_id == product_id)
    if statuses:
        query = query.where(col(DefectCluster.status).in_(list(statuses)))
    if live_only:
        query = query.where(col(DefectCluster.live).is_(True))
    query = query.order_by(
        col(DefectCluster.level).desc(),
        col(DefectCluster.size).desc(),
        col(DefectCluster.id).desc(),
    )
    return list(session.exec(query.limit(limit)).all())


def member_ids(session: Session, cluster_id: int, *, limit: int = 1000) -> list[int]:
    """Mention ids counted in the cluster, newest first."""
    return list(
        session.exec(
            select(DefectClusterMember.mention_id)
            .where(DefectClusterMember.cluster_id == cluster_id)
            .order_by(col(DefectClusterMember.mention_id).desc())
            .limit(limit)
        ).all()
    )


def product_names(session: Session) -> dict[int, str]:
    """Product id -> name."""
    return {p.id or 0: p.name for p in session.exec(select(Product)).all()}


# -- alerts ----------------------------------------------------------------------------------


def raise_alert(
    session: Session,
    *,
    cluster_id: int,
    product_id: int,
    level: int,
    title: str,
    summary: str,
    evidence: dict[str, Any],
    now: datetime,
) -> Alert | None:
    """A new open alert for (cluster, level); None when that level was already raised."""
    existing = session.exec(
        select(Alert.id).where(Alert.cluster_id == cluster_id).where(Alert.level == level)
    ).first()
    if existing is not None:
        return None
    alert = Alert(
        cluster_id=cluster_id,
        product_id=product_id,
        level=level,
        status="open",
        created_at=now,
        updated_at=now,
        title=title[:300],
        summary=summary,
        evidence=evidence,
    )
    session.add(alert)
    session.flush()
    return alert


def get_alert(session: Session, alert_id: int) -> Alert | None:
    """One alert by id."""
    return session.get(Alert, alert_id)


def list_alerts(
    session: Session,
    *,
    statuses: Sequence[str] | None = None,
    product_id: int | None = None,
    cluster_id: int | None = None,
    limit: int = 100,
) -> list[Alert]:
    """Alerts, newest first."""
    query: Any = select(Alert)
    if statuses:
        query = query.where(col(Alert.status).in_(list(statuses)))
    if product_id is not None:
        query = query.where(Alert.product_id == product_id)
    if cluster_id is not None:
        query = query.where(Alert.cluster_id == cluster_id)
    return list(session.exec(query.order_by(col(Alert.id).desc()).limit(limit)).all())


def set_alert_status(
    session: Session, alert: Alert, *, status: str, by: str, now: datetime | None = None
) -> None:
    """Record a person's decision on an alert (the caller records the audit event)."""
    if status not in ALERT_STATUSES:
        raise ValueError(f"alert status {status!r}: expected one of {', '.join(ALERT_STATUSES)}")
    when = now or utcnow()
    alert.status = status
    alert.acted_by = by
    alert.acted_at = when
    alert.updated_at = when
    session.add(alert)
    session.flush()


def alert_deliveries(session: Session, alert_ids: Iterable[int]) -> dict[int, list[OutboxMessage]]:
    """Each alert's notifications in the outbox (one per target), oldest first."""
    ids = sorted(set(alert_ids))
    found: dict[int, list[OutboxMessage]] = {}
    for start in range(0, len(ids), _CHUNK):
        rows = session.exec(
            select(OutboxMessage)
            .where(col(OutboxMessage.alert_id).in_(ids[start : start + _CHUNK]))
            .order_by(col(OutboxMessage.id))
        ).all()
        for message in rows:
            found.setdefault(message.alert_id or 0, []).append(message)
    return found


# -- helpers ---------------------------------------------------------------------------------


def _update_versioned(
    session: Session, model: Any, where: Any, version: int, values: dict[str, Any]
) -> None:
    result: Any = session.execute(
        update(model)
        .where(where)
        .where(model.version == version)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise StaleWrite(f"{model.__tablename__} changed since it was read (version {version})")
    # Rows of this session's identity map still hold the old values.
    session.expire_all()
