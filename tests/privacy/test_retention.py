"""Retention: past their age, people's words and addresses go and the figures stay."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from ascolto.database import prepare
from ascolto.privacy.retention import apply_retention
from ascolto.settings import Settings
from outreach.outbox import cancel
from storage.dashboard import counted_per_day, mentions_per_day
from storage.db import session_scope
from storage.models import (
    AuditEvent,
    Author,
    Draft,
    Mention,
    OutboxMessage,
    QuarantinedItem,
    SurveyAnswer,
)
from tests.factories import T0, at
from tests.outreach.draft_factories import settings_for
from tests.privacy.world import SETTINGS, build, dump, traces


def make(tmp_path: Path, database_url: str, privacy: str = "") -> tuple[Settings, Engine]:
    settings = settings_for(tmp_path, database_url, SETTINGS + "[privacy]\n" + privacy)
    return settings, prepare(settings)


def figures(engine: Engine) -> dict[str, Any]:
    with Session(engine) as session:
        since = T0.replace(day=1)
        return {
            "per day": mentions_per_day(session, since=since),
            "per source": mentions_per_day(session, since=since, by="source"),
            "mentions": session.exec(select(func.count()).select_from(Mention)).one(),
            "scores": sorted((a.csat, a.nps) for a in session.exec(select(SurveyAnswer))),
            "drafts": sorted((d.status, d.template) for d in session.exec(select(Draft))),
            "outbox": sorted((m.status, m.kind) for m in session.exec(select(OutboxMessage))),
        }


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_past_every_age_people_go_and_figures_stay(tmp_path: Path, database_url: str) -> None:
    settings, engine = make(tmp_path, database_url)
    person, other = build(settings, engine)
    texts = [t for p in (person, other) for t in p.texts]
    with session_scope(engine) as session:
        for message in session.exec(select(OutboxMessage)).all():
            cancel(session, message.id or 0, actor="tom", reason="sent by hand")
    before = figures(engine)
    assert traces(dump(engine), texts) == texts

    # A month on, nothing is old enough yet.
    early = apply_retention(settings, engine, now=at(days=30))
    assert early.done == {}
    report = apply_retention(settings, engine, now=at(days=800))
    assert report.done["mentions"] == 8
    assert {"outbox messages", "survey comments", "logs"} <= set(report.done)

    assert figures(engine) == before
    with Session(engine) as session:
        assert mentions_per_day(session, since=T0.replace(day=1)) == counted_per_day(
            session, since=T0.replace(day=1)
        )
        assert all(m.text == "" and m.author_id is None for m in session.exec(select(Mention)))
        assert all(d.text == "" and d.recipient is None for d in session.exec(select(Draft)))
        assert all(m.text == "" for m in session.exec(select(OutboxMessage)))
        assert session.exec(select(QuarantinedItem)).all() == []
        # Authors who are customers stay linked to them; the others are gone.
        assert {a.handle for a in session.exec(select(Author))} == {person.handle, other.handle}
        events = session.exec(select(AuditEvent)).all()
        assert [e.details for e in events if e.action != "privacy.retention"] == [{}] * (
            len(events) - 1
        )
    assert traces(dump(engine), texts) == []
    # A second run finds nothing left but the first run's own audit details (its counts).
    assert apply_retention(settings, engine, now=at(days=800)).done == {"logs": 1}


def test_a_source_can_keep_its_mentions_for_less(tmp_path: Path, sqlite_url: str) -> None:
    settings, engine = make(tmp_path, sqlite_url, "source_mention_days = { forum = 30 }\n")
    build(settings, engine)
    report = apply_retention(settings, engine, now=at(days=40))
    assert report.done == {"mentions": 8, "authors": 4}
    with Session(engine) as session:
        assert all(m.withdrawn_at is not None for m in session.exec(select(Mention)))
        comments = [a.comment for a in session.exec(select(SurveyAnswer))]
    assert all(comments)
