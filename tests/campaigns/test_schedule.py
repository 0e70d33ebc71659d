"""The campaigns step is scheduled also for campaigns that live only in the database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from ascolto.runtime.scheduler import CAMPAIGNS_JOB_ID, build_scheduler, sync_jobs
from ascolto.settings import Settings
from outreach.campaigns import run_campaigns
from outreach.campaigns.definition import save_campaign
from storage.db import session_scope
from tests.campaigns.conftest import add_order, campaign_toml, checkin_of, setup_products

DUE = datetime(2026, 11, 6, 14, 0, tzinfo=UTC)


def scheduled(settings: Settings, engine: Engine) -> bool:
    scheduler = build_scheduler(settings, engine, persistent=False)
    sync_jobs(scheduler, settings)
    return scheduler.get_job(CAMPAIGNS_JOB_ID) is not None


def test_the_step_runs_for_campaigns_saved_in_the_web_app(
    campaign_settings: Callable[..., Settings], engine: Engine
) -> None:
    # Neither a [[campaigns]] table nor delivery or drafting: nothing to run.
    assert not scheduled(campaign_settings(), engine)
    assert scheduled(campaign_settings(campaign_toml()), engine)
    settings = campaign_settings(extra="[delivery]\nenabled = true\n\n")
    assert scheduled(settings, engine)
    assert scheduled(campaign_settings(extra="[outreach]\nenabled = true\n\n"), engine)

    # What the scheduled step then does with a campaign only the database knows.
    setup_products(engine, settings)
    order_id = add_order(engine)
    with session_scope(engine) as session:
        save_campaign(
            session, settings, {"name": "from-the-app", "starts_on": "2026-11-01"}, by="sara"
        )
    assert run_campaigns(settings, engine, now=DUE).sent_total == 1
    assert checkin_of(engine, order_id).status == "sent"


def test_without_any_campaign_a_run_reports_no_problems(
    campaign_settings: Callable[..., Settings], engine: Engine
) -> None:
    settings = campaign_settings().model_copy(update={"secret_key": None})
    run = run_campaigns(settings, engine, now=DUE)
    assert (run.problems, run.planned, run.sent_total) == ([], {}, 0)
