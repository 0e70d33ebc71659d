"""No 500 from outside: odd digits, huge numbers, deep JSON (issue 22, point 4).

Every answer here is a 4xx and carries the same security headers as any other page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from ascolto.api_tokens import create_token
from ascolto.database import prepare
from ascolto.settings import Settings
from ascolto.web.app import create_app
from storage.db import session_scope
from tests.web.conftest import add_user

SECRET_ENV = "SHOP_WEBHOOK_SECRET_TEST"
HUGE = "9" * 5000
ODD = ["²", "\u0661", "1²", "\u0661\u0662", "\u0663\u0664\u0665", "9" * 30, HUGE, "-1", "0x1f"]


@pytest.fixture
def settings(make_settings: Any, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv(SECRET_ENV, "a-secret")
    built: Settings = make_settings(
        f'[[sources]]\nname = "shop-hooks"\nkind = "webhook"\nsecret_env = "{SECRET_ENV}"\n',
        secret_key="a-secret-key-for-the-survey-links-0123456789",
    )
    return built


@pytest.fixture
def client(settings: Settings) -> Iterator[tuple[TestClient, dict[str, str]]]:
    engine: Engine = prepare(settings)
    add_user(engine, "ada", "admin")
    with session_scope(engine) as session:
        token = create_token(session, username="ada", name="odd").secret
    app = create_app(settings, engine)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client, {"Authorization": f"Bearer {token}"}


def assert_refused(response: Any) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("odd", ODD)
def test_odd_numbers_in_paths_queries_and_links(
    client: tuple[TestClient, dict[str, str]], odd: str
) -> None:
    http, auth = client
    for path in (
        f"/survey/{odd}.1.abc",
        f"/survey/1.{odd}.abc",
        f"/api/v1/clusters/{odd}",
        f"/api/v1/mentions?cursor=2026-01-01T00:00:00%2B00:00~{odd[:60]}",
        f"/api/v1/mentions?limit={odd}",
        f"/api/v1/audit?before={odd}",
    ):
        assert_refused(http.get(path, headers=auth))
    assert_refused(http.post(f"/api/v1/alerts/{odd}/ack", headers=auth))


def test_odd_numbers_in_the_survey_form(client: tuple[TestClient, dict[str, str]]) -> None:
    http, _ = client
    for odd in ODD:
        response = http.post("/survey/1.1.abc", data={"csat": odd, "nps": odd})
        assert_refused(response)


def test_deeply_nested_signed_webhook_is_refused(
    client: tuple[TestClient, dict[str, str]],
) -> None:
    http, _ = client
    body = b"[" * 100_000 + b"]" * 100_000
    signature = base64.b64encode(hmac.new(b"a-secret", body, hashlib.sha256).digest()).decode()
    response = http.post(
        "/webhooks/orders/shop-hooks",
        content=body,
        headers={"X-Shopify-Topic": "orders/updated", "X-Shopify-Hmac-Sha256": signature},
    )
    assert_refused(response)
    assert "nested too deeply" in response.json()["reason"]


def test_server_errors_carry_the_security_headers(settings: Settings) -> None:
    app = create_app(settings, prepare(settings))

    def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/broken", broken)
    with TestClient(app, raise_server_exceptions=False) as http:
        response = http.get("/broken")
    assert response.status_code == 500
    assert response.headers["x-frame-options"] == "DENY"
    assert "content-security-policy" in response.headers
    assert response.headers["cache-control"] == "no-store"


def test_signed_in_pages_are_not_cached_and_no_cdn_docs(
    client: tuple[TestClient, dict[str, str]],
) -> None:
    http, auth = client
    page = http.get("/api/v1/alerts", headers=auth)
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    # The app's own scripts and styles may be cached.
    static = http.get("/static/ascolto.css")
    assert static.status_code == 200
    assert "no-store" not in static.headers.get("cache-control", "")
    # No API docs page pulling scripts from a CDN; the description itself is served.
    assert http.get("/docs").status_code == 404
    assert http.get("/redoc").status_code == 404
    assert http.get("/openapi.json").json()["info"]["title"] == "ascolto"
