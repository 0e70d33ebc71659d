"""Fixtures of the distributed tests: a private broker, a PostgreSQL schema, the cluster."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from storage.db import get_engine
from tests.conftest import POSTGRES_URL
from tests.distributed.cluster import Cluster, PrivateRedis

COMPLAINTS = [
    "My Acme Tab 3 battery drains overnight since the update, really disappointed",
    "The screen of my Acme Tab 3 cracked after two days, nobody answers my emails",
    "Acme Buds left earbud stopped charging after a week, this is unacceptable",
    "My Acme order is three days late and there is no tracking at all",
]


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A schema of its own on the test PostgreSQL; its connections carry a name of their
    own, so a test can drop exactly them."""
    schema = f"d_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(POSTGRES_URL).update_query_dict(
        {"options": f"-csearch_path={schema}", "application_name": f"ascolto-{schema}"}
    )
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        get_engine.cache_clear()
        with admin.begin() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = :name"
                ),
                {"name": f"ascolto-{schema}"},
            )
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def rss(count: int, *, start: int = 0) -> bytes:
    """An RSS feed of `count` distinct complaints, published now."""
    when = format_datetime(datetime.now(UTC))
    items = "".join(
        f"<item><title>Complaint {n}</title><link>https://forum.example/t/{n}</link>"
        f"<guid>https://forum.example/t/{n}</guid><pubDate>{when}</pubDate>"
        f"<description>{COMPLAINTS[n % len(COMPLAINTS)]} (ticket {n})</description></item>"
        for n in range(start, start + count)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Forum</title>'
        f"<link>https://forum.example/</link><description>f</description>{items}"
        "</channel></rss>"
    ).encode()


def write_cluster_settings(folder: Path, body: str) -> Path:
    """settings.toml for the cluster: fast schedules; database and broker come from env."""
    path = folder / "settings.toml"
    path.write_text(
        "[web]\nenabled = false\n\n"
        "[http]\nbackoff = 0.05\nper_host_interval = 0\nread_timeout = 60\n\n"
        "[broker]\nvisibility_timeout = 8\nretry_seconds = 0.5\n\n" + body,
        encoding="utf-8",
    )
    return path


@pytest.fixture
def cluster_engine(postgres_url: str) -> Engine:
    return get_engine(postgres_url)


def make_cluster(folder: Path, body: str, broker_url: str, database_url: str) -> Cluster:
    return Cluster(folder, write_cluster_settings(folder, body), broker_url, database_url)


def enqueue_emails(engine: Engine, count: int, *, prefix: str) -> list[str]:
    """`count` approved e-mails in the outbox, one per recipient; returns the recipients."""
    from outreach.outbox import enqueue
    from storage.db import session_scope

    recipients = [f"{prefix}{n}@example.com" for n in range(count)]
    with session_scope(engine) as session:
        for recipient in recipients:
            enqueue(
                session,
                key=f"test:{recipient}",
                channel="email",
                recipient=recipient,
                subject="About your order",
                text="Hello,\nwe are sorry about the delay.",
                kind="reply",
            )
    return recipients


def smtp_toml(port: int) -> str:
    return (
        "[delivery]\nenabled = true\ninterval = 1\nlease_seconds = 5\nbackoff = 0.5\n"
        "max_backoff = 1\n\n"
        f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
        'from_address = "care@acme.example"\nfrom_name = "Acme Care"\ntimeout = 5\n\n'
    )
