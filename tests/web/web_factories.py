"""A defect cluster as the detector stores it (state and vectors included) and its alert."""

from __future__ import annotations

import itertools
from datetime import timedelta

import numpy as np
from sqlalchemy.engine import Engine

from classify.defects.state import ClusterState
from storage.db import session_scope
from storage.models import Alert, DefectCluster
from tests.factories import at
from tests.outreach.draft_factories import PRODUCT, add_product

_serial = itertools.count(1)
GROWTH = (1, 2, 4, 7, 12)


def add_cluster_alert(
    engine: Engine, *, title: str = "battery drains overnight", product: str = PRODUCT
) -> tuple[int, int]:
    """A growing cluster (members over five days) with an open level-1 alert: (cluster, alert)."""
    product_id = add_product(engine, product)
    first = at(0)
    daily = {(first + timedelta(days=i)).date().isoformat(): n for i, n in enumerate(GROWTH)}
    key = f"web-{next(_serial)}"
    state = ClusterState(
        key=key,
        product=product,
        dim=4,
        vector_sum=np.ones(4, dtype=np.float32),
        created_at=first,
        first_at=first,
        last_at=first + timedelta(days=len(GROWTH) - 1),
        size=sum(GROWTH),
        counted=sum(GROWTH),
        daily=daily,
        keywords=["battery", "drain", "overnight"],
        title=title,
        status="growing",
    )
    with session_scope(engine) as session:
        cluster = DefectCluster(
            key=key,
            product_id=product_id,
            status="growing",
            level=1,
            title=title,
            keywords=["battery", "drain", "overnight"],
            size=sum(GROWTH),
            authors=sum(GROWTH) - 2,
            growth={"recent": 12, "previous": 7, "ratio": 1.6, "daily": daily},
            sources={"reddit": 20, "mastodon": 6},
            representatives=[
                {"mention_id": 1, "text": "Battery goes from 100 to 0 overnight", "at": "x"}
            ],
            first_at=state.first_at,
            last_at=state.last_at,
            state=state.to_json(),
            vectors=state.vectors_bytes(),
        )
        session.add(cluster)
        session.flush()
        alert = Alert(
            cluster_id=cluster.id or 0,
            product_id=product_id,
            level=1,
            status="open",
            title=f"{product}: {title}",
            summary=f"{sum(GROWTH)} mentions from {sum(GROWTH) - 2} authors in 5 days",
            created_at=state.last_at,
            updated_at=state.last_at,
        )
        session.add(alert)
        session.flush()
        return cluster.id or 0, alert.id or 0
