"""An alert a team can live with: snooze, a ticket link, automatic reopening, notices
deduplicated per cluster, paced per product and saying what changed since the last one,
every step in the audit trail; and the cluster page those notices link to."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from ascolto.defects.alerting import notify_alerts
from ascolto.defects.detection import act_on_cluster
from ascolto.defects.lifecycle import LifecycleError, link_ticket, snooze
from outreach.outbox import deliver_due
from storage.db import session_scope
from storage.models import AuditEvent, DefectCluster, ListenerRun
from storage.orders import NewOrder, NewOrderLine, upsert_orders
from storage.types import utcnow
from tests.defects.conftest import World, detect
from tests.factories import at, make_source
from tests.outreach.delivery import delivery_toml
from tests.smtpserver import SmtpServer, smtp_server
from tests.test_cli import ascolto
from tests.web.conftest import add_user, sign_in

PRODUCT = '[[products]]\nname = "Acme Tab 3"\nlaunched_on = "2026-11-01"\nteam = "ops"\n'
PAGE = "https://care.acme.example"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


def _settings(make_settings: Any, smtp: SmtpServer) -> Any:
    return make_settings(
        delivery_toml(smtp_port=smtp.port) + PRODUCT,
        web={"enabled": False, "public_url": PAGE},
    )


def actions(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(AuditEvent.action)
                .where(col(AuditEvent.action).startswith("defect_cluster."))
                .order_by(col(AuditEvent.id))
            ).all()
        )


def test_notices_are_paced_per_product_and_wait_for_a_snooze(
    world: World, make_settings: Any, engine: Engine, smtp: SmtpServer
) -> None:
    settings = _settings(make_settings, smtp)
    world.product("Acme Tab 3")
    world.outbreak(5, theme=0, start_hours=10)
    world.outbreak(5, theme=3, start_hours=11)
    detect(settings, engine, at(hours=16))
    battery, other = world.alerts()
    now = utcnow()

    # Two clusters of one product alert at once: one notice now, the other after the pace.
    first = notify_alerts(settings, engine, now=now)
    assert (first.messages, first.held) == (1, 1)
    assert notify_alerts(settings, engine, now=now + timedelta(hours=1)).messages == 0
    later = notify_alerts(settings, engine, now=now + timedelta(hours=5))
    assert later.messages == 1

    # A third cluster, snoozed: nothing until its date, then it goes out.
    world.outbreak(5, theme=5, start_hours=12)
    detect(settings, engine, at(hours=17))
    third = world.alerts()[-1]
    snooze(engine, third.cluster_id, now + timedelta(days=2), by="pat", reason="fix planned")
    assert notify_alerts(settings, engine, now=now + timedelta(days=1)).snoozed == 1
    assert notify_alerts(settings, engine, now=now + timedelta(days=3)).messages == 1
    with pytest.raises(LifecycleError):
        snooze(engine, third.cluster_id, now - timedelta(days=1), by="pat", now=now)

    # The notices link to the cluster's page; delivered over real SMTP.
    deliver_due(settings, engine)
    bodies = [m.message.get_body(("plain",)).get_content() for m in smtp.received]
    assert len(bodies) == 3
    assert f"{PAGE}/clusters/{battery.cluster_id}" in "".join(bodies)
    assert f"{PAGE}/clusters/{other.cluster_id}" in "".join(bodies)
    assert "defect_cluster.snooze" in actions(engine)


def test_a_resolved_cluster_reopens_and_its_notice_says_what_changed(
    world: World, make_settings: Any, engine: Engine, smtp: SmtpServer
) -> None:
    settings = _settings(make_settings, smtp)
    world.product("Acme Tab 3")
    world.outbreak(5, theme=0, start_hours=10)
    detect(settings, engine, at(hours=15))
    (alert,) = world.alerts()
    assert notify_alerts(settings, engine).messages == 1
    link_ticket(engine, alert.cluster_id, "https://tracker.acme.example/FW-21", by="pat")
    with pytest.raises(LifecycleError):
        link_ticket(engine, alert.cluster_id, "javascript:alert(1)", by="pat")
    act_on_cluster(engine, alert.cluster_id, "resolve", by="pat", now=at(hours=16))

    # Complaints keep coming after the fix: it reopens, and alerts at the next level.
    world.outbreak(12, theme=0, start_hours=20)
    detect(settings, engine, at(hours=32))
    with Session(engine) as session:
        cluster = session.get(DefectCluster, alert.cluster_id)
        assert cluster is not None
        assert cluster.status not in ("resolved", "dismissed")
    assert actions(engine) == ["defect_cluster.ticket", "defect_cluster.reopen"]
    again = world.alerts()[-1]
    assert again.level == 2
    assert notify_alerts(settings, engine).messages == 1
    deliver_due(settings, engine)
    last = smtp.received[-1].message.get_body(("plain",)).get_content()
    assert f"Since the last notice (alert {alert.id}" in last
    assert "mentions 5 to" in last
    assert "Ticket: https://tracker.acme.example/FW-21" in last


def test_snooze_and_ticket_from_the_command_line(
    world: World, make_settings: Any, engine: Engine, tmp_path: Path, database_url: str
) -> None:
    settings = make_settings()
    world.product("Acme Tab 3")
    world.outbreak(5, theme=0, start_hours=10)
    detect(settings, engine, at(hours=15))
    (alert,) = world.alerts()
    cid = str(alert.cluster_id)
    until = (utcnow() + timedelta(days=3)).date().isoformat()
    done = ascolto(tmp_path, "defects", "snooze", cid, "--until", until, "--by", "pat")
    assert done.returncode == 0, done.stderr
    assert f"snoozed until {until}" in done.stdout
    bad = ascolto(tmp_path, "defects", "snooze", cid, "--until", "yesterday")
    assert bad.returncode == 2
    linked = ascolto(tmp_path, "defects", "ticket", cid, "https://t.example/1", "--by", "pat")
    assert linked.returncode == 0, linked.stderr
    refused = ascolto(tmp_path, "defects", "ticket", cid, "ftp://t.example/1")
    assert refused.returncode == 2
    assert "Traceback" not in refused.stderr
    shown = ascolto(tmp_path, "defects", "show", cid)
    assert "ticket: https://t.example/1" in shown.stdout
    assert actions(engine) == ["defect_cluster.snooze", "defect_cluster.ticket"]


def test_the_cluster_page_shows_rates_unknown_days_orders_and_both_languages(
    world: World, make_settings: Any, engine: Engine
) -> None:
    from ascolto.web.app import create_app

    settings = make_settings()
    world.product("Acme Tab 3", skus=["AT3-128"])
    with session_scope(engine) as session:
        shop = make_source(session, "shop")
        upsert_orders(
            session,
            source_id=shop.id or 0,
            orders=[
                NewOrder(
                    external_id=f"A{i:03d}",
                    email=f"b{i}@example.com",
                    lines=[NewOrderLine("AT3-128", "Acme Tab 3", 10)],
                    shipped_at=at(hours=1),
                    delivered_at=at(hours=5),
                    handles=(("forum", f"b{i}"),),
                    extra={"batch": "L7"},
                )
                for i in range(10)
            ],
        )
    forum = world.source("forum")
    with session_scope(engine) as session:
        session.add(
            ListenerRun(
                source_id=forum,
                started_at=at(hours=30),
                finished_at=at(hours=30, minutes=1),
                status="blocked",
                error="HTTP 429",
            )
        )
    ids = world.outbreak(4, theme=0, start_hours=10, authors=["b0", "b1", "b2", "b3"])
    italian = world.mention(
        "Ordine A009: la batteria del Tab si scarica di notte", author="b9", when=at(hours=14)
    )
    world.label(italian, vector=world_vector(), products=["Acme Tab 3"], language="it")
    detect(settings, engine, at(hours=20))
    cluster_id = world.alerts()[0].cluster_id
    assert len(ids) == 4
    app = create_app(settings, engine=engine)
    add_user(engine, "pat", "product")
    with TestClient(app) as client:
        sign_in(client, "pat")
        page = client.get(f"/clusters/{cluster_id}")
        italian_page = client.get(
            f"/clusters/{cluster_id}", headers={"Accept-Language": "it-IT,it;q=0.9"}
        )
    assert page.status_code == 200
    text = page.text
    # The rate is written in the reader's language, never beside a typed translation.
    assert "complaints per 1,000 units delivered" in text
    assert "reclami ogni 1.000 unità consegnate" not in text
    assert "reclami ogni 1.000 unità consegnate" in italian_page.text
    assert "Tasso per unità consegnata" in italian_page.text
    assert "Ordini coinvolti" in italian_page.text
    assert 'class="unknown"' in text  # the day the forum was blocked
    assert "forum down" in text
    assert 'class="mark"' in text  # the launch and the batch
    assert "batch L7" in text
    assert "A009" in text  # an order named in a complaint
    assert "Italiano" in text
    assert "la batteria del Tab" in text
    assert "English" in text


def world_vector() -> Any:
    from tests.defects.conftest import theme_vector

    return theme_vector(0, seed=4242)
