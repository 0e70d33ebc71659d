"""The overview, mentions, defect clusters, campaigns, sources, settings and audit pages
over HTTP on a real database: what they show, who may see them, and their actions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from ascolto.database import prepare
from ascolto.settings import Settings, load_settings
from ascolto.web.app import create_app
from storage.models import Alert, AuditEvent
from tests.conftest import write_settings
from tests.factories import at
from tests.outreach.draft_factories import PRODUCT, add_alert, add_mention
from tests.web.conftest import add_user, sign_in
from tests.web.web_factories import add_cluster_alert

ROLES = {"tom": "agent", "sam": "supervisor", "pat": "product", "mia": "marketer", "ada": "admin"}
SCRIPT = "<script>alert('x')</script>"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    body = f'[[products]]\nname = "{PRODUCT}"\naliases = ["tab 3"]\n'
    path = write_settings(tmp_path / "settings.toml", database_url, body)
    return load_settings(path)


@pytest.fixture
def engine(settings: Settings) -> Engine:
    engine = prepare(settings)
    for name, role in ROLES.items():
        add_user(engine, name, role)
    return engine


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine)) as test_client:
        yield test_client


def as_user(client: TestClient, name: str) -> str:
    client.cookies.clear()
    return sign_in(client, name)


def fill(engine: Engine) -> dict[str, int]:
    """Mentions of two sources, two languages, complaints and praise, on three days."""
    return {
        "late": add_mention(
            engine,
            text="My Acme Tab 3 still hasn't arrived, two weeks on!",
            published_at=at(days=0),
        ),
        "screen": add_mention(
            engine,
            text="Lo schermo del Tab 3 si è rotto dopo un giorno",
            language="it",
            issues=("defect",),
            source_kind="mastodon",
            published_at=at(days=1),
        ),
        "praise": add_mention(
            engine,
            text=f"Love the new Tab 3, fast delivery {SCRIPT}",
            complaint=False,
            issues=("praise",),
            products=(),
            published_at=at(days=2),
        ),
    }


def shown_ids(response: Any) -> list[int]:
    return [m["id"] for m in response.json()["mentions"]]


def test_mentions_filter_search_and_pages(client: TestClient, engine: Engine) -> None:
    ids = fill(engine)
    as_user(client, "tom")
    api = "/api/v1/mentions"
    assert shown_ids(client.get(api)) == [ids["praise"], ids["screen"], ids["late"]]
    assert shown_ids(client.get(api, params={"sentiment": "neutral"})) == [ids["praise"]]
    assert shown_ids(client.get(api, params={"issue": "defect"})) == [ids["screen"]]
    assert shown_ids(client.get(api, params={"language": "it"})) == [ids["screen"]]
    assert shown_ids(client.get(api, params={"source": "mastodon"})) == [ids["screen"]]
    assert shown_ids(client.get(api, params={"product": PRODUCT})) == [ids["screen"], ids["late"]]
    assert shown_ids(client.get(api, params={"complaint": "false"})) == [ids["praise"]]
    day = at(days=1).date().isoformat()
    assert shown_ids(client.get(api, params={"since": day, "until": day})) == [ids["screen"]]
    # Full-text search: every word must be in the text, whatever the case.
    assert shown_ids(client.get(api, params={"q": "ARRIVED weeks"})) == [ids["late"]]
    assert shown_ids(client.get(api, params={"q": "arrived praise"})) == []
    assert shown_ids(client.get(api, params={"q": "schermo"})) == [ids["screen"]]
    # Pages continue after the last row shown.
    first = client.get(api, params={"limit": 2}).json()
    assert [m["id"] for m in first["mentions"]] == [ids["praise"], ids["screen"]]
    rest = client.get(api, params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert ([m["id"] for m in rest["mentions"]], rest["next_cursor"]) == ([ids["late"]], None)
    # Bad input is a clear 422, never a server error.
    assert client.get(api, params={"since": "yesterday"}).status_code == 422
    assert client.get(api, params={"cursor": "nonsense"}).status_code == 422

    page = client.get("/mentions", params={"q": "delivery"})
    assert page.status_code == 200
    assert "Love the new Tab 3" in page.text
    assert "two weeks on" not in page.text
    assert SCRIPT not in page.text
    assert "&lt;script&gt;" in page.text


def test_overview_counts_mentions_and_alerts(client: TestClient, engine: Engine) -> None:
    fill(engine)
    add_alert(engine)
    as_user(client, "mia")
    figures = client.get("/api/v1/overview", params={"days": 366}).json()
    by_sentiment = {(r["sentiment"], r["count"]) for r in figures["mentions_by_sentiment"]}
    assert by_sentiment >= {("negative", 1), ("neutral", 1)}
    assert sum(r["count"] for r in figures["mentions_by_source"]) == 3
    assert figures["active_alerts"] == 1
    assert figures["first_response_target_s"] == 3600
    page = client.get("/", params={"days": 366})
    assert page.status_code == 200
    assert page.text.count("<svg") >= 3
    assert "Mentions per day by sentiment" in page.text
    assert "battery drains overnight" in page.text


PAGES = {
    "/": set(ROLES),
    "/mentions": set(ROLES),
    "/sources": set(ROLES),
    "/queue": {"tom", "sam", "ada"},
    "/clusters": {"tom", "sam", "pat", "ada"},
    "/campaigns": {"mia", "ada"},
    "/audit": {"sam", "ada"},
    "/settings": {"ada"},
}


def test_roles_restrict_pages(client: TestClient) -> None:
    for name in ROLES:
        as_user(client, name)
        for path, allowed in PAGES.items():
            status = client.get(path).status_code
            assert status == (200 if name in allowed else 403), (name, path, status)


def test_acknowledge_an_alert_with_a_form_and_the_api(
    client: TestClient, engine: Engine, settings: Settings
) -> None:
    alert_id = add_alert(engine)
    csrf = as_user(client, "pat")
    refused = client.post(f"/alerts/{alert_id}/acknowledge", data={}, follow_redirects=False)
    assert refused.status_code == 403
    done = client.post(
        f"/alerts/{alert_id}/acknowledge", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert done.status_code == 303
    page = client.get(done.headers["location"])
    assert "acknowledged" in page.text
    with Session(engine) as session:
        alert = session.get(Alert, alert_id)
        assert alert is not None
        assert (alert.status, alert.acted_by) == ("acknowledged", "pat")
        event = session.exec(
            select(AuditEvent).where(AuditEvent.action == "alert.acknowledge")
        ).one()
        assert event.actor == "pat"

    # Dismissing an alert dismisses its cluster too, with the reason in the audit trail.
    cluster_id, second = add_cluster_alert(engine, title="screen flickers")
    cluster_page = client.get(f"/clusters/{cluster_id}")
    assert "Growth of cluster" in cluster_page.text
    assert "screen flickers" in cluster_page.text
    dismissed = client.post(
        f"/alerts/{second}/dismiss",
        data={"csrf_token": csrf, "reason": "a known firmware issue"},
        follow_redirects=False,
    )
    assert dismissed.headers["location"] == f"/clusters/{cluster_id}?done=dismiss-alert-{second}"
    with Session(engine) as session:
        alert = session.get(Alert, second)
        assert alert is not None
        assert alert.status == "dismissed"
        reason = session.exec(select(AuditEvent).where(AuditEvent.action == "alert.dismiss")).one()
        assert reason.details["reason"] == "a known firmware issue"
    again = client.post(f"/alerts/{second}/acknowledge", data={"csrf_token": csrf})
    assert again.status_code == 409

    # An agent sees clusters and alerts but does not decide on them.
    csrf = as_user(client, "tom")
    assert client.get("/clusters").status_code == 200
    other = add_alert(engine)
    forbidden = client.post(f"/alerts/{other}/acknowledge", data={"csrf_token": csrf})
    assert forbidden.status_code == 403


def test_scripts_use_the_api_with_a_token(client: TestClient, engine: Engine) -> None:
    from ascolto.api_tokens import create_token, revoke_token
    from storage.db import session_scope

    alert_id = add_alert(engine)
    with session_scope(engine) as session:
        made = create_token(session, username="pat", name="nightly report")
        token_id = made.token.id or 0
    script = TestClient(client.app)
    headers = {"Authorization": f"Bearer {made.secret}"}
    assert script.get("/api/v1/alerts").status_code == 401
    assert [a["id"] for a in script.get("/api/v1/alerts", headers=headers).json()] == [alert_id]
    # No cookie, so no CSRF token needed; the role still applies.
    acted = script.post(
        f"/api/v1/alerts/{alert_id}/acknowledge", headers=headers, json={"reason": "on it"}
    )
    assert (acted.status_code, acted.json()["status"]) == (200, "acknowledged")
    assert script.get("/api/v1/campaigns", headers=headers).status_code == 403
    # A token works only for the API, not for pages.
    assert script.get("/clusters", headers=headers, follow_redirects=False).status_code == 303
    wrong = {"Authorization": "Bearer asc_" + "x" * 43}
    assert script.get("/api/v1/alerts", headers=wrong).status_code == 401
    with session_scope(engine) as session:
        revoke_token(session, token_id, by="ada")
    assert script.get("/api/v1/alerts", headers=headers).status_code == 401
    with Session(engine) as session:
        actions = session.exec(
            select(AuditEvent.action).where(col(AuditEvent.subject_type) == "api_token")
        ).all()
    assert sorted(actions) == ["api_token.created", "api_token.revoked"]


def test_settings_page_hides_secrets(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASCOLTO_SECRET_KEY", "very-secret-signing-key")
    monkeypatch.setenv("ASCOLTO_SMTP_PASSWORD", "smtp-password-123")
    path = write_settings(tmp_path / "settings.toml", sqlite_url)
    settings = load_settings(path)
    engine = prepare(settings)
    add_user(engine, "ada", "admin")
    with TestClient(create_app(settings, engine)) as client:
        sign_in(client, "ada")
        page = client.get("/settings").text
        api = client.get("/api/v1/settings").text
    for text in (page, api):
        assert "very-secret-signing-key" not in text
        assert "smtp-password-123" not in text
        assert "(hidden)" in text
    assert "secret_key" in page


def test_hide_secrets_in_urls() -> None:
    from ascolto.web.admin import hide_secrets

    shown = hide_secrets({"database": {"url": "postgresql://app:s3cret@db/ascolto"}})
    assert shown == {"database": {"url": "postgresql://app:(hidden)@db/ascolto"}}


def test_campaign_create_preview_pause_and_resume(client: TestClient, engine: Engine) -> None:
    csrf = as_user(client, "mia")
    form = client.get("/campaigns/new")
    assert form.status_code == 200
    data = {
        "csrf_token": csrf,
        "editing": "0",
        "name": "after-delivery",
        "trigger": "delivered",
        "delay": "3d",
        "send_from": "10:00",
        "send_until": "19:00",
        "timezone": "Europe/Rome",
        "survey": ["csat", "nps"],
        "products": [PRODUCT],
        "require_consent": "on",
        "follow_up": "on",
        "template": "checkin",
    }
    bad = client.post("/campaigns", data={**data, "delay": "soon"})
    assert bad.status_code == 422
    assert "not saved" in bad.text
    saved = client.post("/campaigns", data=data, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    page = client.get(saved.headers["location"])
    assert page.status_code == 200
    assert "Preview" in page.text
    assert "csat, nps" in page.text
    # The same name again is refused rather than overwritten.
    assert client.post("/campaigns", data=data).status_code == 422
    paused = client.post("/campaigns/after-delivery/pause", data={"csrf_token": csrf})
    assert "paused" in paused.text
    api = client.get("/api/v1/campaigns").json()
    assert [(c["name"], c["paused"]) for c in api] == [("after-delivery", True)]
    client.post("/campaigns/after-delivery/resume", data={"csrf_token": csrf})
    edit = client.get("/campaigns/after-delivery/edit")
    assert 'value="3d"' in edit.text
    client.post("/campaigns", data={**data, "editing": "1", "delay": "5d"})
    assert client.get("/api/v1/campaigns").json()[0]["definition"]["delay"] == "5d"
    preview = client.get("/api/v1/campaigns/after-delivery/preview").json()
    assert preview["campaign"] == "after-delivery"
    csv = client.get("/campaigns/report.csv", params={"by": "week"})
    assert csv.text.startswith("week,sent,")
    with Session(engine) as session:
        actions = session.exec(
            select(AuditEvent.action)
            .where(col(AuditEvent.subject_type) == "campaign")
            .order_by(col(AuditEvent.id))
        ).all()
    assert actions == [
        "campaign.created",
        "campaign.paused",
        "campaign.resumed",
        "campaign.updated",
    ]


def test_audit_log_lists_changes(client: TestClient, engine: Engine) -> None:
    alert_id = add_alert(engine)
    csrf = as_user(client, "pat")
    client.post(f"/alerts/{alert_id}/acknowledge", data={"csrf_token": csrf})
    as_user(client, "sam")
    page = client.get("/audit", params={"action": "alert."})
    assert page.status_code == 200
    assert "alert.acknowledge" in page.text
    assert "user.login" not in page.text
    events = client.get("/api/v1/audit", params={"actor": "pat"}).json()
    assert {e["action"] for e in events} >= {"alert.acknowledge", "user.login"}


def test_sources_page_and_pages_send_security_headers(client: TestClient) -> None:
    as_user(client, "tom")
    for path in ("/", "/mentions", "/sources", "/clusters"):
        response = client.get(path)
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert "<script>" not in response.text


def test_overview_response_times_match_the_metrics(client: TestClient, engine: Engine) -> None:
    from datetime import timedelta

    from outreach.metrics import mark_resolved, response_metrics
    from storage.db import session_scope
    from storage.outreach import open_case, record_response

    minutes = [5, 12, 30, 47, 90, 240, None]
    mentions = [
        add_mention(engine, text=f"Tab 3 case {n}", published_at=at(days=n))
        for n in range(len(minutes))
    ]
    with session_scope(engine) as session:
        for n, (wait, mention_id) in enumerate(zip(minutes, mentions, strict=True)):
            opened = at(days=n)
            open_case(session, mention_id=mention_id, opened_at=opened, customer_id=None)
            if wait is not None:
                record_response(session, mention_id=mention_id, at=opened + timedelta(minutes=wait))
            if n % 2 == 0:
                mark_resolved(
                    session, mention_id=mention_id, by="sam", at=opened + timedelta(hours=n + 1)
                )
    as_user(client, "sam")
    shown = client.get("/api/v1/overview", params={"days": 366}).json()["response"]
    with Session(engine) as session:
        expected = response_metrics(session, at(days=-400)).as_dict()
    for key in ("cases", "responded", "resolved", "resolution_rate"):
        assert shown[key] == expected[key]
    for key in ("first_response_median_s", "first_response_p90_s", "resolution_median_s"):
        assert shown[key] == pytest.approx(expected[key])
    assert shown["first_response_median_s"] == 38.5 * 60
