"""Fixtures: a real database (SQLite file and PostgreSQL), a real feed server, factories."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from ascolto.settings import Settings, load_settings
from storage.db import get_engine
from tests.feedserver import FeedServer, feed_server
from tests.requirements import MISSING, REQUIRED, missing, postgres_url

POSTGRES_URL = postgres_url()


def _postgres_schema_url(schema: str) -> str:
    url = make_url(POSTGRES_URL)
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Where every requirement must be there, a skip for a missing one is a failure."""
    report = yield
    if REQUIRED and report.skipped and isinstance(report.longrepr, tuple):
        reason = str(report.longrepr[2]).removeprefix("Skipped: ")
        if reason.startswith(MISSING):
            report.outcome = "failed"
            report.longrepr = (
                f"{reason}\n(CI or ASCOLTO_REQUIRE_SERVICES=1 is set: a missing requirement "
                "fails the run instead of skipping its tests)"
            )
    return report


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a schema of its own on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ascolto.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:
        missing(
            f"PostgreSQL is not reachable at {POSTGRES_URL} (start it, or point "
            f"ASCOLTO_TEST_POSTGRES_URL at one): {exc}"
        )
    try:
        yield _postgres_schema_url(schema)
    finally:
        get_engine.cache_clear()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite file URL, for tests where the database kind does not matter."""
    return f"sqlite:///{tmp_path / 'ascolto.db'}"


def write_settings(path: Path, database_url: str, body: str = "") -> Path:
    """Write a settings.toml pointing at `database_url`, with extra TOML appended.

    Scheduled classification is off unless `body` has a `[classify]` table: tests of the
    listeners and the scheduler should not load the models. Scheduled delivery is off
    unless `body` has a `[delivery]` table, scheduled drafting unless it has `[outreach]`,
    defect detection unless it has `[defects]`, retention and re-checks at the sources
    unless it has `[privacy]`.
    """
    if "[classify]" not in body:
        body = "[classify]\nenabled = false\n\n" + body
    if "[delivery]" not in body:
        body = "[delivery]\nenabled = false\n\n" + body
    if "[outreach]" not in body:
        body = "[outreach]\nenabled = false\n\n" + body
    if "[defects]" not in body:
        body = "[defects]\nenabled = false\n\n" + body
    if "[privacy]" not in body:
        body = "[privacy]\nretention = false\nrecheck = false\n\n" + body
    path.write_text(
        f'[database]\nurl = "{database_url}"\n\n[web]\nenabled = false\n\n'
        "[http]\nbackoff = 0.05\nper_host_interval = 0\nread_timeout = 5\n\n" + body,
        encoding="utf-8",
    )
    return path


def rss_source(name: str, url: str, **extra: Any) -> str:
    """A `[[sources]]` TOML table for an RSS source (on the tests' 127.0.0.1 servers)."""
    lines = [f'[[sources]]\nname = "{name}"\nkind = "rss"\nurl = "{url}"']
    extra.setdefault("allow_private_addresses", True)
    for key, value in extra.items():
        if isinstance(value, str):
            lines.append(f'{key} = "{value}"')
        elif isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        elif isinstance(value, list):
            lines.append(f"{key} = {value!r}".replace("'", '"'))
        else:
            lines.append(f"{key} = {value}")
    return "\n".join(lines) + "\n\n"


@pytest.fixture
def make_settings(tmp_path: Path, database_url: str) -> Any:
    """Build validated Settings for the test database from extra TOML."""

    def build(body: str = "", **overrides: Any) -> Settings:
        path = write_settings(tmp_path / "settings.toml", database_url, body)
        return load_settings(path, **overrides)

    return build


@pytest.fixture
def engine(database_url: str) -> Engine:
    """A migrated engine on the test database."""
    from storage.migrate import upgrade

    eng = get_engine(database_url)
    upgrade(eng)
    return eng


@pytest.fixture
def server() -> Iterator[FeedServer]:
    """A real HTTP server on 127.0.0.1 replaying recorded feeds."""
    with feed_server() as running:
        yield running


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's settings or environment overrides."""
    for key in list(os.environ):
        if key.startswith("ASCOLTO_") and key != "ASCOLTO_TEST_POSTGRES_URL":
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def shared_classifier() -> Any:
    """The default classifier, loaded once per test session (loading is the slow part)."""
    from classify.classifying import get_classifier

    return get_classifier(Settings())
