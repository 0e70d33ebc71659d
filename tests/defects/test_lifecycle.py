"""People acting on alerts and clusters: from the command line, recorded in the audit trail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from ascolto.defects.detection import TransitionError, act_on_alert, act_on_cluster
from storage.models import AuditEvent
from tests.defects.conftest import World, detect
from tests.factories import at
from tests.test_cli import ascolto


def audit_trail(engine: Engine) -> list[tuple[str, str, str | None, dict[str, Any]]]:
    with Session(engine) as session:
        rows = session.exec(
            select(AuditEvent)
            .where(
                col(AuditEvent.action).startswith("alert.")
                | col(AuditEvent.action).startswith("defect_cluster.")
            )
            .order_by(col(AuditEvent.id))
        ).all()
    return [(r.actor, r.action, r.subject_id, r.details) for r in rows]


def test_acknowledge_and_resolve_from_the_command_line(
    world: World, make_settings: Any, engine: Engine, tmp_path: Path
) -> None:
    settings = make_settings()
    world.product("Acme Tab 3")
    world.outbreak(5, theme=0, start_hours=10)
    detect(settings, engine, at(hours=15))
    (alert,) = world.alerts()
    (cluster,) = world.clusters()
    ident = str(alert.id)

    listed = ascolto(tmp_path, "alerts", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    (row,) = json.loads(listed.stdout)
    assert (row["id"], row["status"], row["product"], row["level"]) == (
        alert.id,
        "open",
        "Acme Tab 3",
        1,
    )
    assert row["evidence"]["keywords"]

    done = ascolto(tmp_path, "alerts", "acknowledge", ident, "--by", "tom", "--reason", "on it")
    assert done.returncode == 0, done.stderr
    assert "acknowledged" in done.stdout
    (acked,) = world.alerts()
    assert (acked.status, acked.acted_by) == ("acknowledged", "tom")
    assert acked.acted_at is not None
    again = ascolto(tmp_path, "alerts", "ack", ident, "--by", "tom")
    assert again.returncode == 0, again.stderr
    assert "already acknowledged" in again.stdout

    shown = ascolto(tmp_path, "defects", "show", str(cluster.id))
    assert shown.returncode == 0, shown.stderr
    for part in ("Acme Tab 3", cluster.title, cluster.keywords[0], "battery", "forum 5"):
        assert part in shown.stdout
    assert f"{alert.id} (level 1, acknowledged)" in shown.stdout
    table = ascolto(tmp_path, "defects", "list")
    assert table.returncode == 0, table.stderr
    assert cluster.title in table.stdout

    done = ascolto(tmp_path, "alerts", "resolve", ident, "--by", "tom", "--reason", "fixed in 2.2")
    assert done.returncode == 0, done.stderr
    (resolved,) = world.alerts()
    assert resolved.status == "resolved"
    (after,) = world.clusters()
    assert after.status == "resolved"
    assert after.state["status"] == "resolved"

    refused = ascolto(tmp_path, "alerts", "dismiss", ident)
    assert refused.returncode == 2
    assert "already resolved" in refused.stderr
    missing = ascolto(tmp_path, "alerts", "acknowledge", "9999")
    assert missing.returncode == 2
    assert "no alert 9999" in missing.stderr
    assert json.loads(ascolto(tmp_path, "alerts", "list", "--json").stdout) == []
    assert len(json.loads(ascolto(tmp_path, "alerts", "list", "--all", "--json").stdout)) == 1

    assert audit_trail(engine) == [
        (
            "defects",
            "alert.raise",
            ident,
            {"cluster_id": cluster.id, "product": "Acme Tab 3", "level": 1},
        ),
        (
            "tom",
            "alert.acknowledge",
            ident,
            {
                "from": "open",
                "to": "acknowledged",
                "cluster_id": cluster.id,
                "level": 1,
                "reason": "on it",
            },
        ),
        (
            "tom",
            "alert.resolve",
            ident,
            {
                "from": "acknowledged",
                "to": "resolved",
                "cluster_id": cluster.id,
                "level": 1,
                "reason": "fixed in 2.2",
            },
        ),
    ]


def test_a_dismissed_cluster_alerts_again_only_when_much_larger(
    world: World, make_settings: Any, engine: Engine
) -> None:
    settings = make_settings()  # dismissed at 5: alerts again at 3 x 5 = 15
    world.product("Acme Tab 3")
    world.outbreak(5, theme=0, start_hours=10)
    detect(settings, engine, at(hours=15))
    (alert,) = world.alerts()
    (changed,) = act_on_alert(engine, alert.id or 0, "dismiss", by="tom", reason="user error")
    assert changed.status == "dismissed"
    (cluster,) = world.clusters()
    assert cluster.status == "dismissed"

    world.outbreak(6, theme=0, start_hours=16)
    detect(settings, engine, at(hours=22))
    assert len(world.alerts()) == 1
    (cluster,) = world.clusters()
    assert (cluster.status, cluster.size) == ("dismissed", 11)

    world.outbreak(4, theme=0, start_hours=22)
    detect(settings, engine, at(hours=26))
    first, second = world.alerts()
    assert (second.level, second.status, second.cluster_id) == (2, "open", cluster.id)
    assert first.status == "dismissed"


def test_resolving_a_cluster_closes_its_open_alerts_and_complaints_reopen_it(
    world: World, make_settings: Any, engine: Engine
) -> None:
    settings = make_settings()
    world.product("Acme Tab 3")
    world.outbreak(5, theme=0, start_hours=10)
    detect(settings, engine, at(hours=15))
    (cluster,) = world.clusters()
    resolved = act_on_cluster(engine, cluster.id or 0, "resolve", by="tom", now=at(hours=16))
    assert resolved.status == "resolved"
    (alert,) = world.alerts()
    assert (alert.status, alert.acted_by) == ("resolved", "tom")
    with pytest.raises(TransitionError, match="already resolved"):
        act_on_alert(engine, alert.id or 0, "acknowledge", by="tom")
    with pytest.raises(LookupError):
        act_on_cluster(engine, 9999, "dismiss", by="tom")

    world.outbreak(1, theme=0, start_hours=20)
    detect(settings, engine, at(hours=21))
    (cluster,) = world.clusters()
    assert cluster.status != "resolved"
    assert cluster.size == 6


def test_a_cluster_without_alerts_can_be_dismissed(
    world: World, make_settings: Any, engine: Engine
) -> None:
    settings = make_settings()
    world.product("Acme Tab 3")
    world.outbreak(2, theme=0, start_hours=10)
    detect(settings, engine, at(hours=12))
    (cluster,) = world.clusters()
    act_on_cluster(engine, cluster.id or 0, "dismiss", by="tom", reason="hinge noise is normal")
    (after,) = world.clusters()
    assert after.status == "dismissed"
    assert after.version == cluster.version + 1
    assert audit_trail(engine) == [
        (
            "tom",
            "defect_cluster.dismiss",
            str(cluster.id),
            {"from": "new", "to": "dismissed", "reason": "hinge noise is normal"},
        )
    ]
