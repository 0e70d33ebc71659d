"""Erasing a person leaves no trace of them in a dump of the whole database (SQLite and
PostgreSQL), keeps everyone else and the figures; exporting them gives back every row."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select
from typer.testing import CliRunner

from ascolto.cli import app
from ascolto.database import prepare
from ascolto.privacy.erasure import PrivacyError, erase, erased, export, find, person_key
from ascolto.settings import Settings
from storage.models import (
    AuditEvent,
    Customer,
    DefectCluster,
    ErasedIdentity,
    Mention,
    MentionDay,
    OutboxMessage,
    SurveyAnswer,
)
from storage.privacy import row_dict
from tests.outreach.draft_factories import settings_for
from tests.privacy.world import SETTINGS, build, dump, traces


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return settings_for(tmp_path, database_url, SETTINGS)


@pytest.fixture
def engine(settings: Settings) -> Engine:
    return prepare(settings)


def figures(engine: Engine) -> dict[str, Any]:
    with Session(engine) as session:
        return {
            "mentions": session.exec(select(func.count()).select_from(Mention)).one(),
            "days": sorted(
                (str(d.day), d.sentiment, d.mentions) for d in session.exec(select(MentionDay))
            ),
            "answers": sorted((a.csat, a.nps) for a in session.exec(select(SurveyAnswer)).all()),
        }


def test_erasing_a_person_leaves_no_trace_in_the_database(
    settings: Settings, engine: Engine
) -> None:
    person, other = build(settings, engine)
    before = dump(engine)
    assert traces(before, person.needles()) == person.needles()  # the world holds them
    with Session(engine) as session:
        (cluster,) = session.exec(select(DefectCluster)).all()
        size_before = cluster.size
    counted = figures(engine)

    key = person_key(email=person.email)
    found = find(engine, key)
    for table in (
        "customer",
        "author",
        "mention",
        "order",
        "draft",
        "outboxmessage",
        "checkin",
        "surveyanswer",
        "unsubscribe",
        "labelledexample",
        "mentionembedding",
        "defectclustermember",
        "quarantineditem",
    ):
        assert found.counts.get(table), (table, found.counts)

    erase(settings, engine, key, actor="dpo")

    after = dump(engine)
    assert traces(after, person.needles()) == []
    # Everyone else stays, word for word.
    assert traces(after, other.needles()) == other.needles()
    # Figures keep their counts; the cluster loses the erased complaints.
    assert figures(engine) == counted
    with Session(engine) as session:
        (cluster,) = session.exec(select(DefectCluster)).all()
        assert cluster.size == size_before - len(person.mention_ids)
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "privacy.erased")).all()
        assert [(e.actor, e.subject_id, e.details) for e in events] == [("dpo", None, {})]
        assert session.exec(select(ErasedIdentity)).all()
        # Never contacted again: the address and the handle are known as erased.
        assert erased(session, settings, email=person.email.upper())
        assert erased(session, settings, platform="forum", handle=person.handle)
        assert not erased(session, settings, email=other.email)
        unsent = session.exec(
            select(OutboxMessage).where(col(OutboxMessage.recipient) == "erased")
        ).all()
        assert unsent
        assert all(m.status in ("cancelled", "sent") for m in unsent)
    assert find(engine, key).empty


def test_the_export_holds_every_row_that_mentions_the_person(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    person, other = build(settings, engine)
    document = export(engine, person_key(handle=f"forum:{person.handle}"), actor="dpo")
    text = json.dumps(document, ensure_ascii=False)
    assert traces(text, person.needles()) == person.needles()
    assert traces(text, other.needles()) == []

    # The reverse of the erasure test: every row whose columns name them is exported.
    exported = {
        (table, json.dumps(row, sort_keys=True, default=str))
        for table, rows in document["tables"].items()
        for row in rows
    }
    with Session(engine) as session:
        for model in SQLModel_tables():
            for row in session.exec(select(model)).all():
                values = row_dict(row)
                if traces(json.dumps(values, default=str), person.needles()):
                    table = model.__tablename__
                    if table in ("auditevent", "defectcluster", "alert"):
                        assert row.id in {r["id"] for r in document["quoted_in"][table]}
                        continue
                    dumped = json.dumps(values, sort_keys=True, default=str)
                    assert (table, dumped) in exported, (table, values)


def SQLModel_tables() -> list[Any]:
    from sqlmodel import SQLModel

    import storage.models as models

    return [
        m
        for m in vars(models).values()
        if isinstance(m, type) and issubclass(m, SQLModel) and hasattr(m, "__table__")
    ]


def test_the_command_line_shows_asks_and_erases(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    person, _other = build(settings, engine)
    runner = CliRunner()
    config = ["--config", str(tmp_path / "settings.toml")]
    shown = runner.invoke(app, [*config, "privacy", "erase", "--email", person.email], input="n\n")
    assert shown.exit_code == 1, shown.output
    assert "customer" in shown.output
    assert "nothing erased" in shown.output
    with Session(engine) as session:
        assert session.exec(select(Customer).where(Customer.email == person.email)).first()

    out = tmp_path / "export.json"
    exported = runner.invoke(
        app, [*config, "privacy", "export", "--customer", str(person.customer_id), "-o", str(out)]
    )
    assert exported.exit_code == 0, exported.output
    assert person.email in out.read_text(encoding="utf-8")

    done = runner.invoke(
        app, [*config, "privacy", "erase", "--handle", f"forum:{person.handle}", "--yes"]
    )
    assert done.exit_code == 0, done.output
    assert "erased:" in done.output
    with Session(engine) as session:
        assert not session.exec(select(Customer).where(Customer.email == person.email)).first()

    bad = runner.invoke(app, [*config, "privacy", "erase", "--handle", "nobody"])
    assert isinstance(bad.exception, PrivacyError)
    assert bad.exception.exit_code == 2
    assert "platform:handle" in str(bad.exception)
