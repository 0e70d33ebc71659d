"""One body limit for every route, enforced while the body streams in (issue 22, point 1)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ascolto.database import prepare
from ascolto.settings import Settings, load_settings
from ascolto.web.app import create_app
from storage.models import AuditEvent, InboundWebhook
from tests.conftest import write_settings
from tests.web.live import chunked_post, serve

LIMIT = 64 * 1024
SECRET_ENV = "SHOP_WEBHOOK_SECRET_TEST"
# Far more than the limit: a server that buffered it would take seconds and megabytes.
UPLOAD = 32 * 1024 * 1024


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv(SECRET_ENV, "a-secret")
    body = f'[[sources]]\nname = "shop-hooks"\nkind = "webhook"\nsecret_env = "{SECRET_ENV}"\n'
    path = write_settings(tmp_path / "settings.toml", f"sqlite:///{tmp_path / 'a.db'}", body)
    return load_settings(path, web={"enabled": False, "max_body_bytes": LIMIT})


@pytest.fixture
def engine(settings: Settings) -> Engine:
    return prepare(settings)


@pytest.fixture
def live(settings: Settings, engine: Engine) -> Iterator[tuple[str, int]]:
    with serve(create_app(settings, engine)) as address:
        yield address


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/webhooks/orders/shop-hooks", "application/json"),
        ("/survey/some-token", "application/x-www-form-urlencoded"),
        ("/unsubscribe?token=x", "application/x-www-form-urlencoded"),
        ("/api/v1/alerts/1/ack", "application/json"),
        ("/login", "application/x-www-form-urlencoded"),
        ("/no/such/route", "application/octet-stream"),
    ],
)
def test_chunked_upload_is_cut_off_at_the_limit(
    live: tuple[str, int], engine: Engine, path: str, content_type: str
) -> None:
    answer = chunked_post(live, path, total=UPLOAD, headers={"Content-Type": content_type})
    assert answer.status == 413, answer.body
    assert f"larger than {LIMIT} bytes" in answer.body.decode()
    # Answered while the upload was still going: the rest was never read.
    assert answer.sent < UPLOAD
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" in answer.headers
    with Session(engine) as session:
        # The webhook route never ran: it would have audited the missing signature.
        assert session.exec(select(AuditEvent)).all() == []
        assert session.exec(select(InboundWebhook)).all() == []


def test_declared_length_over_the_limit_is_refused_before_reading(
    settings: Settings, engine: Engine
) -> None:
    with TestClient(create_app(settings, engine)) as client:
        response = client.post(
            "/webhooks/orders/shop-hooks",
            content=b"{" + b" " * LIMIT + b"}",
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 413
        assert response.headers["cache-control"] == "no-store"
        # Just under the limit reaches the route (which refuses the missing signature).
        small = client.post("/webhooks/orders/shop-hooks", content=b"{}")
        assert small.status_code == 401


def test_chunked_body_under_the_limit_reaches_the_route(live: tuple[str, int]) -> None:
    answer = chunked_post(live, "/webhooks/orders/shop-hooks", total=LIMIT - 1024, chunk=1024)
    assert answer.status == 401  # read whole, then refused for its missing signature
    assert b"signature" in answer.body
