"""First response time and time to resolution, recorded per mention from its own time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ascolto.auth import create_user
from ascolto.review.queue import Reviewer, Reviewing
from ascolto.settings import Settings
from outreach.drafting import draft_for_mention, draft_pending
from outreach.metrics import case_times, mark_resolved, percentile, response_metrics
from storage.db import session_scope
from storage.models import AuditEvent, CareCase
from tests.factories import at
from tests.outreach.draft_factories import add_mention, approve, drafts, settings_for

AGENT = Reviewer("tom", "agent")


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return settings_for(tmp_path, database_url)


def case(engine: Engine, mention_id: int) -> CareCase:
    with Session(engine) as session:
        return session.exec(select(CareCase).where(CareCase.mention_id == mention_id)).one()


def test_approval_records_the_first_response_and_resolution_stops_the_clock(
    engine: Engine, settings: Settings
) -> None:
    written = at(0)
    mention_id = add_mention(engine, published_at=written)
    with session_scope(engine) as session:
        made = draft_for_mention(session, settings, mention_id, now=at(minutes=5))
        assert made is not None
        session.flush()
        draft_id = made.id or 0
    opened = case(engine, mention_id)
    assert opened.opened_at == written
    assert opened.first_response_at is None

    with session_scope(engine) as session:
        decision = Reviewing(settings).approve(
            session, draft_id, reviewer=AGENT, now=at(hours=2, minutes=5)
        )
        assert decision.done, decision.message
    # Approving again is no second response.
    with session_scope(engine) as session:
        Reviewing(settings).approve(session, draft_id, reviewer=AGENT, now=at(hours=9))
    with session_scope(engine) as session:
        mark_resolved(
            session, mention_id=mention_id, by="tom", at=at(days=1), resolution="replaced"
        )
        mark_resolved(session, mention_id=mention_id, by="ada", at=at(days=3))

    times = case_times(case(engine, mention_id))
    assert times.first_response == timedelta(hours=2, minutes=5)
    assert times.resolution == timedelta(days=1)
    with Session(engine) as session:
        stored = session.exec(select(CareCase).where(CareCase.mention_id == mention_id)).one()
        assert (stored.resolved_by, stored.resolution) == ("tom", "replaced")
        events = session.exec(
            select(AuditEvent.actor, AuditEvent.action).where(AuditEvent.action == "case.resolved")
        ).all()
        assert events == [("tom", "case.resolved")]


def test_metrics_count_waiting_cases_but_time_only_answered_ones(
    engine: Engine, settings: Settings
) -> None:
    # Three complaints written an hour apart, answered 1 h, 3 h and never.
    ids = [
        add_mention(engine, text=f"Acme Tab 3 order {n} never came", published_at=at(hours=n))
        for n in range(3)
    ]
    assert draft_pending(settings, engine, now=at(hours=3)).drafted == 3
    by_mention = {d.mention_id: d.id or 0 for d in drafts(engine)}
    # Approved outside the queue's own function: the next drafting run records it.
    approve(engine, by_mention[ids[0]], at(hours=1))
    approve(engine, by_mention[ids[1]], at(hours=4))
    assert draft_pending(settings, engine, now=at(hours=5)).responses == 2
    with session_scope(engine) as session:
        mark_resolved(session, mention_id=ids[0], by="tom", at=at(hours=6))

    with Session(engine) as session:
        found = response_metrics(session, at(days=-1))
    assert (found.cases, found.responded, found.resolved) == (3, 2, 1)
    assert found.first_response_median == timedelta(hours=2)
    assert found.first_response_p90 == timedelta(hours=2, minutes=48)
    assert found.resolution_median == timedelta(hours=6)
    assert found.resolution_rate == pytest.approx(1 / 3)
    assert found.as_dict()["first_response_median_s"] == 7200

    with Session(engine) as session:
        assert response_metrics(session, at(hours=1, minutes=30)).cases == 1


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([10.0], 0.9) == 10.0
    assert percentile([0.0, 10.0], 0.5) == 5.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 0.9) == pytest.approx(3.7)
    with pytest.raises(ValueError):
        percentile([], 0.5)


def test_the_command_line_resolves_a_case_and_prints_the_metrics(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    mention_id = add_mention(engine)
    with session_scope(engine) as session:
        assert draft_for_mention(session, settings, mention_id) is not None
        create_user(session, username="tom", password="a long enough password", role="agent")

    def ascolto(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ascolto", *args],
            cwd=tmp_path,
            env={**os.environ, "COLUMNS": "200"},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    resolved = ascolto("cases", "resolve", str(mention_id), "--as", "tom", "--note", "refund")
    assert resolved.returncode == 0, resolved.stderr
    assert f"mention {mention_id}: resolved by tom" in resolved.stdout
    unknown = ascolto("cases", "resolve", "999999", "--as", "tom")
    assert unknown.returncode == 2
    assert "has no care case" in unknown.stderr + unknown.stdout

    shown = ascolto("cases", "metrics", "--days", "36500", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["resolved"] == 1
