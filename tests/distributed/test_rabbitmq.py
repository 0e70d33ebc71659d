"""The same workers on RabbitMQ (the machine's server, a queue of the test's own)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from kombu import Connection
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from storage.migrate import upgrade
from storage.models import Mention
from tests.distributed.cluster import wait_for
from tests.distributed.conftest import make_cluster, rss
from tests.feedserver import FeedServer, Reply
from tests.requirements import RABBITMQ_URL, missing

pytestmark = pytest.mark.distributed


def test_workers_run_on_rabbitmq_too(
    tmp_path: Path, postgres_url: str, cluster_engine: Engine, server: FeedServer
) -> None:
    try:
        with Connection(RABBITMQ_URL, connect_timeout=3) as connection:
            connection.connect()
    except OSError as exc:
        missing(f"RabbitMQ is not reachable at {RABBITMQ_URL} (start rabbitmq-server): {exc}")
    upgrade(cluster_engine)
    queue = f"ascolto-test-{uuid.uuid4().hex[:8]}"
    url = server.route("/feed.rss", Reply(body=rss(12)))
    body = (
        "[classify]\nenabled = false\n\n[outreach]\nenabled = false\n\n"
        "[delivery]\nenabled = false\n\n"
        f'[[sources]]\nname = "feed"\nkind = "rss"\nurl = "{url}"\ninterval = 10\n'
        "allow_private_addresses = true\n"
    )
    cluster = make_cluster(tmp_path, body, RABBITMQ_URL, postgres_url)
    settings = tmp_path / "settings.toml"
    settings.write_text(
        settings.read_text().replace("[broker]\n", f'[broker]\nqueue = "{queue}"\n'),
        encoding="utf-8",
    )

    def stored() -> int:
        with Session(cluster_engine) as session:
            return len(session.exec(select(Mention.id)).all())

    try:
        cluster.beat()
        cluster.worker()
        wait_for("the feed's mentions", lambda: stored() == 12, timeout=90, every=0.2)
    finally:
        cluster.stop()
        with Connection(RABBITMQ_URL) as connection:
            connection.default_channel.queue_delete(queue)
    assert stored() == 12, cluster.logs()
