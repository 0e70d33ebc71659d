"""Defect clusters follow a person's label corrections: a mention that is no complaint (or
no longer about the product) leaves its cluster at once; one that became a complaint is
clustered by the next detection run."""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ascolto.review.corrections import correct
from ascolto.review.queue import Reviewer
from ascolto.settings import Settings
from classify.defects import ClusterState
from storage.classifications import get_embedding
from storage.db import session_scope
from storage.defects import get_watch
from storage.models import AuditEvent, DefectCluster
from tests.defects.conftest import World, detect
from tests.factories import at

GIULIA = Reviewer("giulia", "agent")
PRODUCTS = '[[products]]\nname = "Acme Tab 3"\n\n[[products]]\nname = "Acme Phone"\n\n'


def fix(settings: Settings, engine: Engine, mention_id: int, **changes: Any) -> list[int]:
    with session_scope(engine) as session:
        outcome = correct(session, settings, mention_id, changes, reviewer=GIULIA)
        return outcome.left_clusters


def cluster(engine: Engine, cluster_id: int) -> DefectCluster | None:
    with Session(engine) as session:
        return session.get(DefectCluster, cluster_id)


def vector_sum(engine: Engine, mention_ids: set[int]) -> np.ndarray:
    with Session(engine) as session:
        found = [get_embedding(session, mention_id=m) for m in sorted(mention_ids)]
    total: np.ndarray = np.sum([f[1] for f in found if f is not None], axis=0)
    return total


def test_a_complaint_corrected_away_leaves_its_cluster(
    world: World, make_settings: Any, engine: Engine
) -> None:
    settings = make_settings(PRODUCTS)
    product_id = world.product("Acme Tab 3")
    members = world.outbreak(5, theme=0, start_hours=10)
    detect(settings, engine, at(hours=20))
    (found,) = world.clusters()
    cluster_id = found.id or 0
    assert (found.size, found.authors) == (5, 5)
    with Session(engine) as session:
        baseline = sum(get_watch(session, product_id).daily.values())

    # No complaint, no defect: out of the cluster, its vector, author and day with it.
    gone = members[2]
    assert fix(settings, engine, gone, complaint=False, issue=["question"]) == [cluster_id]
    after = cluster(engine, cluster_id)
    assert after is not None
    assert world.members(cluster_id) == set(members) - {gone}
    assert (after.size, after.authors) == (4, 4)
    state = ClusterState.from_json(after.state, after.vectors)
    assert (state.size, state.counted) == (4, 4)
    assert gone not in {s.mention_id for s in state.samples}
    assert gone not in {r["mention_id"] for r in after.representatives}
    np.testing.assert_allclose(
        state.vector_sum, vector_sum(engine, set(members) - {gone}), atol=1e-4
    )
    with Session(engine) as session:
        assert sum(get_watch(session, product_id).daily.values()) == baseline - 1
        (event,) = session.exec(
            select(AuditEvent).where(AuditEvent.action == "defect_cluster.member_removed")
        ).all()
    assert (event.actor, event.subject_id) == ("giulia", str(cluster_id))
    assert event.details == {"mention_id": gone, "product": "Acme Tab 3"}

    # The next run does not put it back.
    detect(settings, engine, at(hours=30))
    assert world.members(cluster_id) == set(members) - {gone}

    # Still a complaint, but about another product: it leaves this product's cluster too.
    moved = members[0]
    assert fix(settings, engine, moved, product=["Acme Phone"]) == [cluster_id]
    assert world.members(cluster_id) == set(members) - {gone, moved}
    # A correction that keeps it a complaint of the product changes no cluster.
    assert fix(settings, engine, members[1], sentiment="neutral", issue=["defect"]) == []


def test_a_mention_corrected_into_a_complaint_joins_on_the_next_run(
    world: World, make_settings: Any, engine: Engine
) -> None:
    settings = make_settings(PRODUCTS)
    world.product("Acme Tab 3")
    members = world.outbreak(3, theme=0, start_hours=10)
    quiet = world.complaint(
        "My tablet's battery dies in the night, is that normal?",
        theme=0,
        when=at(hours=14),
        complaint=False,
        issues=["question"],
    )
    detect(settings, engine, at(hours=20))
    (found,) = world.clusters()
    assert world.members(found.id or 0) == set(members)

    assert fix(settings, engine, quiet, complaint=True, issue=["defect"]) == []
    report = detect(settings, engine, at(days=3, hours=1))
    assert report.complaints == 1
    assert world.members(found.id or 0) == set(members) | {quiet}


def test_the_last_member_leaving_drops_the_cluster(
    world: World, make_settings: Any, engine: Engine
) -> None:
    settings = make_settings(PRODUCTS)
    world.product("Acme Tab 3")
    world.outbreak(3, theme=0, start_hours=10)
    lone = world.complaint("The hinge creaks when I open it", theme=5, when=at(hours=11))
    detect(settings, engine, at(hours=20))
    creak = next(c for c in world.clusters() if world.members(c.id or 0) == {lone})
    assert fix(settings, engine, lone, complaint=False, issue=[]) == [creak.id]
    assert cluster(engine, creak.id or 0) is None
    assert len(world.clusters()) == 1
