"""Check-ins through the outbox to a real SMTP server, and a restart in the middle of a run.

The restart test runs a campaign in a separate process and kills it (SIGKILL) inside the
transaction of one check-in, after its e-mail was inserted in the outbox and before the
commit; the next run must send every check-in exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from ascolto.settings import Settings
from ascolto.web.app import create_app
from outreach.campaigns import run_campaigns
from outreach.campaigns.reports import figures
from outreach.outbox import deliver_due
from storage import outbox as outbox_store
from storage.campaigns import report_rows
from storage.db import session_scope
from tests.campaigns.conftest import (
    PUBLIC_URL,
    add_order,
    campaign_toml,
    checkin_of,
    checkins,
    outbox,
    setup_products,
    survey_path,
)
from tests.campaigns.test_acting import answer
from tests.outreach.delivery import delivery_toml, later
from tests.smtpserver import SmtpServer, smtp_server

DUE = datetime(2026, 11, 6, 14, 0, tzinfo=UTC)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def settings(campaign_settings: Callable[..., Settings], smtp: SmtpServer) -> Settings:
    return campaign_settings(
        campaign_toml(starts_on="2026-11-01", survey=["csat", "nps"]),
        extra=delivery_toml(smtp_port=smtp.port),
    )


def test_the_smtp_server_receives_each_check_in_once_in_the_customers_language(
    settings: Settings, engine: Engine, smtp: SmtpServer
) -> None:
    setup_products(engine, settings)
    italian = add_order(engine, email="marco@example.com", name="Marco Rossi")
    english = add_order(engine, email="jane@example.com", name="Jane Doe", language="en")
    assert run_campaigns(settings, engine, now=DUE).sent_total == 2
    # Running again, and delivering twice, sends nothing more.
    assert run_campaigns(settings, engine, now=DUE + timedelta(hours=1)).sent_total == 0
    assert deliver_due(settings, engine, now=later()).sent == 2
    assert deliver_due(settings, engine, now=later(hours=1)).sent == 0

    by_recipient = {r.rcpt_tos[0]: r.message for r in smtp.received}
    assert sorted(by_recipient) == ["jane@example.com", "marco@example.com"]
    assert len(smtp.received) == 2

    mail = by_recipient["marco@example.com"]
    assert mail["Subject"] == "Come ti trovi con Acme Tab 3?"
    unsubscribe = mail["List-Unsubscribe"]
    assert unsubscribe.startswith(f"<{PUBLIC_URL}/unsubscribe?token=")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert text is not None
    assert html is not None
    body = text.get_content()
    assert body.startswith("Ciao Marco,")
    assert PUBLIC_URL + survey_path(engine, italian) in body
    assert unsubscribe.strip("<>") in body
    # The HTML part offers each score as a link that opens the page with it chosen.
    page = html.get_content()
    assert f"{survey_path(engine, italian)}?nps=10" in page
    assert f"{survey_path(engine, italian)}?csat=1" in page

    english_mail = by_recipient["jane@example.com"]
    assert english_mail["Subject"] == "How is your new Acme Tab 3?"
    english_text = english_mail.get_body(("plain",))
    assert english_text is not None
    assert english_text.get_content().startswith("Hi Jane,")

    for order_id in (italian, english):
        checkin = checkin_of(engine, order_id)
        [message] = [m for m in outbox(engine) if m.key == f"checkin:{checkin.id}"]
        assert (checkin.status, checkin.outbox_id, message.status) == ("sent", message.id, "sent")

    # The link in the e-mail opens the survey.
    with TestClient(create_app(settings, engine)) as client:
        client.app.state.clock = lambda: DUE + timedelta(days=1)  # type: ignore[attr-defined]
        link = PUBLIC_URL + survey_path(engine, italian)
        assert link in body
        response = client.post(link.removeprefix(PUBLIC_URL), data={"csat": "4", "nps": "9"})
        assert response.status_code == 200
    assert checkin_of(engine, italian).status == "answered"


RUN = """
import os, signal, sys
from datetime import datetime
from sqlalchemy import event
from ascolto.database import engine_for
from ascolto.settings import load_settings
from outreach.campaigns import run_campaigns

settings = load_settings(sys.argv[1])
engine = engine_for(settings)
kill_at = int(sys.argv[3])
seen = 0


@event.listens_for(engine, "after_cursor_execute")
def crash(conn, cursor, statement, parameters, context, executemany):
    global seen
    if statement.lstrip().upper().startswith("INSERT INTO OUTBOXMESSAGE"):
        seen += 1
        if seen == kill_at:
            # Inside the check-in's transaction: the e-mail is inserted, not committed.
            os.kill(os.getpid(), signal.SIGKILL)


