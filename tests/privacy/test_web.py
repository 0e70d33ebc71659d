"""The admin's privacy page, and contact details shown only to the roles that write to
customers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from ascolto.database import prepare
from ascolto.settings import Settings
from ascolto.web.app import create_app
from storage.models import AuditEvent, Customer
from storage.types import utcnow
from tests.campaigns.conftest import add_order as add_shop_order
from tests.campaigns.conftest import campaign_toml
from tests.outreach.draft_factories import settings_for
from tests.privacy.world import SETTINGS, build
from tests.web.conftest import add_user, sign_in

ROLES = {"tom": "agent", "mia": "marketer", "ada": "admin"}


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


def client_for(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    for name, role in ROLES.items():
        add_user(engine, name, role)
    with TestClient(create_app(settings, engine)) as client:
        yield client


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> Iterator[tuple[TestClient, Engine, str]]:
    settings = settings_for(tmp_path, database_url, SETTINGS)
    engine = prepare(settings)
    person, _other = build(settings, engine)
    for client in client_for(settings, engine):
        yield client, engine, person.email


def test_an_admin_finds_downloads_and_erases_a_person(
    world: tuple[TestClient, Engine, str],
) -> None:
    client, engine, email = world
    csrf = sign_in(client, "tom")
    assert client.get("/admin/privacy").status_code == 403
    assert (
        client.post("/admin/privacy", data={"csrf_token": csrf, "email": email}).status_code == 403
    )
    client.cookies.clear()

    csrf = sign_in(client, "ada")
    page = client.get("/admin/privacy")
    assert page.status_code == 200
    assert 'href="/admin/privacy"' in page.text
    assert client.post("/admin/privacy", data={"email": email}).status_code == 403  # no CSRF

    found = client.post("/admin/privacy", data={"csrf_token": csrf, "email": email})
    assert found.status_code == 200
    assert "<td>customer</td>" in found.text
    assert "<td>mention</td>" in found.text

    bad = client.post("/admin/privacy", data={"csrf_token": csrf, "handle": "nobody"})
    assert bad.status_code == 400
    assert "platform:handle" in bad.text

    download = client.post("/admin/privacy/export", data={"csrf_token": csrf, "email": email})
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("application/json")
    assert "attachment" in download.headers["content-disposition"]
    assert download.json()["identifiers"]["emails"] == [email]

    unconfirmed = client.post("/admin/privacy/erase", data={"csrf_token": csrf, "email": email})
    assert unconfirmed.status_code == 400
    assert "Type ERASE" in unconfirmed.text
    erased = client.post(
        "/admin/privacy/erase",
        data={"csrf_token": csrf, "email": email, "confirm": "ERASE"},
        follow_redirects=False,
    )
    assert erased.status_code == 303
    assert email not in erased.headers["location"]
    assert "row(s) deleted or anonymised" in client.get(erased.headers["location"]).text
    with Session(engine) as session:
        assert not session.exec(select(Customer).where(Customer.email == email)).first()
        events = session.exec(
            select(AuditEvent).where(col(AuditEvent.action).startswith("privacy."))
        ).all()
    assert [(e.action, e.actor, e.details) for e in events] == [
        ("privacy.exported", "ada", {}),
        ("privacy.erased", "ada", {}),
    ]
    again = client.post("/admin/privacy", data={"csrf_token": csrf, "email": email})
    assert "Nothing is held about this person" in again.text


def test_campaign_previews_mask_addresses_for_marketers(
    campaign_settings: Callable[..., Settings], engine: Engine
) -> None:
    settings = campaign_settings(campaign_toml(starts_on="2026-11-01"))
    # The web app previews as of now: an order delivered yesterday.
    now = utcnow()
    add_shop_order(
        engine,
        email="lucia.bianchi@example.it",
        ordered_at=now - timedelta(days=4),
        shipped_at=now - timedelta(days=3),
        delivered_at=now - timedelta(days=1),
    )
    for client in client_for(settings, engine):
        sign_in(client, "mia")
        page = client.get("/campaigns/after-delivery")
        api = client.get("/api/v1/campaigns/after-delivery/preview").json()
        assert "lucia.bianchi@example.it" not in page.text
        assert "l•••@example.it" in page.text
        assert [e["customer"] for e in api["entries"]] == ["l•••@example.it"]
        client.cookies.clear()
        sign_in(client, "ada")
        assert "lucia.bianchi@example.it" in client.get("/campaigns/after-delivery").text
