"""Reports (CSAT, NPS, response rate with counts), CSV export and `ascolto campaigns`."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner, Result

from ascolto import settings as settings_module
from ascolto.cli import campaigns as cli_campaigns
from ascolto.settings import Settings, use_settings
from outreach.campaigns import figures, run_campaigns
from outreach.campaigns.definition import CampaignError, save_campaign, sync_campaigns
from outreach.campaigns.reports import week_of, write_csv
from storage.campaigns import ReportRow, report_rows
from storage.db import session_scope
from storage.models import AuditEvent, Campaign
from storage.orders import NewOrderLine
from tests.campaigns.conftest import (
    add_order,
    campaign_toml,
    checkins,
    setup_products,
)
from tests.campaigns.test_acting import answer

DUE = datetime(2026, 11, 6, 14, 0, tzinfo=UTC)


def row(
    n: int,
    *,
    csat: int | None = None,
    nps: int | None = None,
    answered: bool = True,
    campaign: str = "a",
    products: tuple[str, ...] = ("Tab",),
    week: int = 0,
) -> ReportRow:
    return ReportRow(
        checkin_id=n,
        campaign=campaign,
        sent_at=DUE + timedelta(weeks=week),
        products=products,
        csat=csat,
        nps=nps,
        answered=answered,
    )


def test_csat_nps_and_response_rate_come_with_their_counts() -> None:
    rows = [
        row(1, csat=5, nps=10),
        row(2, csat=4, nps=9),
        row(3, csat=3, nps=8),
        row(4, csat=2, nps=6),
        row(5, csat=1, nps=0),
        row(6, answered=False),
        row(7, answered=False),
        row(8, csat=5, nps=None),
    ]
    [group, total] = figures(rows, by="campaign")
    assert group.group == "a"
    assert total.group == "total"
    assert (total.sent, total.answered, total.response_rate) == (8, 6, 75.0)
    # CSAT: 4-5 among CSAT answers: 5, 4, 5 of 6.
    assert (total.csat_answers, total.csat) == (6, 50.0)
    # NPS: 2 promoters, 1 passive, 2 detractors of 5 answers: (2 - 2) / 5.
    assert (total.nps_answers, total.promoters, total.passives, total.detractors) == (5, 2, 1, 2)
    assert total.nps == 0.0


def test_nps_runs_from_minus_100_to_plus_100_and_is_empty_without_answers() -> None:
    assert figures([row(1, nps=10), row(2, nps=9)], by="campaign")[-1].nps == 100.0
    assert figures([row(1, nps=0), row(2, nps=6)], by="campaign")[-1].nps == -100.0
    empty = figures([row(1, answered=False)], by="campaign")[-1]
    assert (empty.csat, empty.nps, empty.response_rate) == (None, None, 0.0)
    assert figures([], by="campaign")[-1].response_rate is None


def test_groups_by_product_and_week_count_an_order_for_each_of_its_products() -> None:
    rows = [
        row(1, csat=5, products=("Tab", "Buds")),
        row(2, csat=1, products=("Buds",), week=1),
        row(3, answered=False, products=()),
    ]
    by_product = {f.group: f for f in figures(rows, by="product")}
    assert sorted(by_product) == ["(no product)", "Buds", "Tab", "total"]
    assert (by_product["Buds"].sent, by_product["Buds"].csat) == (2, 50.0)
    assert (by_product["Tab"].sent, by_product["Tab"].csat) == (1, 100.0)
    assert by_product["total"].sent == 3
    by_week = [f.group for f in figures(rows, by="week")]
    assert by_week == [week_of(DUE), week_of(DUE + timedelta(weeks=1)), "total"]
    assert week_of(DUE) == "2026-W45"


def test_the_csv_has_one_row_per_group_with_empty_cells_for_missing_figures() -> None:
    handle = io.StringIO()
    write_csv(handle, figures([row(1, csat=4), row(2, answered=False)], by="product"), by="product")
    lines = list(csv.DictReader(io.StringIO(handle.getvalue())))
    assert [line["product"] for line in lines] == ["Tab", "total"]
    assert lines[0]["response_rate"] == "50.0"
    assert lines[0]["csat"] == "100.0"
    assert lines[0]["nps"] == ""
    assert lines[0]["csat_answers"] == "1"


@pytest.fixture
def current(campaign_settings: Callable[..., Settings]) -> Iterator[Callable[..., Settings]]:
    """Build settings and make them the process-wide ones, as the command line reads them."""
    before = list(settings_module._current)

    def build(*campaigns: str, extra: str = "") -> Settings:
        return use_settings(campaign_settings(*campaigns, extra=extra))

    try:
        yield build
    finally:
        settings_module._current[:] = before


def run(*args: str) -> Result:
    return CliRunner().invoke(cli_campaigns.app, list(args))


def test_the_report_from_storage_and_its_csv_on_the_command_line(
    current: Callable[..., Settings], engine: Engine, tmp_path: Path
) -> None:
    settings = current(
        campaign_toml(starts_on="2026-11-01", survey=["csat", "nps"]),
        extra="[classify]\nenabled = false\n\n",
    )
    setup_products(engine, settings)
    tab = [add_order(engine) for _ in range(3)]
    buds = add_order(engine, lines=[NewOrderLine("BUDS", "Acme Buds", 1, None)])
    assert run_campaigns(settings, engine, now=DUE).sent_total == 4
    answer(engine, tab[0], csat=5, nps=10)
    answer(engine, tab[1], csat=2, nps=3)
    answer(engine, buds, csat=4, nps=9)

    with Session(engine) as session:
        stored = report_rows(session)
    by_product = {f.group: f for f in figures(stored, by="product")}
    # Nothing was delivered yet: the two answers prove theirs arrived, the third waits.
    tab3 = by_product["Acme Tab 3"]
    assert (tab3.sent, tab3.queued, tab3.answered, tab3.response_rate) == (2, 1, 2, 100.0)
    assert by_product["Acme Tab 3"].csat == 50.0
    assert by_product["Acme Buds"].nps == 100.0
    assert by_product["total"].nps == pytest.approx(33.3)

    out = tmp_path / "report.csv"
    result = run("report", "--by", "product", "--csv", str(out))
    assert result.exit_code == 0, result.output
    assert "Acme Tab 3" in result.output
    # Acme Tab 3: 2 answers of 2 delivered, 1 queued, none failed or uncertain.
    assert "1/0/0" in result.output
    lines = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [line["product"] for line in lines] == ["Acme Buds", "Acme Tab 3", "total"]
    assert (lines[2]["sent"], lines[2]["queued"], lines[2]["failed"]) == ("3", "1", "0")
    assert lines[2]["answered"] == "3"
    assert lines[2]["nps_answers"] == "3"

    assert run("report", "--by", "colour").exit_code == 2
    week = run("report", "--by", "week", "--since", "2026-11-09")
    assert week.exit_code == 0
    assert "2026-W45" not in week.output


def test_list_preview_pause_and_resume_on_the_command_line(
    current: Callable[..., Settings], engine: Engine
) -> None:
    settings = current(campaign_toml(starts_on="2026-11-01"))
    add_order(engine, email="yes@example.com")
    add_order(engine, email="no@example.com", consent=False)

    listed = run("list")
    assert listed.exit_code == 0, listed.output
    assert "after-delivery" in listed.output
    assert "active" in listed.output

    shown = run("preview", "after-delivery", "--at", "2026-11-05T12:00")
    assert shown.exit_code == 0, shown.output
    assert "1 would get a check-in, 1 would not" in shown.output
    assert "no_consent 1" in shown.output
    as_json = [
        json.loads(line)
        for line in run(
            "preview", "after-delivery", "--json", "--at", "2026-11-05T12:00"
        ).stdout.splitlines()
    ]
    assert sorted((e["customer"], e["outcome"], e["reason"]) for e in as_json) == [
        ("no@example.com", "skip", "no_consent"),
        ("yes@example.com", "send", None),
    ]
    assert checkins(engine) == []  # the preview writes nothing
    assert run("preview", "nope").exit_code == 2

    paused = run("pause", "after-delivery", "--as", "sara")
    assert paused.exit_code == 0
    assert "campaign after-delivery paused" in paused.output
    assert "paused by sara" in run("list").output
    assert run_campaigns(settings, engine, now=DUE).sent_total == 0
    assert "already paused" in run("pause", "after-delivery").output
    resumed = run("resume", "after-delivery", "--as", "sara")
    assert resumed.exit_code == 0
    assert run_campaigns(settings, engine, now=DUE).sent_total == 1
    with Session(engine) as session:
        actions = [e.action for e in session.exec(select(AuditEvent)) if e.actor == "sara"]
    assert actions == ["campaign.paused", "campaign.resumed"]
    assert run("pause", "nope").exit_code == 2


def test_a_campaign_saved_through_the_service_runs_beside_the_settings_ones(
    campaign_settings: Callable[..., Settings], engine: Engine
) -> None:
    settings = campaign_settings(campaign_toml(starts_on="2026-11-01"))
    setup_products(engine, settings)
    order_id = add_order(engine, email="both@example.com")
    with session_scope(engine) as session:
        saved = save_campaign(
            session,
            settings,
            {
                "name": "tab-owners",
                "trigger": "shipped",
                "delay": "4d",
                "products": ["Acme Tab 3"],
                "starts_on": "2026-11-01",
                "contact_gap_days": 0,
            },
            by="sara",
        )
        assert saved.config.trigger == "shipped"
        with pytest.raises(CampaignError, match="defined in the settings file"):
            save_campaign(session, settings, {"name": "after-delivery"}, by="sara")
        with pytest.raises(CampaignError, match="unknown product 'Acme Phone'"):
            save_campaign(session, settings, {"name": "x", "products": ["Acme Phone"]}, by="s")
        with pytest.raises(CampaignError, match="delay"):
            save_campaign(session, settings, {"name": "y", "delay": "soon"}, by="sara")
        # Syncing the settings keeps it: it is not theirs to retire.
        names = sorted(c.name for c in sync_campaigns(session, settings))
        assert names == ["after-delivery", "tab-owners"]
    with session_scope(engine) as session:
        save_campaign(
            session,
            settings,
            {
                "name": "tab-owners",
                "trigger": "shipped",
                "delay": "3d",
                "starts_on": "2026-11-01",
                "contact_gap_days": 0,
            },
            by="sara",
        )
    run_campaigns(settings, engine, now=DUE)
    assert sorted(c.campaign_id for c in checkins(engine) if c.order_id == order_id) == [1, 2]
    with Session(engine) as session:
        stored = session.exec(select(Campaign).where(Campaign.name == "tab-owners")).one()
        assert (stored.origin, stored.active, stored.definition["delay"]) == ("app", True, "3d")
        actions = [e.action for e in session.exec(select(AuditEvent)) if e.actor == "sara"]
    assert actions == ["campaign.created", "campaign.updated"]
