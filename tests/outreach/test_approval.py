"""Approval without edit, measured from what agents really did in the review queue: the
report, the command line and the web page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from ascolto import settings as settings_module
from ascolto.cli import drafts as cli_drafts
from ascolto.database import prepare
from ascolto.review.queue import Reviewer, Reviewing, reject
from ascolto.settings import Settings, use_settings
from ascolto.web.app import create_app
from outreach.approval import approval_report, edit_share
from outreach.drafting import draft_for_mention
from storage.db import session_scope
from storage.models import Draft
from storage.types import utcnow
from tests.outreach.draft_factories import add_mention, add_order, settings_for
from tests.web.conftest import add_user, sign_in

TOM = Reviewer("tom", "agent")
SAM = Reviewer("sam", "supervisor")


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Iterator[Settings]:
    before = list(settings_module._current)
    try:
        yield use_settings(settings_for(tmp_path, database_url))
    finally:
        settings_module._current[:] = before


@pytest.fixture
def engine(settings: Settings) -> Engine:
    engine = prepare(settings)
    add_user(engine, "tom", "agent")
    add_user(engine, "sam", "supervisor")
    return engine


def drafted(engine: Engine, settings: Settings, handle: str, text: str, **labels: object) -> int:
    mention_id = add_mention(engine, handle=handle, text=text, **labels)  # type: ignore[arg-type]
    with session_scope(engine) as session:
        draft = draft_for_mention(session, settings, mention_id, now=utcnow() - timedelta(hours=2))
        assert draft is not None
        session.flush()
        return draft.id or 0


def text_of(engine: Engine, draft_id: int) -> str:
    with session_scope(engine) as session:
        draft = session.get(Draft, draft_id)
        assert draft is not None
        return draft.text


@pytest.fixture
def decided(engine: Engine, settings: Settings) -> dict[str, int]:
    """Four drafts an agent and a supervisor decided on, one of each outcome, and one the
    policy blocked (not an agent's decision)."""
    reviewing = Reviewing(settings)
    ids = {
        name: drafted(engine, settings, name, f"My Acme Tab 3 still hasn't arrived ({name})")
        for name in ("unedited", "light", "rewritten", "rejected")
    }
    add_order(engine, handles=(("reddit", "blocked"),), do_not_contact=True)
    ids["blocked"] = drafted(engine, settings, "blocked", "Where is my Acme Tab 3?")
    now = utcnow()
    with session_scope(engine) as session:
        assert reviewing.approve(session, ids["unedited"], reviewer=TOM, now=now).done
        light = text_of(engine, ids["light"]).replace("within 24 hours", "within a day")
        reviewing.edit(session, ids["light"], reviewer=TOM, text=light, now=now)
        assert reviewing.approve(session, ids["light"], reviewer=TOM, now=now).done
        rewrite = "Hello! Could you send us a direct message? We'd like to look into it.\n\nAcme"
        reviewing.edit(session, ids["rewritten"], reviewer=SAM, text=rewrite, now=now)
        assert reviewing.approve(session, ids["rewritten"], reviewer=SAM, now=now).done
        reject(session, ids["rejected"], reviewer=SAM, reason="wrong product", now=now)
    return ids


def test_edit_share_ignores_spacing_and_grows_with_the_change() -> None:
    assert edit_share("Hi Marco,\n\nsorry.", "Hi Marco, sorry.") == 0
    assert (
        0
        < edit_share(
            "We will look into it and reply within 24 hours.",
            "We will look into it and reply within 12 hours.",
        )
        <= 0.2
    )
    assert edit_share("We'll reply within 24 hours.", "Call us.") > 0.5


def test_every_decision_is_counted_once_by_what_became_of_the_draft(
    engine: Engine, decided: dict[str, int]
) -> None:
    now = utcnow()
    with session_scope(engine) as session:
        report = approval_report(session, since=now - timedelta(days=30), until=now)
    total = report.total
    assert (total.decided, total.unedited, total.light, total.rewritten, total.rejected) == (
        4,
        1,
        1,
        1,
        1,
    )
    assert total.unedited_rate == 25.0
    assert total.median_seconds is not None
    assert total.median_seconds > 0
    agents = {f.group: f for f in report.by["agent"]}
    assert (agents["tom"].decided, agents["tom"].unedited, agents["tom"].light) == (2, 1, 1)
    assert (agents["sam"].rewritten, agents["sam"].rejected) == (1, 1)
    assert [f.group for f in report.by["intent"]] == ["complaint_delivery", "total"]
    assert {f.group for f in report.by["language"]} == {"en", "total"}
    assert {f.group for f in report.by["template"]} == {
        "en/complaint_delivery.public.txt.j2",
        "total",
    }
    assert {f.group for f in report.by["channel"]} == {"manual", "total"}
    assert sum(w.decided for w in report.weeks) == 4


def test_the_command_line_shows_the_rates(
    engine: Engine, decided: dict[str, int], settings: Settings
) -> None:
    runner = CliRunner()
    shown = runner.invoke(cli_drafts.app, ["quality", "--by", "agent"])
    assert shown.exit_code == 0, shown.output
    assert "tom" in shown.output
    assert "sam" in shown.output
    assert "1 (25.0%)" in shown.output
    as_json = runner.invoke(cli_drafts.app, ["quality", "--json"])
    assert as_json.exit_code == 0, as_json.output
    assert '"unedited_rate": 25.0' in as_json.output
    wrong = runner.invoke(cli_drafts.app, ["quality", "--by", "colour"])
    assert wrong.exit_code == 2


def test_the_web_app_charts_the_rates_per_week(
    engine: Engine, decided: dict[str, int], settings: Settings
) -> None:
    with TestClient(create_app(settings, engine)) as client:
        sign_in(client, "tom")
        page = client.get("/drafts/quality?days=30")
        assert page.status_code == 200, page.text
        assert "<svg" in page.text
        assert "Drafts decided per week, by what agents did" in page.text
        assert "25.0%" in page.text
        assert "complaint_delivery" in page.text
        api = client.get("/api/v1/drafts/quality?days=30").json()
        assert api["total"]["decided"] == 4
        assert api["by"]["agent"][-1]["group"] == "total"
        assert client.get("/drafts/quality?days=0").status_code == 422


def test_what_agents_change_most_is_shown_per_template(
    engine: Engine, decided: dict[str, int], settings: Settings
) -> None:
    from outreach.approval import changes_of, common_edits
    from storage.draft_outcomes import decided_drafts

    assert changes_of("we reply within 24 hours.", "we reply within a day.") == {
        '"24 hours." → "a day."'
    }
    assert changes_of("Hi Sam, sorry.", "Hi Sam, so sorry.") == {'+ "so"'}
    with session_scope(engine) as session:
        rows = decided_drafts(session, since=utcnow() - timedelta(days=30))
    [template] = common_edits(rows)
    assert template.template == "en/complaint_delivery.public.txt.j2"
    assert template.edited == 2
    assert ('"24 hours." → "a day."', 1) in template.changes
    shown = CliRunner().invoke(cli_drafts.app, ["edits"])
    assert shown.exit_code == 0, shown.output
    assert "2 edited drafts" in shown.output


def test_no_revision_is_proposed_from_edits_that_differ(
    engine: Engine, decided: dict[str, int], settings: Settings
) -> None:
    shown = CliRunner().invoke(cli_drafts.app, ["propose"])
    assert shown.exit_code == 0, shown.output
    assert "no revision to propose" in shown.output
    refused = CliRunner().invoke(
        cli_drafts.app, ["propose", "--accept", "en/question.public.txt.j2", "--as", "tom"]
    )
    assert refused.exit_code == 2
