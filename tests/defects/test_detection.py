"""The defect step through the database: identity across runs, thresholds, de-duplication."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from tests.defects.conftest import World, detect
from tests.factories import at

# Level 1 at 5 members from 4 authors, level 2 at 15 from 12.
FIVE_FROM_FOUR = "[defects]\nmin_size = 5\nmin_authors = 4\nmin_recent = 5\n"


def test_a_growing_cluster_keeps_its_identity_across_runs(
    world: World, make_settings: Any, engine: Engine
) -> None:
    settings = make_settings()
    world.product("Acme Tab 3")
    first = world.outbreak(3, theme=0, start_hours=10)
    hinge = world.complaint("The hinge creaks when I open it", theme=5, when=at(hours=11))
    report = detect(settings, engine, at(hours=20))
    assert report.complaints == 4
    battery, creak = world.clusters()
    assert world.members(battery.id or 0) == set(first)
    assert world.members(creak.id or 0) == {hinge}
    assert (battery.size, battery.authors, battery.status) == (3, 3, "new")

    more = world.outbreak(3, theme=0, start_hours=30)
    report = detect(settings, engine, at(hours=40))
    assert report.complaints == 3
    clusters = world.clusters()
    assert [c.id for c in clusters] == [battery.id, creak.id]
    grown = clusters[0]
    assert grown.key == battery.key
    assert grown.size == 6
    assert world.members(battery.id or 0) == set(first + more)
    assert grown.keywords
    assert grown.title

    # Nothing new: nothing read twice, nothing counted twice.
    report = detect(settings, engine, at(hours=41))
    assert report.complaints == 0
    assert world.member_count() == 7


def test_first_alert_needs_the_minimum_size_and_distinct_authors(
    world: World, make_settings: Any, engine: Engine
) -> None:
    settings = make_settings(FIVE_FROM_FOUR)
    world.product("Acme Tab 3")
    world.outbreak(4, theme=0, start_hours=10)
    detect(settings, engine, at(hours=16))
    assert world.alerts() == []
    (cluster,) = world.clusters()
    assert (cluster.size, cluster.level) == (4, 0)

    world.outbreak(1, theme=0, start_hours=17)
    report = detect(settings, engine, at(hours=18))
    (alert,) = world.alerts()
    assert report.alerts == [alert.id]
    assert (alert.cluster_id, alert.level, alert.status) == (cluster.id, 1, "open")
    assert alert.title == "Acme Tab 3 · battery drains in standby"
    evidence = alert.evidence
    assert (evidence["size"], evidence["authors"]) == (5, 5)
    assert evidence["keywords"]
    assert evidence["sources"] == {"forum": 5}
    assert 1 <= len(evidence["representatives"]) <= 5
    assert {"recent", "previous", "ratio", "daily"} <= set(evidence["growth"])
    assert "5 mention(s) from 5 author(s)" in alert.summary
    (stored,) = world.clusters()
    assert stored.level == 1


def test_one_angry_author_is_not_an_outbreak(
    world: World, make_settings: Any, engine: Engine
) -> None:
    settings = make_settings()
    world.product("Acme Tab 3")
    world.outbreak(12, theme=0, start_hours=10, authors=["angry"])
    detect(settings, engine, at(hours=30))
    assert world.alerts() == []
    (cluster,) = world.clusters()
    assert (cluster.size, cluster.authors) == (12, 1)


def test_thresholds_come_from_the_settings(
    world: World, make_settings: Any, engine: Engine
) -> None:
    settings = make_settings("[defects]\nmin_size = 3\nmin_authors = 3\n")
    assert settings.defects.config().level_size(1) == (3, 3)
    world.product("Acme Tab 3")
    world.outbreak(3, theme=0, start_hours=10)
    detect(settings, engine, at(hours=14))
    (alert,) = world.alerts()
    assert alert.level == 1


def test_one_alert_per_cluster_and_level(world: World, make_settings: Any, engine: Engine) -> None:
    settings = make_settings(FIVE_FROM_FOUR)
    world.product("Acme Tab 3")
    world.outbreak(5, theme=0, start_hours=10)
    detect(settings, engine, at(hours=15))
    assert [a.level for a in world.alerts()] == [1]

    world.outbreak(5, theme=0, start_hours=16)
    detect(settings, engine, at(hours=21))
    detect(settings, engine, at(hours=21))
    detect(settings, engine, at(hours=22))
    assert [a.level for a in world.alerts()] == [1]

    world.outbreak(5, theme=0, start_hours=22)
    report = detect(settings, engine, at(hours=27))
    alerts = world.alerts()
    assert [a.level for a in alerts] == [1, 2]
    assert report.alerts == [alerts[1].id]
    assert alerts[1].title.endswith("(level 2)")
    assert {a.cluster_id for a in alerts} == {world.clusters()[0].id}
    detect(settings, engine, at(hours=28))
    assert len(world.alerts()) == 2


def test_the_database_refuses_a_second_alert_for_a_level(
    world: World, make_settings: Any, engine: Engine
) -> None:
    import pytest
    from sqlalchemy.exc import IntegrityError

    from storage.db import session_scope
    from storage.defects import raise_alert
    from storage.models import Alert

    settings = make_settings()
    world.product("Acme Tab 3")
    world.outbreak(5, theme=0, start_hours=10)
    detect(settings, engine, at(hours=15))
    (alert,) = world.alerts()
    with session_scope(engine) as session:
        again = raise_alert(
            session,
            cluster_id=alert.cluster_id,
            product_id=alert.product_id,
            level=1,
            title="again",
            summary="again",
            evidence={},
            now=at(hours=16),
        )
    assert again is None
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(
            Alert(
                cluster_id=alert.cluster_id,
                product_id=alert.product_id,
                level=1,
                title="bypassing the check",
                summary="",
            )
        )
    assert len(world.alerts()) == 1


def test_only_products_in_their_watch_window_and_complaints_after_launch(
    world: World, make_settings: Any, engine: Engine
) -> None:
    from datetime import timedelta

    settings = make_settings()
    world.product("Acme Tab 3")
    world.product("Acme Tab 2", launched_on=at(days=-90).date(), watch_days=60)
    world.product("Acme Buds", launched_on=None)
    world.complaint("Screen went black before launch?", theme=1, when=at(days=-2))
    world.outbreak(2, theme=0, start_hours=10)
    world.outbreak(2, theme=0, start_hours=10, products=("Acme Tab 2",))
    world.outbreak(2, theme=0, start_hours=10, products=("Acme Buds",))
    report = detect(settings, engine, at(hours=20))
    assert report.products == ["Acme Tab 3"]
    assert report.complaints == 2
    (cluster,) = world.clusters()
    assert cluster.size == 2
    # After the window the product is no longer read.
    report = detect(settings, engine, at(hours=20) + timedelta(days=61))
    assert report.products == []


def test_praise_and_questions_are_not_clustered(
    world: World, make_settings: Any, engine: Engine
) -> None:
    settings = make_settings()
    world.product("Acme Tab 3")
    world.complaint("Love the battery", theme=0, complaint=False, issues=["praise"])
    world.complaint("Does it have a stylus?", theme=0, complaint=False, issues=["question"])
    defect = world.complaint("It reboots by itself", theme=2, complaint=False)
    detect(settings, engine, at(hours=20))
    (cluster,) = world.clusters()
    assert world.members(cluster.id or 0) == {defect}


def test_a_mention_of_two_products_counts_once_in_each(
    world: World, make_settings: Any, engine: Engine
) -> None:
    settings = make_settings()
    world.product("Acme Tab 3")
    world.product("Acme Buds")
    both = world.complaint(
        "Tab 3 and Buds both lose Bluetooth", theme=3, products=("Acme Tab 3", "Acme Buds")
    )
    detect(settings, engine, at(hours=20))
    tab, buds = world.clusters()
    assert world.members(tab.id or 0) == {both}
    assert world.members(buds.id or 0) == {both}
    assert tab.product_id != buds.product_id