run_campaigns(settings, engine, now=datetime.fromisoformat(sys.argv[2]))
"""


def test_a_restart_in_the_middle_of_a_campaign_neither_doubles_nor_skips(
    settings: Settings, engine: Engine, smtp: SmtpServer, tmp_path: Path
) -> None:
    orders = [add_order(engine, email=f"buyer{n}@example.com") for n in range(6)]
    # Planned before: the killed run only sends.
    assert run_campaigns(settings, engine, now=DUE - timedelta(days=1)).planned == {
        "after-delivery": 6
    }
    script = tmp_path / "run.py"
    script.write_text(RUN, encoding="utf-8")
    killed = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "settings.toml"), DUE.isoformat(), "4"],
        cwd=Path(__file__).resolve().parents[2],
        env=dict(os.environ),
        timeout=120,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL
    statuses = [checkin_of(engine, o).status for o in orders]
    assert statuses == ["sent"] * 3 + ["scheduled"] * 3
    assert len(outbox(engine)) == 3

    # The restarted service carries on, an hour later, still inside the send window.
    run = run_campaigns(settings, engine, now=DUE + timedelta(hours=1))
    assert run.sent_total == 3
    assert run_campaigns(settings, engine, now=DUE + timedelta(hours=2)).sent_total == 0
    assert [c.status for c in checkins(engine)] == ["sent"] * 6
    keys = [m.key for m in outbox(engine)]
    assert sorted(keys) == sorted(f"checkin:{c.id}" for c in checkins(engine))

    assert deliver_due(settings, engine, now=later()).sent == 6
    received = sorted(r.rcpt_tos[0] for r in smtp.received)
    assert received == sorted(f"buyer{n}@example.com" for n in range(6))


def test_a_restart_in_the_middle_of_planning_plans_every_order_once(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    for n in range(5):
        add_order(engine, email=f"buyer{n}@example.com")
    script = tmp_path / "run.py"
    # Killed at its third check-in insert, in the middle of planning.
    script.write_text(RUN.replace("INSERT INTO OUTBOXMESSAGE", "INSERT INTO CHECKIN"), "utf-8")
    killed = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "settings.toml"), DUE.isoformat(), "3"],
        cwd=Path(__file__).resolve().parents[2],
        env=dict(os.environ),
        timeout=120,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL
    # PostgreSQL loses the whole planning transaction; SQLite keeps the check-ins stored
    # before the kill (each insert is its own savepoint there). Either way, no more.
    assert len(checkins(engine)) <= 2
    assert run_campaigns(settings, engine, now=DUE).sent_total == 5
    assert len({c.order_id for c in checkins(engine)}) == len(checkins(engine)) == 5


def test_reports_count_a_check_in_as_sent_only_once_its_e_mail_was_delivered(
    settings: Settings, engine: Engine, smtp: SmtpServer
) -> None:
    setup_products(engine, settings)
    orders = [add_order(engine, email=f"buyer{n}@example.com") for n in range(4)]
    assert run_campaigns(settings, engine, now=DUE).sent_total == 4
    order_of = {checkin_of(engine, o).outbox_id: o for o in orders}
    third = outbox(engine)[2].id

    assert deliver_due(settings, engine, now=later(), limit=1).sent == 1
    smtp.behaviour.rcpt_reply = "550 5.1.1 Recipient address rejected"
    assert deliver_due(settings, engine, now=later(), limit=1).failed == 1
    smtp.behaviour.rcpt_reply = None
    # A sender that claimed the third and stopped: it may or may not have arrived.
    with session_scope(engine) as session:
        claimed = outbox_store.claim(
            session, third or 0, owner="gone", now=later(), until=later(hours=1)
        )
        assert claimed is not None
    assert deliver_due(settings, engine, now=later(hours=2), limit=0).uncertain == 1

    def total() -> tuple[int, int, int, int, int, float | None]:
        with session_scope(engine) as session:
            t = figures(report_rows(session), by="campaign")[-1]
        return (t.sent, t.queued, t.failed, t.uncertain, t.answered, t.response_rate)

    # The fourth is still queued; none but the first reached its customer for sure.
    assert total() == (1, 1, 1, 1, 0, 0.0)
    # An answer proves the uncertain e-mail arrived.
    answer(engine, order_of[third], csat=5)
    assert total() == (2, 1, 1, 0, 1, 50.0)
    assert [m.status for m in outbox(engine)][:3] == ["sent", "failed", "uncertain"]
