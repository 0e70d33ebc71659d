"""Kill a real Celery worker (SIGKILL) in the middle of defect detection: one product's
clusters and alert are committed, the next product's are written but not yet committed.
The next worker finishes the run; no mention counts twice, no alert level is raised twice
and the product team gets each alert once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from ascolto.database import prepare
from ascolto.defects.alerting import notify_alerts
from ascolto.defects.detection import detect_defects
from ascolto.runtime.locks import holders, step_lock
from ascolto.settings import load_settings
from storage.models import Alert, DefectClusterMember, OutboxMessage, Product
from tests.defects.conftest import World
from tests.distributed.cluster import PrivateRedis, wait_for
from tests.distributed.conftest import make_cluster, smtp_toml
from tests.smtpserver import SmtpServer, smtp_server

pytestmark = pytest.mark.distributed

PRODUCTS = ("Acme Tab 3", "Acme Buds")
OUTBREAK = 6  # complaints per product, each by its own author: one alert level each
TEAM = "ops@acme.example"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


def settings_toml(smtp_port: int) -> str:
    launched = (date.today() - timedelta(days=5)).isoformat()
    products = "".join(
        f'[[products]]\nname = "{name}"\nlaunched_on = "{launched}"\nteam = "ops"\n\n'
        for name in PRODUCTS
    )
    return (
        "[classify]\nenabled = false\n\n[outreach]\nenabled = false\n\n"
        "[defects]\nenabled = true\ninterval = 10\n\n"
        + smtp_toml(smtp_port)
        + f'[[teams]]\nname = "ops"\nemails = ["{TEAM}"]\n\n'
        + products
    )


def seed_outbreaks(engine: Engine) -> dict[str, int]:
    """A burst of similar complaints about each product in the last hours; product ids."""
    world = World(engine)
    now = datetime.now(UTC)
    for theme, name in enumerate(PRODUCTS):
        for n in range(OUTBREAK):
            world.complaint(
                f"My {name} stops charging after a day",
                theme=theme,
                products=(name,),
                when=now - timedelta(hours=OUTBREAK - n),
            )
    with Session(engine) as session:
        return {p.name: p.id or 0 for p in session.exec(select(Product)).all()}


def blocked_on_a_lock(engine: Engine, application_name: str) -> bool:
    """Some session of the cluster waits for a lock another transaction holds."""
    query = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = :name "
        "AND state = 'active' AND wait_event_type = 'Lock'"
    )
    with engine.connect() as connection:
        return bool(connection.execute(query, {"name": application_name}).scalar())


def alerts(engine: Engine) -> list[Alert]:
    with Session(engine) as session:
        return list(session.exec(select(Alert).order_by(col(Alert.id))).all())


def outbox(engine: Engine) -> Counter[str]:
    with Session(engine) as session:
        return Counter(m.status for m in session.exec(select(OutboxMessage)).all())


def test_a_worker_killed_mid_detection_raises_and_sends_each_alert_once(
    tmp_path: Path,
    redis: PrivateRedis,
    postgres_url: str,
    cluster_engine: Engine,
    smtp: SmtpServer,
) -> None:
    cluster = make_cluster(tmp_path, settings_toml(smtp.port), redis.url, postgres_url)
    settings = load_settings(cluster.folder / "settings.toml", database={"url": postgres_url})
    prepare(settings)
    ids = seed_outbreaks(cluster_engine)
    first, last = sorted(ids.values())
    application_name = sa.make_url(postgres_url).query["application_name"]
    assert isinstance(application_name, str)

    # Products are stored one transaction each, by id, the watch row last. A watch row of
    # the second product, inserted here and left uncommitted, holds detection in the
    # middle of that product's transaction, after the first product was committed.
    blocker = cluster_engine.connect()
    hold = blocker.begin()
    blocker.execute(
        sa.text(
            "INSERT INTO defectwatch (product_id, version, cursor_mention_id, daily, updated_at)"
            " VALUES (:id, 1, 0, '{}', now())"
        ),
        {"id": last},
    )
    try:
        cluster.beat()
        worker = cluster.worker()
        wait_for(
            "detection to wait in the second product's transaction",
            lambda: (
                holders(cluster_engine, "defects") == 1
                and blocked_on_a_lock(cluster_engine, application_name)
            ),
            timeout=60,
            every=0.05,
        )
        cluster.kill(worker)  # the first product is committed, the second is not
        hold.rollback()
        blocker.close()
        assert [a.product_id for a in alerts(cluster_engine)] == [first], cluster.logs()

        cluster.worker()
        wait_for(
            "both alerts delivered",
            lambda: (
                len(alerts(cluster_engine)) == len(PRODUCTS)
                and outbox(cluster_engine) == Counter(sent=len(PRODUCTS))
            ),
            timeout=60,
            every=0.2,
        )
        # Nothing was left either: a run now finds no complaint to count and no alert due.
        with step_lock(cluster_engine, "defects", wait=30) as held:
            assert held
            report = detect_defects(settings, cluster_engine)
        assert (report.error, report.failed) == (None, {})
        assert (report.complaints, report.alerts) == (0, [])
        assert notify_alerts(settings, cluster_engine).messages == 0
    finally:
        if hold.is_active:
            hold.rollback()
        blocker.close()
        cluster.stop()

    with Session(cluster_engine) as session:
        members = session.exec(select(DefectClusterMember)).all()
    per_mention = Counter(m.mention_id for m in members)
    assert len(per_mention) == OUTBREAK * len(PRODUCTS)
    assert set(per_mention.values()) == {1}, per_mention
    raised = alerts(cluster_engine)
    assert sorted(a.product_id for a in raised) == sorted(ids.values())
    assert Counter((a.cluster_id, a.level) for a in raised).most_common(1)[0][1] == 1
    subjects = Counter(str(r.message["Subject"]) for r in smtp.received)
    assert len(smtp.received) == len(PRODUCTS), subjects
    assert all(r.rcpt_tos == [TEAM] for r in smtp.received)
    assert all(any(name in s for s in subjects) for name in PRODUCTS), subjects
    assert set(subjects.values()) == {1}, subjects
