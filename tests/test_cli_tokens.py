"""`ascolto tokens`: create (shown once, stored hashed), list and revoke API tokens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select
from typer.testing import CliRunner

from ascolto import settings as settings_module
from ascolto.cli import tokens as cli_tokens
from ascolto.database import prepare
from ascolto.settings import Settings, load_settings, use_settings
from ascolto.web.app import create_app
from storage.models import ApiToken
from tests.conftest import write_settings
from tests.web.conftest import add_user


@pytest.fixture
def settings(tmp_path: Path, sqlite_url: str) -> Iterator[Settings]:
    before = list(settings_module._current)
    try:
        yield use_settings(load_settings(write_settings(tmp_path / "settings.toml", sqlite_url)))
    finally:
        settings_module._current[:] = before


def test_create_list_and_revoke(settings: Settings) -> None:
    engine = prepare(settings)
    add_user(engine, "pat", "product")
    runner = CliRunner()
    made = runner.invoke(cli_tokens.app, ["create", "pat", "--name", "wiki"])
    assert made.exit_code == 0, made.output
    secret = made.output.strip().splitlines()[-1]
    assert secret.startswith("asc_")
    with Session(engine) as session:
        stored = session.exec(select(ApiToken)).one()
    assert secret not in stored.token_hash
    listed = runner.invoke(cli_tokens.app, ["list"])
    assert "wiki" in listed.output
    assert secret not in listed.output
    with TestClient(create_app(settings, engine)) as client:
        headers = {"Authorization": f"Bearer {secret}"}
        assert client.get("/api/v1/sources", headers=headers).status_code == 200
        revoked = runner.invoke(cli_tokens.app, ["revoke", str(stored.id)])
        assert revoked.exit_code == 0, revoked.output
        assert client.get("/api/v1/sources", headers=headers).status_code == 401
    unknown = runner.invoke(cli_tokens.app, ["create", "nobody"])
    assert unknown.exit_code != 0
