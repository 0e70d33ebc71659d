"""A small world for defect detection: products, sources, authors and labelled complaints.

Mentions go through the real ingest and their labels and embeddings through the real
classifier storage; the embeddings are synthetic (one direction per theme plus noise), so
which complaints belong together is known exactly.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from ascolto.defects.detection import DefectReport, detect_defects
from ascolto.settings import Settings
from storage.classifications import LabelsRecord, save_labels
from storage.db import session_scope
from storage.mentions import NewMention, ingest
from storage.models import Alert, DefectCluster, DefectClusterMember, Product, Source
from tests.factories import T0, at

DIM = 32
MODEL = "test-encoder"
LAUNCH = T0.date()
_serial = itertools.count(1)


def theme_vector(theme: int, seed: int, noise: float = 0.05) -> np.ndarray:
    """A unit vector near axis `theme`: same theme ~0.95 similar, other themes ~0."""
    rng = np.random.default_rng(seed)
    vector = np.zeros(DIM, dtype=np.float32)
    vector[theme] = 1.0
    vector += rng.normal(0.0, noise, DIM).astype(np.float32)
    return (vector / np.linalg.norm(vector)).astype(np.float32)


@dataclass
class World:
    """Writes products and complaints the way the listeners and the classifier do."""

    engine: Engine
    sources: dict[str, int] = field(default_factory=dict)

    def product(
        self,
        name: str,
        *,
        launched_on: date | None = LAUNCH,
        watch_days: int = 60,
        skus: list[str] | None = None,
    ) -> int:
        with session_scope(self.engine) as session:
            row = Product(
                name=name, skus=skus or [], launched_on=launched_on, watch_days=watch_days
            )
            session.add(row)
            session.flush()
            return row.id or 0

    def source(self, name: str) -> int:
        if name not in self.sources:
            with session_scope(self.engine) as session:
                row = Source(name=name, kind="rss")
                session.add(row)
                session.flush()
                self.sources[name] = row.id or 0
        return self.sources[name]

    def mention(
        self,
        text: str,
        *,
        author: str | None = None,
        source: str = "forum",
        when: datetime | None = None,
        platform: str | None = None,
        title: str | None = None,
    ) -> int:
        n = next(_serial)
        item = NewMention(
            external_id=f"m-{n}",
            title=title,
            text=text,
            author_handle=author,
            author_platform=platform or (source if author else None),
            published_at=when or at(hours=n / 100),
        )
        with session_scope(self.engine) as session:
            counts = ingest(session, source_id=self.source(source), items=[item])
        (mention_id,) = counts.new_ids
        return mention_id

    def label(
        self,
        mention_id: int,
        *,
        vector: np.ndarray | None,
        products: list[str],
        complaint: bool = True,
        issues: list[str] | None = None,
        sentiment: str = "negative",
        language: str = "en",
    ) -> None:
        from storage.models import Mention

        with session_scope(self.engine) as session:
            mention = session.get(Mention, mention_id)
            assert mention is not None
            save_labels(
                session,
                records=[
                    LabelsRecord(
                        mention_id=mention_id,
                        content_hash=mention.content_hash,
                        model_version=MODEL,
                        language=language,
                        sentiment=sentiment,
                        complaint=complaint,
                        issues=list(issues if issues is not None else ["defect"]),
                        products=products,
                        embedding=vector,
                    )
                ],
            )

    def complaint(
        self,
        text: str,
        *,
        theme: int,
        products: tuple[str, ...] = ("Acme Tab 3",),
        author: str | None = None,
        source: str = "forum",
        when: datetime | None = None,
        complaint: bool = True,
        issues: list[str] | None = None,
    ) -> int:
        """A stored mention labelled as a complaint of `products`, embedded near `theme`."""
        n = next(_serial)
        mention_id = self.mention(
            f"{text} (#{n})", author=author or f"user{n}", source=source, when=when
        )
        self.label(
            mention_id,
            vector=theme_vector(theme, seed=n),
            products=list(products),
            complaint=complaint,
            issues=issues,
        )
        return mention_id

    def outbreak(
        self,
        count: int,
        *,
        theme: int = 0,
        start_hours: float = 24.0,
        authors: list[str] | None = None,
        **kwargs: Any,
    ) -> list[int]:
        """`count` similar complaints an hour apart, each by its own author by default."""
        words = ["battery drains overnight", "battery dies in the night", "drains to zero"]
        return [
            self.complaint(
                f"My tablet's {words[i % len(words)]}",
                theme=theme,
                author=(authors[i % len(authors)] if authors else None),
                when=at(hours=start_hours + i),
                **kwargs,
            )
            for i in range(count)
        ]

    # -- reading back ----------------------------------------------------------------------

    def clusters(self, product: str | None = None) -> list[DefectCluster]:
        with Session(self.engine) as session:
            query: Any = select(DefectCluster).order_by(col(DefectCluster.id))
            if product is not None:
                query = query.join(Product, col(Product.id) == DefectCluster.product_id).where(
                    Product.name == product
                )
            return list(session.exec(query).all())

    def members(self, cluster_id: int) -> set[int]:
        with Session(self.engine) as session:
            return set(
                session.exec(
                    select(DefectClusterMember.mention_id).where(
                        DefectClusterMember.cluster_id == cluster_id
                    )
                ).all()
            )

    def member_count(self) -> int:
        with Session(self.engine) as session:
            return int(session.exec(select(func.count()).select_from(DefectClusterMember)).one())

    def alerts(self) -> list[Alert]:
        with Session(self.engine) as session:
            return list(session.exec(select(Alert).order_by(col(Alert.id))).all())


@pytest.fixture
def world(engine: Engine) -> World:
    return World(engine)


def detect(settings: Settings, engine: Engine, now: datetime, **kwargs: Any) -> DefectReport:
    """One detection run that must succeed."""
    report = detect_defects(settings, engine, now=now, **kwargs)
    assert report.ok, (report.error, report.failed)
    return report
