"""A run that fails part-way keeps what it committed, and the next run does only the rest."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ascolto.defects import detection as defects
from ascolto.defects.detection import detect_defects
from storage.db import session_scope
from storage.defects import StaleWrite, update_cluster
from storage.models import DefectWatch
from tests.defects.conftest import World, detect
from tests.factories import at


def test_a_crash_after_the_first_product_keeps_it_and_the_rerun_does_the_rest(
    world: World, make_settings: Any, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings()
    tab = world.product("Acme Tab 3")
    buds = world.product("Acme Buds")
    tab_ids = world.outbreak(5, theme=0, start_hours=10)
    buds_ids = world.outbreak(5, theme=4, start_hours=10, products=("Acme Buds",))

    real = defects.add_members
    calls: list[int] = []

    def failing(session: Session, *, product_id: int, **kwargs: Any) -> None:
        calls.append(product_id)
        real(session, product_id=product_id, **kwargs)  # written, then rolled back
        if len(calls) == 2:
            raise OSError("disk full")

    monkeypatch.setattr(defects, "add_members", failing)
    report = detect_defects(settings, engine, now=at(hours=16))
    assert calls == [tab, buds]
    assert report.committed == ["Acme Tab 3"]
    assert report.failed == {"Acme Buds": "OSError: disk full"}
    assert not report.ok
    (tab_cluster,) = world.clusters()
    assert world.members(tab_cluster.id or 0) == set(tab_ids)
    assert [a.cluster_id for a in world.alerts()] == [tab_cluster.id]
    with Session(engine) as session:
        assert session.get(DefectWatch, tab) is not None
        assert session.get(DefectWatch, buds) is None

    monkeypatch.setattr(defects, "add_members", real)
    report = detect(settings, engine, at(hours=17))
    assert report.complaints == 5  # only the Buds' complaints were read again
    tab_after, buds_cluster = world.clusters()
    assert tab_after.id == tab_cluster.id
    assert world.members(tab_cluster.id or 0) == set(tab_ids)
    assert world.members(buds_cluster.id or 0) == set(buds_ids)
    assert sorted(a.cluster_id for a in world.alerts()) == [tab_cluster.id, buds_cluster.id]


def test_a_backlog_is_read_in_rounds_each_committed(
    world: World, make_settings: Any, engine: Engine
) -> None:
    settings = make_settings()
    world.product("Acme Tab 3")
    ids = world.outbreak(7, theme=0, start_hours=10)
    report = detect(settings, engine, at(hours=20), batch=3)
    assert report.rounds == 3
    assert report.complaints == 7
    (cluster,) = world.clusters()
    assert world.members(cluster.id or 0) == set(ids)
    assert len(world.alerts()) == 1


def test_a_write_over_a_newer_version_is_refused(
    world: World, make_settings: Any, engine: Engine
) -> None:
    settings = make_settings()
    world.product("Acme Tab 3")
    world.outbreak(2, theme=0, start_hours=10)
    detect(settings, engine, at(hours=12))
    (cluster,) = world.clusters()
    with session_scope(engine) as session:
        update_cluster(session, cluster_id=cluster.id or 0, version=cluster.version, values={})
    with pytest.raises(StaleWrite), session_scope(engine) as session:
        update_cluster(session, cluster_id=cluster.id or 0, version=cluster.version, values={})


def test_labels_read_again_are_not_counted_twice(
    world: World, make_settings: Any, engine: Engine
) -> None:
    settings = make_settings()
    world.product("Acme Tab 3")
    ids = world.outbreak(3, theme=0, start_hours=10)
    detect(settings, engine, at(hours=14))
    # Reclassified (new labels, new time): already counted, so skipped.
    for mention_id in ids:
        world.label(
            mention_id,
            vector=np.eye(32, dtype=np.float32)[0],
            products=["Acme Tab 3"],
        )
    report = detect(settings, engine, at(hours=15))
    assert report.complaints == 0
    (cluster,) = world.clusters()
    assert cluster.size == 3


def test_a_new_encoder_retires_the_old_clusters(
    world: World, make_settings: Any, engine: Engine
) -> None:
    settings = make_settings()
    world.product("Acme Tab 3")
    world.outbreak(2, theme=0, start_hours=10)
    detect(settings, engine, at(hours=12))
    (old,) = world.clusters()
    mention = world.mention("Battery drains overnight since the update", author="new1")
    world.label(mention, vector=np.eye(48, dtype=np.float32)[0], products=["Acme Tab 3"])
    report = detect(settings, engine, at(hours=13))
    assert report.complaints == 1
    retired, fresh = world.clusters()
    assert retired.id == old.id
    assert not retired.live
    assert fresh.live
    assert world.members(fresh.id or 0) == {mention}


def test_complaints_without_an_embedding_are_left_out(
    world: World, make_settings: Any, engine: Engine
) -> None:
    settings = make_settings()
    world.product("Acme Tab 3")
    mention = world.mention("Battery drains overnight", author="a1")
    world.label(mention, vector=None, products=["Acme Tab 3"])
    report = detect(settings, engine, at(hours=13))
    assert report.complaints == 0
    assert world.clusters() == []
    with Session(engine) as session:
        assert session.exec(select(DefectWatch)).first() is not None
