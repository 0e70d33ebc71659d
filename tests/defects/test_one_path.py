"""Every classification reaches defect detection the same way: the scheduler's, the
workers', `ascolto classify` and a person's correction. New complaints join clusters;
members whose new labels no longer make them a complaint of the product leave, and the
cluster's figures follow."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from storage.classifications import get_embedding
from storage.db import get_engine, session_scope
from storage.mentions import NewMention, ingest
from storage.migrate import upgrade
from storage.models import AuditEvent, DefectCluster, DefectClusterMember
from storage.types import utcnow
from tests.conftest import write_settings
from tests.defects.conftest import World, detect
from tests.factories import at, make_source
from tests.test_cli import ascolto
from tests.web.conftest import add_user


def embedding(engine: Engine, mention_id: int) -> np.ndarray:
    """The stored vector: the same model embeds the same text the same way."""
    with Session(engine) as session:
        found = get_embedding(session, mention_id=mention_id)
    assert found is not None
    return found[1]


PRODUCTS = '[[products]]\nname = "Acme Tab 3"\n\n[[products]]\nname = "Acme Phone"\n\n'


def test_a_reclassified_mention_leaves_its_cluster_on_the_next_run(
    world: World, make_settings: Any, engine: Engine
) -> None:
    settings = make_settings(PRODUCTS)
    world.product("Acme Tab 3")
    members = world.outbreak(5, theme=0, start_hours=10)
    detect(settings, engine, at(hours=20))
    (found,) = world.clusters()
    assert (found.size, found.authors) == (5, 5)

    # A new model (any classification path writes labels through the same storage) says
    # this one is a question, not a complaint.
    gone = members[1]
    world.label(
        gone,
        vector=embedding(engine, gone),
        products=["Acme Tab 3"],
        complaint=False,
        issues=["question"],
    )
    report = detect(settings, engine, at(hours=30))
    assert report.withdrawn == 1
    after = world.clusters()[0]
    assert world.members(after.id or 0) == set(members) - {gone}
    assert (after.size, after.authors) == (4, 4)
    with Session(engine) as session:
        (event,) = session.exec(
            select(AuditEvent).where(AuditEvent.action == "defect_cluster.member_removed")
        ).all()
    assert event.actor == "defects"
    # A second run changes nothing more.
    assert detect(settings, engine, at(hours=31)).withdrawn == 0


def test_a_mention_relabelled_to_another_product_moves_there(
    world: World, make_settings: Any, engine: Engine
) -> None:
    settings = make_settings(PRODUCTS)
    world.product("Acme Tab 3")
    world.product("Acme Phone")
    members = world.outbreak(4, theme=0, start_hours=10)
    detect(settings, engine, at(hours=20))
    moved = members[0]
    world.label(moved, vector=embedding(engine, moved), products=["Acme Phone"])
    report = detect(settings, engine, at(hours=21))
    assert report.withdrawn == 1
    assert report.complaints == 1
    tab = world.clusters("Acme Tab 3")[0]
    (phone,) = world.clusters("Acme Phone")
    assert world.members(tab.id or 0) == set(members) - {moved}
    assert world.members(phone.id or 0) == {moved}


def _mentions(engine: Engine, texts: list[str]) -> list[int]:
    when = utcnow() - timedelta(hours=6)
    with session_scope(engine) as session:
        source = make_source(session, "forum")
        items = [
            NewMention(
                external_id=f"cli-{i}",
                text=text,
                author_handle=f"buyer{i}",
                author_platform="forum",
                published_at=when + timedelta(minutes=i),
            )
            for i, text in enumerate(texts)
        ]
        return list(ingest(session, source_id=source.id or 0, items=items).new_ids)


def _members(engine: Engine) -> set[int]:
    with Session(engine) as session:
        return set(session.exec(select(DefectClusterMember.mention_id)).all())


def test_ascolto_classify_and_a_correction_reach_defect_detection(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ascolto.db'}"
    launched = (utcnow() - timedelta(days=3)).date().isoformat()
    write_settings(
        tmp_path / "settings.toml",
        url,
        "[defects]\nenabled = true\n\n"
        f'[[products]]\nname = "Acme Tab 3"\naliases = ["Tab 3"]\nlaunched_on = "{launched}"\n\n',
    )
    engine = get_engine(url)
    upgrade(engine)
    complaints = _mentions(
        engine,
        [
            "My Tab 3 battery drains completely overnight in standby, terrible",
            "Tab 3 battery dies overnight even when I don't use it, so annoying",
            "The Tab 3 loses all its battery in standby since yesterday, broken",
            "Thanks for the quick delivery of my Tab 3!",
        ],
    )
    result = ascolto(tmp_path, "classify")
    assert result.returncode == 0, result.stderr
    assert "defect detection:" in result.stdout, result.stdout
    members = _members(engine)
    assert set(complaints[:3]) <= members
    assert complaints[3] not in members

    # A person says one is no complaint: it leaves, and the cluster's size follows.
    add_user(engine, "giulia", "agent")
    out = ascolto(
        tmp_path,
        *("labels", "correct", str(complaints[0]), "--not-complaint", "--issue", "question"),
        *("--as", "giulia"),
    )
    assert out.returncode == 0, out.stderr + out.stdout
    assert complaints[0] not in _members(engine)
    with Session(engine) as session:
        sizes = [c.size for c in session.exec(select(DefectCluster)).all() if c.live]
    assert sum(sizes) == len(_members(engine))
    # ... and back: the command line runs detection, so it joins again at once.
    again = ascolto(
        tmp_path,
        *("labels", "correct", str(complaints[0]), "--complaint", "--issue", "defect"),
        *("--as", "giulia"),
    )
    assert again.returncode == 0, again.stderr + again.stdout
    assert complaints[0] in _members(engine)
