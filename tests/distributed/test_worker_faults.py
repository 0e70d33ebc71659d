"""Kill a real Celery worker (SIGKILL) in the middle of each kind of step, classification
and drafting in the middle of a claimed chunk; the work is done by the next worker, nothing
is stored, labelled, drafted or sent twice, and no claim outlives its worker."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ascolto.settings import load_settings
from outreach.drafting import draft_pending
from storage.models import Classification, Draft, Mention
from tests.claims import claimed_mentions, enable_row_locks_view
from tests.distributed.cluster import Cluster, PrivateRedis, wait_for
from tests.distributed.conftest import make_cluster, rss
from tests.feedserver import FeedServer, Reply

pytestmark = pytest.mark.distributed

ITEMS = 30
DRAFT_INTERVAL = 10


def count(engine: Engine, model: type) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def distinct_mentions(engine: Engine) -> int:
    with Session(engine) as session:
        query = select(func.count(func.distinct(Mention.external_id)))
        return int(session.exec(query).one())


@pytest.fixture
def pipeline(
    tmp_path: Path, redis: PrivateRedis, postgres_url: str, server: FeedServer
) -> Iterator[tuple[Cluster, str]]:
    body = rss(ITEMS)
    # The first fetch hangs long enough to kill the worker in it; later ones answer.
    url = server.route("/forum.rss", Reply(body=body, delay=30), Reply(body=body))
    settings = (
        "[classify]\nenabled = true\ninterval = 5\nbatch_size = 2\n\n"
        f"[outreach]\nenabled = true\ninterval = {DRAFT_INTERVAL}\nbatch_size = 1\n\n"
        "[delivery]\nenabled = false\n\n"
        f'[[sources]]\nname = "forum"\nkind = "rss"\nurl = "{url}"\ninterval = 10\n'
        "allow_private_addresses = true\n"
    )
    cluster = make_cluster(tmp_path, settings, redis.url, postgres_url)
    try:
        yield cluster, "/forum.rss"
    finally:
        cluster.stop()


def test_killing_workers_mid_listen_classify_and_draft_loses_and_doubles_nothing(
    pipeline: tuple[Cluster, str], server: FeedServer, cluster_engine: Engine, postgres_url: str
) -> None:
    cluster, path = pipeline
    enable_row_locks_view()
    cluster.beat()
    first = cluster.worker()
    wait_for("the first fetch", lambda: len(server.hits(path)) >= 1, timeout=60)
    cluster.kill(first)  # in the middle of the listen step: the fetch is in flight
    assert count(cluster_engine, Mention) == 0

    second = cluster.worker()
    wait_for(
        "a classification chunk to be claimed, after some were committed",
        lambda: (
            0 < count(cluster_engine, Classification) < ITEMS
            and claimed_mentions(cluster_engine) > 0
        ),
        timeout=90,
        every=0.02,
    )
    cluster.kill(second)  # in the middle of a claimed chunk: some chunks committed
    # The dead worker's claim ended with its connection; nothing waits for a lease.
    wait_for("the claim to go", lambda: claimed_mentions(cluster_engine) == 0, timeout=30)

    third = cluster.worker()
    wait_for(
        "a draft chunk to be claimed, after some were committed",
        lambda: (
            count(cluster_engine, Classification) == ITEMS
            and count(cluster_engine, Draft) > 0
            and claimed_mentions(cluster_engine) > 0
        ),
        timeout=90,
        every=0.02,
    )
    drafted_when_killed = count(cluster_engine, Draft)
    cluster.kill(third)  # in the middle of a claimed draft chunk
    wait_for("the claim to go", lambda: claimed_mentions(cluster_engine) == 0, timeout=30)

    fourth = cluster.worker()
    wait_for(
        "every mention labelled",
        lambda: count(cluster_engine, Classification) == ITEMS,
        timeout=120,
        every=0.2,
    )
    # Every label was stored before the fourth worker started: a drafting run of its own,
    # beginning to end, has seen every mention left to draft.
    wait_for(
        "a whole drafting run on the last worker",
        lambda: "drafting done" in cluster.log_of(fourth),
        timeout=120,
        every=0.2,
    )
    wait_for("no claim left", lambda: claimed_mentions(cluster_engine) == 0, timeout=30)
    assert drafted_when_killed < count(cluster_engine, Draft), cluster.logs()
    assert count(cluster_engine, Mention) == distinct_mentions(cluster_engine) == ITEMS
    with Session(cluster_engine) as session:
        labelled = session.exec(select(func.count(func.distinct(Classification.mention_id)))).one()
        drafted = session.exec(select(func.count(func.distinct(Draft.mention_id)))).one()
    assert labelled == ITEMS
    assert drafted == count(cluster_engine, Draft)
    # Each committed chunk is logged once, after its commit: across every worker, the
    # chunks add up to each mention once, so none was labelled twice.
    chunks = re.findall(
        r"classified chunk of \d+ up to mention \d+: (\d+) classified, (\d+) copied, "
        r"(\d+) unclassifiable",
        cluster.logs(tail=None),
    )
    assert sum(int(n) for chunk in chunks for n in chunk) == ITEMS
    # Nothing was lost either: a drafting run here finds nothing left to draft.
    settings = load_settings(cluster.folder / "settings.toml", database={"url": postgres_url})
    assert draft_pending(settings, cluster_engine).drafted == 0
