"""The review queue over HTTP: who may see it, what it shows, and the actions as form posts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ascolto.database import prepare
from ascolto.settings import Settings, load_settings
from ascolto.web.app import create_app
from outreach.drafting import draft_for_mention
from storage.db import session_scope
from storage.models import AuditEvent, Draft, OutboxMessage
from tests.conftest import write_settings
from tests.factories import at
from tests.outreach.draft_factories import add_mention
from tests.web.conftest import add_user, csrf_token, sign_in

NOW = at(days=1)
SCRIPT = "<script>alert('x')</script>"


@pytest.fixture
def settings(tmp_path: Path, sqlite_url: str) -> Settings:
    path = write_settings(tmp_path / "settings.toml", sqlite_url, "[outreach]\nenabled = true\n")
    return load_settings(path, web={"enabled": False, "queue_refresh_seconds": 3})


@pytest.fixture
def engine(settings: Settings) -> Engine:
    engine = prepare(settings)
    for name, role in (("tom", "agent"), ("giulia", "supervisor"), ("pat", "product")):
        add_user(engine, name, role)
    return engine


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine)) as test_client:
        yield test_client


def drafted(engine: Engine, settings: Settings, **mention: Any) -> int:
    mention_id = add_mention(engine, **mention)
    with session_scope(engine) as session:
        draft = draft_for_mention(session, settings, mention_id, now=NOW)
        assert draft is not None
        session.flush()
        return draft.id or 0


def draft(engine: Engine, draft_id: int) -> Draft:
    with Session(engine) as session:
        found = session.get(Draft, draft_id)
        assert found is not None
        return found


def row_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-draft="(\d+)"', html)]


def test_the_queue_lists_urgent_drafts_first_and_refreshes_itself(
    client: TestClient, engine: Engine, settings: Settings
) -> None:
    plain = drafted(engine, settings, published_at=at(10), handle="a")
    safety = drafted(engine, settings, published_at=at(40), urgency=("safety",), handle="b")
    sign_in(client, "tom")
    page = client.get("/queue")
    assert page.status_code == 200
    assert row_ids(page.text) == [safety, plain]
    assert 'data-refresh-seconds="3"' in page.text
    assert '<script src="/static/queue.js" defer></script>' in page.text
    assert client.get("/static/queue.js").status_code == 200

    rows = client.get("/queue/rows")
    assert rows.status_code == 200
    assert rows.headers["cache-control"] == "no-store"
    assert rows.text.lstrip().startswith(("{#", '<tbody id="queue-rows"'))
    assert row_ids(rows.text) == [safety, plain]
    assert 'data-count="2"' in rows.text

    newer = drafted(engine, settings, published_at=at(5), urgency=("legal",), handle="c")
    assert row_ids(client.get("/queue/rows").text) == [safety, newer, plain]


def test_mention_text_is_shown_as_text_never_as_markup(
    client: TestClient, engine: Engine, settings: Settings
) -> None:
    draft_id = drafted(engine, settings, text=f"My Acme Tab 3 never arrived {SCRIPT}")
    sign_in(client, "tom")
    for path in ("/queue", "/queue/rows", f"/queue/{draft_id}"):
        html = client.get(path).text
        assert SCRIPT not in html
        assert "&lt;script&gt;" in html
        assert "<script>" not in html  # the only scripts are files of the app


def test_product_and_marketing_people_cannot_open_the_queue(
    client: TestClient, engine: Engine, settings: Settings
) -> None:
    draft_id = drafted(engine, settings)
    sign_in(client, "pat")
    for path in ("/queue", "/queue/rows", f"/queue/{draft_id}"):
        refused = client.get(path)
        assert refused.status_code == 403, path
        assert "this needs the agent role; you are signed in as product" in refused.text
    token = csrf_token(client.get("/").text)
    refused = client.post(
        f"/queue/{draft_id}/reject", data={"csrf_token": token, "reason": "not mine"}
    )
    assert refused.status_code == 403
    assert draft(engine, draft_id).status == "pending"


def test_signed_out_viewers_are_sent_to_the_login_form(client: TestClient) -> None:
    answer = client.get("/queue/rows", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2Fqueue%2Frows"


def test_edit_approve_and_reject_through_the_forms(
    client: TestClient, engine: Engine, settings: Settings
) -> None:
    first = drafted(engine, settings, handle="a")
    second = drafted(engine, settings, handle="b")
    sign_in(client, "tom")
    page = client.get(f"/queue/{first}")
    token = csrf_token(page.text)
    assert f'action="/queue/{first}/approve"' in page.text

    edited = client.post(
        f"/queue/{first}/edit",
        data={"csrf_token": token, "text": "Sorry, Marco: call us at +1 555 0100 1234."},
        follow_redirects=False,
    )
    assert edited.status_code == 303
    assert edited.headers["location"].startswith(f"/queue/{first}?event=")
    shown = client.get(edited.headers["location"]).text
    # The edited text was judged again: a phone number has no place in a public reply.
    assert "edited and checked again: amend" in shown
    assert "personal_data" in shown
    assert draft(engine, first).verdict == "amend"
    assert "+1 555 0100 1234" not in draft(engine, first).text

    fine = "Sorry about the wait, Marco: we are looking into your order now."
    client.post(f"/queue/{first}/edit", data={"csrf_token": token, "text": fine})
    assert draft(engine, first).text == fine
    approved = client.post(
        f"/queue/{first}/approve", data={"csrf_token": token}, follow_redirects=False
    )
    assert approved.status_code == 303
    assert "approved: queued for" in client.get(approved.headers["location"]).text
    assert draft(engine, first).status == "approved"

    rejected = client.post(
        f"/queue/{second}/reject", data={"csrf_token": token, "reason": "  answered by phone "}
    )
    assert rejected.status_code == 200
    assert draft(engine, second).status == "rejected"
    assert draft(engine, second).reason == "answered by phone"
    again = client.post(f"/queue/{second}/reject", data={"csrf_token": token, "reason": "x"})
    assert again.status_code == 409
    assert "it cannot be rejected" in again.text

    with Session(engine) as session:
        keys = session.exec(select(OutboxMessage.key)).all()
        events = session.exec(
            select(AuditEvent.actor, AuditEvent.action).where(AuditEvent.subject_type == "draft")
        ).all()
    assert keys == [f"draft:{first}"]
    assert ("tom", "draft.approved") in events
    assert ("tom", "draft.rejected") in events


def test_an_action_without_the_csrf_token_changes_nothing(
    client: TestClient, engine: Engine, settings: Settings
) -> None:
    draft_id = drafted(engine, settings)
    sign_in(client, "tom")
    refused = client.post(f"/queue/{draft_id}/approve", data={})
    assert refused.status_code == 403
    assert draft(engine, draft_id).status == "pending"


def test_queue_pages_carry_the_security_headers(client: TestClient) -> None:
    sign_in(client, "tom")
    for path in ("/login", "/queue", "/queue/rows"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp
        assert "script-src 'self';" in csp
        assert "unsafe-inline" not in csp
        assert headers["x-frame-options"] == "DENY"
