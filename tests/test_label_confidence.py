"""Labels the model is unsure of wait for a person: no draft, no defect cluster, listed to
check, until someone confirms or corrects them (`[classify] min_confidence`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from ascolto import settings as settings_module
from ascolto.cli import labels as cli_labels
from ascolto.database import prepare
from ascolto.settings import Settings, load_settings, use_settings
from outreach.drafting import draft_pending
from storage.classifications import to_check
from storage.defects import complaint_candidates
from storage.mention_search import MentionFilter, search_mentions
from storage.models import Draft
from tests.conftest import write_settings
from tests.factories import at
from tests.outreach.draft_factories import PRODUCT, add_mention
from tests.web.conftest import add_user

NOW = at(days=1)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Iterator[Settings]:
    body = (
        "[classify]\nmin_confidence = 0.7\n\n[outreach]\nenabled = true\n\n"
        f'[[products]]\nname = "{PRODUCT}"\n'
    )
    before = list(settings_module._current)
    try:
        yield use_settings(load_settings(write_settings(tmp_path / "s.toml", database_url, body)))
    finally:
        settings_module._current[:] = before


@pytest.fixture
def engine(settings: Settings) -> Engine:
    engine = prepare(settings)
    add_user(engine, "giulia", "agent")
    return engine


def drafted_mentions(engine: Engine) -> set[int]:
    with Session(engine) as session:
        return {d.mention_id for d in session.exec(select(Draft)).all() if d.mention_id}


def test_unsure_labels_wait_for_a_person_then_are_acted_on(
    engine: Engine, settings: Settings
) -> None:
    sure = add_mention(engine, handle="a", confidence=0.93, issues=("defect",))
    unsure = add_mention(
        engine, handle="b", confidence=0.55, issues=("defect",), text="Acme Tab 3... well. Hmm."
    )
    older_model = add_mention(engine, handle="c", confidence=None)

    draft_pending(settings, engine, now=NOW)
    assert drafted_mentions(engine) == {sure, older_model}
    with Session(engine) as session:
        assert [m.id for m, _ in to_check(session, min_confidence=0.7)] == [unsure]
        candidates = complaint_candidates(session, after=None, limit=50, min_confidence=0.7)
        clustered = {c.mention_id for c in candidates}
        assert unsure not in clustered
        assert sure in clustered
        listed = search_mentions(session, MentionFilter(unsure_below=0.7))
        assert [r.id for r in listed] == [unsure]

    listed_json = CliRunner().invoke(cli_labels.app, ["check", "--json"])
    assert listed_json.exit_code == 0, listed_json.output
    assert [row["mention_id"] for row in json.loads(listed_json.output)] == [unsure]

    # Confirming the model's own labels settles them: drafted on the next run.
    confirmed = CliRunner().invoke(
        cli_labels.app,
        ["correct", str(unsure), "--as", "giulia", "--complaint", "--sentiment", "negative"],
    )
    assert confirmed.exit_code == 0, confirmed.output
    with Session(engine) as session:
        assert to_check(session, min_confidence=0.7) == []
    draft_pending(settings, engine, now=NOW)
    assert unsure in drafted_mentions(engine)


def test_zero_acts_on_every_label(engine: Engine, settings: Settings) -> None:
    unsure = add_mention(engine, handle="b", confidence=0.2)
    acting = settings.model_copy(
        update={"classify": settings.classify.model_copy(update={"min_confidence": 0.0})}
    )
    draft_pending(acting, engine, now=NOW)
    assert unsure in drafted_mentions(engine)
    with Session(engine) as session:
        assert to_check(session, min_confidence=0.0) == []
