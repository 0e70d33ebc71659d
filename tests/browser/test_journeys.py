"""The main journeys in a real browser: the overview and mentions, acknowledging an alert,
creating and previewing a campaign, and answering a survey; screenshots are kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlmodel import Session, select

from ascolto.settings import Settings, load_settings
from outreach.campaigns import run_campaigns
from storage.models import Alert, AuditEvent, SurveyAnswer
from tests.browser.conftest import LiveApp, log_in, snapshot
from tests.campaigns.conftest import (
    PRODUCTS,
    PUBLIC_URL,
    QUIET_POLICY,
    SECRET_KEY,
    add_order,
    campaign_toml,
    survey_path,
)
from tests.conftest import write_settings
from tests.outreach.draft_factories import add_mention
from tests.web.conftest import add_user
from tests.web.web_factories import add_cluster_alert

pytestmark = pytest.mark.browser

# The check-in goes out yesterday at 14:00 UTC (inside the 10-19 window in Rome), so its
# signed link is valid now.
SENT = datetime.combine(
    datetime.now(UTC).date() - timedelta(days=1), datetime.min.time(), tzinfo=UTC
) + timedelta(hours=14)


@pytest.fixture
def app_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("ASCOLTO_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("ASCOLTO_WEB_PUBLIC_URL", PUBLIC_URL)
    policy = tmp_path / "policy.toml"
    policy.write_text(QUIET_POLICY, encoding="utf-8")
    starts = (SENT - timedelta(days=10)).date().isoformat()
    body = (
        f'[policies]\nfile = "{policy}"\n\n'
        + PRODUCTS
        + campaign_toml(starts_on=starts, survey=["csat", "nps"])
    )
    path = write_settings(tmp_path / "settings.toml", f"sqlite:///{tmp_path / 'ascolto.db'}", body)
    return load_settings(path)


def test_overview_and_mentions(page: Any, live_app: LiveApp, console: list[str]) -> None:
    add_user(live_app.engine, "mia", "marketer")
    today = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    for day in range(12):
        for n in range(1 + day % 4):
            add_mention(
                live_app.engine,
                text=f"My Acme Tab 3 screen cracked again ({day}/{n})",
                source_kind=("reddit", "mastodon", "hackernews")[n % 3],
                complaint=n % 2 == 0,
                issues=("defect",) if n % 2 == 0 else ("praise",),
                published_at=today - timedelta(days=day, minutes=n),
            )
    add_cluster_alert(live_app.engine)
    log_in(page, live_app, "mia")
    page.goto(f"{live_app.url}/")
    expect(page.locator("svg.chart").nth(2)).to_be_visible()
    expect(page.get_by_role("heading", name="Active alerts")).to_have_count(2)
    snapshot(page, "web-overview")

    page.goto(f"{live_app.url}/mentions")
    page.get_by_label("Search").fill("cracked")
    page.get_by_label("Sentiment").select_option("neutral")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**/mentions?*")
    rows = page.locator("table.mentions tbody tr")
    expect(rows.first).to_be_visible()
    assert all("neutral" in text for text in rows.all_inner_texts())
    snapshot(page, "web-mentions")
    assert console == []


def test_acknowledge_an_alert(page: Any, live_app: LiveApp, console: list[str]) -> None:
    add_user(live_app.engine, "pat", "product")
    cluster_id, alert_id = add_cluster_alert(live_app.engine)
    log_in(page, live_app, "pat")
    page.goto(f"{live_app.url}/clusters")
    row = page.locator(f"tr[data-alert='{alert_id}']")
    assert "open" in row.inner_text()
    snapshot(page, "web-clusters")
    row.get_by_role("button", name="Acknowledge").click()
    page.wait_for_url(f"{live_app.url}/clusters/{cluster_id}?done=*")
    assert "acknowledge alert" in page.get_by_role("status").inner_text()
    expect(page.locator(f"tr[data-alert='{alert_id}']")).to_contain_text("acknowledged")
    # The rate per delivered unit over time, and the cluster's growth.
    expect(page.locator("svg.chart")).to_have_count(2)
    snapshot(page, "web-cluster")
    with Session(live_app.engine) as session:
        alert = session.get(Alert, alert_id)
        assert alert is not None
        assert (alert.status, alert.acted_by) == ("acknowledged", "pat")
        assert (
            session.exec(select(AuditEvent).where(AuditEvent.action == "alert.acknowledge"))
            .one()
            .actor
            == "pat"
        )
    assert console == []


def test_create_and_preview_a_campaign(page: Any, live_app: LiveApp, console: list[str]) -> None:
    add_user(live_app.engine, "mia", "marketer")
    add_order(live_app.engine, delivered_at=SENT - timedelta(days=2))
    log_in(page, live_app, "mia")
    page.goto(f"{live_app.url}/campaigns")
    page.get_by_role("link", name="New campaign").click()
    page.wait_for_url(f"{live_app.url}/campaigns/new*")
    page.get_by_label("Name").fill("first-buyers")
    page.get_by_label("Delay").fill("2d")
    page.get_by_label("Starts on").fill((SENT - timedelta(days=10)).date().isoformat())
    page.get_by_label("NPS (0-10)").check()
    page.get_by_label("Acme Tab 3").check()
    page.get_by_label("Buyers").select_option("first")
    snapshot(page, "web-campaign-form")
    page.get_by_role("button", name="Save and preview").click()
    page.wait_for_url(f"{live_app.url}/campaigns/first-buyers?saved=1")
    assert "Saved" in page.get_by_role("status").inner_text()
    summary = page.locator("#preview-summary").inner_text()
    assert "to send" in summary
    expect(page.locator("table.preview tbody tr")).to_have_count(1)
    snapshot(page, "web-campaign-preview")
    page.get_by_role("button", name="Pause").click()
    page.wait_for_url("**?changed=pause")
    expect(page.get_by_role("button", name="Resume")).to_be_visible()
    assert console == []


def test_answer_a_survey(page: Any, live_app: LiveApp, console: list[str]) -> None:
    order_id = add_order(live_app.engine, delivered_at=SENT - timedelta(days=3))
    assert run_campaigns(live_app.settings, live_app.engine, now=SENT).sent_total == 1
    page.goto(live_app.url + survey_path(live_app.engine, order_id))
    assert page.locator("html").get_attribute("lang") == "it"
    page.locator("input[name='csat'][value='2']").check()
    page.locator("input[name='nps'][value='4']").check()
    page.locator("textarea").fill("Il tablet è arrivato con lo schermo graffiato")
    snapshot(page, "web-survey")
    # The answer is stored before the server answers the form's POST.
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        page.locator("form button[type='submit']").first.click()
    assert posted.value.status in (200, 303), posted.value.status  # 303: post, then redirect
    page.wait_for_load_state()
    with Session(live_app.engine) as session:
        answer = session.exec(select(SurveyAnswer)).one()
    assert (answer.csat, answer.nps) == (2, 4)
    assert "graffiato" in (answer.comment or "")
    snapshot(page, "web-survey-thanks")
    assert console == []


def test_a_page_works_without_javascript(browser: Any, live_app: LiveApp) -> None:
    add_user(live_app.engine, "pat", "product")
    _, alert_id = add_cluster_alert(live_app.engine)
    context = browser.new_context(java_script_enabled=False)
    try:
        plain = context.new_page()
        log_in(plain, live_app, "pat")
        plain.goto(f"{live_app.url}/clusters")
        plain.locator(f"tr[data-alert='{alert_id}']").get_by_role(
            "button", name="Acknowledge"
        ).click()
        plain.wait_for_url("**/clusters/*?done=*")
    finally:
        context.close()
    with Session(live_app.engine) as session:
        alert = session.get(Alert, alert_id)
        assert alert is not None
        assert alert.status == "acknowledged"
