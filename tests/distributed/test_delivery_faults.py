"""Delivery under faults: a worker killed mid-send, a broker restart, dropped database
connections. Every approved message reaches the real SMTP server exactly once."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from storage.migrate import upgrade
from storage.models import Mention, OutboxMessage
from tests.conftest import POSTGRES_URL
from tests.distributed.cluster import PrivateRedis, wait_for
from tests.distributed.conftest import enqueue_emails, make_cluster, rss, smtp_toml
from tests.feedserver import FeedServer, Reply
from tests.smtpserver import SmtpServer, smtp_server

pytestmark = pytest.mark.distributed


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


def statuses(engine: Engine) -> Counter[str]:
    with Session(engine) as session:
        return Counter(m.status for m in session.exec(select(OutboxMessage)).all())


def received_by(smtp: SmtpServer) -> Counter[str]:
    return Counter(r for message in smtp.received for r in message.rcpt_tos)


def test_a_worker_killed_mid_send_never_sends_twice(
    tmp_path: Path,
    redis: PrivateRedis,
    postgres_url: str,
    cluster_engine: Engine,
    smtp: SmtpServer,
) -> None:
    upgrade(cluster_engine)
    recipients = enqueue_emails(cluster_engine, 8, prefix="customer")
    cluster = make_cluster(tmp_path, smtp_toml(smtp.port), redis.url, postgres_url)
    hold = smtp.behaviour.hold = threading.Event()
    try:
        cluster.beat()
        first = cluster.worker()
        wait_for("the first message at the SMTP server", smtp.behaviour.arrived.is_set)
        cluster.kill(first)  # the server has the message; the sender never hears back
        smtp.behaviour.hold = None
        hold.set()

        cluster.worker()
        wait_for(
            "every message settled",
            lambda: statuses(cluster_engine) == Counter(sent=7, uncertain=1),
            timeout=60,
            every=0.2,
        )
    finally:
        cluster.stop()
    # The one in flight is `uncertain` for a person to check, never sent again by itself.
    assert received_by(smtp) == Counter(recipients), cluster.logs()


def terminate_connections(postgres_url: str) -> int:
    """Drop every database connection of the cluster (pg_terminate_backend)."""
    name = sa.make_url(postgres_url).query["application_name"]
    admin = sa.create_engine(POSTGRES_URL)
    try:
        with admin.begin() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = :name"
                ),
                {"name": name},
            ).all()
        return len(rows)
    finally:
        admin.dispose()


def test_broker_restart_and_dropped_database_connections_lose_and_double_nothing(
    tmp_path: Path,
    redis: PrivateRedis,
    postgres_url: str,
    cluster_engine: Engine,
    smtp: SmtpServer,
    server: FeedServer,
) -> None:
    upgrade(cluster_engine)
    feeds = 3
    paths = [f"/feed{n}.rss" for n in range(feeds)]
    sources = ""
    for n, path in enumerate(paths):
        # Slow answers keep runs in flight while the broker and the connections go away.
        url = server.route(path, Reply(body=rss(10, start=100 * n), delay=2))
        sources += (
            f'[[sources]]\nname = "feed{n}"\nkind = "rss"\nurl = "{url}"\ninterval = 10\n'
            "allow_private_addresses = true\n"
        )
    body = "[classify]\nenabled = false\n\n[outreach]\nenabled = false\n\n" + smtp_toml(smtp.port)
    cluster = make_cluster(tmp_path, body + sources, redis.url, postgres_url)
    before = enqueue_emails(cluster_engine, 5, prefix="before")
    try:
        cluster.beat()
        cluster.worker()
        cluster.worker()
        wait_for("a fetch in flight", lambda: len(server.requests) >= 1)
        redis.restart()  # everything queued in the broker is lost; clients reconnect

        after = enqueue_emails(cluster_engine, 5, prefix="after")
        for n, path in enumerate(paths):
            server.route(path, Reply(body=rss(20, start=100 * n), delay=2))
        wait_for("fetches after the restart", lambda: len(server.requests) >= 2 * feeds, 90)
        assert terminate_connections(postgres_url) > 0
        wait_for(
            "a fetch after the connections were dropped",
            lambda: len(server.requests) >= 3 * feeds,
            90,
        )
        terminate_connections(postgres_url)

        def done() -> bool:
            with Session(cluster_engine) as session:
                mentions = len(session.exec(select(Mention.id)).all())
            return mentions == 20 * feeds and statuses(cluster_engine) == Counter(sent=10)

        wait_for("every mention stored and every message sent", done, timeout=90, every=0.3)
    finally:
        cluster.stop()
    with Session(cluster_engine) as session:
        ids = session.exec(select(Mention.external_id)).all()
    assert len(ids) == len(set(ids)) == 20 * feeds
    assert received_by(smtp) == Counter(before + after), cluster.logs()
