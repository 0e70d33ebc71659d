"""A small world for drafting tests: sources, labelled mentions, customers, orders, alerts.

Everything goes through the storage functions the service uses (ingest, save_labels,
upsert_orders); labels are given, not computed, so the tests do not load the classifier.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ascolto.settings import Settings, load_settings
from storage.classifications import LabelsRecord, save_labels
from storage.db import session_scope
from storage.mentions import NewMention, ingest
from storage.models import Alert, DefectCluster, Draft, Mention, Product, Source
from storage.orders import NewOrder, NewOrderLine, upsert_orders
from tests.conftest import write_settings
from tests.factories import at

_serial = itertools.count(1)
PRODUCT = "Acme Tab 3"


def settings_for(tmp_path: Any, database_url: str, body: str = "") -> Settings:
    """Settings on the test database with `[outreach]` (and anything else) from `body`."""
    if "[outreach]" not in body:
        body = "[outreach]\nenabled = true\n\n" + body
    return load_settings(write_settings(tmp_path / "settings.toml", database_url, body))


def add_source(engine: Engine, kind: str = "reddit", name: str | None = None) -> int:
    with session_scope(engine) as session:
        existing = session.exec(select(Source).where(Source.name == (name or kind))).first()
        if existing is not None:
            return existing.id or 0
        source = Source(name=name or kind, kind=kind)
        session.add(source)
        session.flush()
        return source.id or 0


def add_product(engine: Engine, name: str = PRODUCT) -> int:
    with session_scope(engine) as session:
        existing = session.exec(select(Product).where(Product.name == name)).first()
        if existing is not None:
            return existing.id or 0
        product = Product(name=name, aliases=[], skus=["AT3-128"])
        session.add(product)
        session.flush()
        return product.id or 0


def add_mention(
    engine: Engine,
    *,
    text: str = "My Acme Tab 3 still hasn't arrived, two weeks after I ordered it!",
    source_kind: str = "reddit",
    handle: str | None = "marco_b",
    author_name: str | None = None,
    platform: str | None = None,
    published_at: datetime | None = None,
    language: str | None = "en",
    complaint: bool | None = True,
    issues: Sequence[str] = ("delivery",),
    urgency: Sequence[str] = (),
    products: Sequence[str] = (PRODUCT,),
    external_id: str | None = None,
    confidence: float | None = None,
    severity: str | None = None,
    sentiment: str | None = None,
    title: str | None = None,
    embedding: Sequence[float] | None = None,
) -> int:
    """A stored mention with stored labels (and its encoder vector, when given)."""
    source_id = add_source(engine, source_kind)
    for product in products:
        add_product(engine, product)
    n = next(_serial)
    item = NewMention(
        external_id=external_id or f"m-{n}",
        text=text,
        title=title,
        url=f"https://social.example.com/p/{n}",
        author_handle=handle,
        author_name=author_name,
        author_platform=(platform or source_kind) if handle else None,
        published_at=published_at or at(n),
        lang=None,
    )
    with session_scope(engine) as session:
        counts = ingest(session, source_id=source_id, items=[item])
        mention = session.exec(
            select(Mention)
            .where(Mention.source_id == source_id)
            .where(Mention.external_id == item.external_id)
        ).one()
        if counts.new:
            save_labels(
                session,
                records=[
                    LabelsRecord(
                        mention_id=mention.id or 0,
                        content_hash=mention.content_hash,
                        model_version="test-model",
                        language=language,
                        language_score=0.99 if language else None,
                        sentiment=sentiment or ("negative" if complaint else "neutral"),
                        complaint=complaint,
                        complaint_score=0.9 if complaint else 0.1,
                        issues=list(issues),
                        issue_scores=dict.fromkeys(issues, 0.8),
                        urgency=list(urgency),
                        urgency_scores=dict.fromkeys(urgency, 0.9),
                        products=list(products),
                        confidence=confidence,
                        severity=severity,
                        embedding=(
                            np.asarray(embedding, dtype=np.float32)
                            if embedding is not None
                            else None
                        ),
                    )
                ],
            )
        return mention.id or 0


def add_order(
    engine: Engine,
    *,
    email: str = "marco.bellini@example.it",
    name: str | None = "Marco Bellini",
    language: str | None = "en",
    timezone: str | None = "Europe/Rome",
    handles: tuple[tuple[str, str], ...] = (("reddit", "marco_b"),),
    external_id: str | None = None,
    do_not_contact: bool = False,
    **stages: datetime,
) -> int:
    """An order (and its customer, linked to `handles`) with the given stage times."""
    add_product(engine)
    source_id = add_source(engine, "shopify", "shop")
    order = NewOrder(
        external_id=external_id or f"{1000 + next(_serial)}",
        email=email,
        name=name,
        language=language,
        timezone=timezone,
        currency="EUR",
        lines=[NewOrderLine(sku="AT3-128", title=PRODUCT)],
        handles=handles,
        do_not_contact=do_not_contact,
        **stages,
    )
    with session_scope(engine) as session:
        counts = upsert_orders(session, source_id=source_id, orders=[order])
        return counts.order_ids[0]


def add_alert(engine: Engine, *, status: str = "open", product: str = PRODUCT) -> int:
    """An alert (with its defect cluster) on a product."""
    product_id = add_product(engine, product)
    with session_scope(engine) as session:
        cluster = DefectCluster(
            key=f"cluster-{next(_serial)}",
            product_id=product_id,
            status="growing",
            title="battery drains overnight",
            first_at=at(0),
            last_at=at(60),
            vectors=b"",
        )
        session.add(cluster)
        session.flush()
        alert = Alert(
            cluster_id=cluster.id or 0,
            product_id=product_id,
            level=1,
            status=status,
            title=f"{product}: battery drains overnight",
            summary="17 mentions from 15 authors in 36 h",
            created_at=at(0),
            updated_at=at(0),
        )
        session.add(alert)
        session.flush()
        return alert.id or 0


def drafts(engine: Engine) -> list[Draft]:
    with Session(engine) as session:
        return list(session.exec(select(Draft).order_by(Draft.id)).all())  # type: ignore[arg-type]


def approve(engine: Engine, draft_id: int, when: datetime, by: str = "giulia") -> None:
    """What the review queue does on approval: status and who/when."""
    with session_scope(engine) as session:
        draft = session.get(Draft, draft_id)
        assert draft is not None
        draft.status = "approved"
        draft.decided_by = by
        draft.decided_at = when
        session.add(draft)
