"""Schemathesis against the OpenAPI description: generated requests to every /api/v1
operation, signed in with an admin's API token, and to the webhooks and the queue's pages,
over a small real database; no answer may be a
server error, and every answer carries the security headers. Bounded: a few derandomized
examples per operation."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from sqlalchemy.engine import Engine

from ascolto.api_tokens import create_token
from ascolto.database import prepare
from ascolto.settings import load_settings
from ascolto.web.app import create_app
from storage.db import session_scope
from tests.conftest import write_settings
from tests.factories import at
from tests.outreach.draft_factories import PRODUCT, add_mention
from tests.web.conftest import add_user
from tests.web.web_factories import add_cluster_alert

TOKEN: dict[str, str] = {}
SECRET_ENV = "SHOP_WEBHOOK_SECRET_SCHEMATHESIS"


@pytest.fixture(scope="module")
def api_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The app over a SQLite file with a few mentions, an alert and an admin's token."""
    folder: Path = tmp_path_factory.mktemp("api")
    body = (
        f'[[products]]\nname = "{PRODUCT}"\n\n[[sources]]\nname = "shop-hooks"\n'
        f'kind = "webhook"\nsecret_env = "{SECRET_ENV}"\n'
    )
    path = write_settings(folder / "settings.toml", f"sqlite:///{folder / 'ascolto.db'}", body)
    config = load_settings(path, secret_key="a-secret-key-for-schemathesis-0123456789")
    os.environ[SECRET_ENV] = "a-secret"
    engine: Engine = prepare(config)
    add_user(engine, "ada", "admin")
    for day in range(3):
        add_mention(engine, text=f"Tab 3 broke on day {day}", published_at=at(days=day))
    add_cluster_alert(engine)
    with session_scope(engine) as session:
        TOKEN["secret"] = create_token(session, username="ada", name="schemathesis").secret
    app = create_app(config, engine)
    try:
        with TestClient(app):
            yield app
    finally:
        os.environ.pop(SECRET_ENV, None)


def test_api_answers_without_server_errors(api_app: Any) -> None:
    tried = exercise(api_app, "^/api/v1/", {"Authorization": f"Bearer {TOKEN['secret']}"})
    assert "GET /api/v1/mentions" in tried
    assert "POST /api/v1/alerts/{alert_id}/{action}" in tried


def test_public_pages_answer_without_server_errors(api_app: Any) -> None:
    # The survey and unsubscribe pages are not in the schema: tests/web/test_odd_input.py.
    tried = exercise(api_app, "^/(webhooks|queue)", {})
    assert "POST /webhooks/orders/{source_name}" in tried
    assert "GET /queue/{draft_id}" in tried


def exercise(app: Any, paths: str, headers: dict[str, str]) -> list[str]:
    """Generated requests to every operation whose path matches; their labels."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).include(path_regex=paths)
    tried = []
    for result in schema.get_all_operations():
        operation = result.ok()
        tried.append(operation.label)

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: Any) -> None:
            response = case.call(headers=headers)
            case.validate_response(response, checks=[not_a_server_error])
            sent = {name.lower(): value for name, value in response.headers.items()}
            assert "nosniff" in sent["x-content-type-options"]
            assert "content-security-policy" in sent

        check()
    return tried
