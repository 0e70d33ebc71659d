"""`ascolto labels` on a real database: show, correct, list the corrections, undo one.

The sub-commands run in this process; one run goes through `python -m ascolto` to check
that a bad label ends with its message and exit code 2.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner, Result

from ascolto import settings as settings_module
from ascolto.cli import labels as cli_labels
from ascolto.database import prepare
from ascolto.settings import Settings, load_settings, use_settings
from outreach.drafting import draft_for_mention
from storage.classifications import get_labels
from storage.db import session_scope
from storage.models import AuditEvent, Draft
from tests.conftest import write_settings
from tests.factories import at
from tests.outreach.draft_factories import PRODUCT, add_mention
from tests.web.conftest import add_user

ENTRY = (sys.executable, "-m", "ascolto")
# This checkout's code, whichever one the virtualenv has installed.
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def config(tmp_path: Path, sqlite_url: str) -> Path:
    body = f'[outreach]\nenabled = true\n\n[[products]]\nname = "{PRODUCT}"\n'
    return write_settings(tmp_path / "settings.toml", sqlite_url, body)


@pytest.fixture
def settings(config: Path) -> Iterator[Settings]:
    """These settings as the process-wide ones while the test runs."""
    before = list(settings_module._current)
    try:
        yield use_settings(load_settings(config))
    finally:
        settings_module._current[:] = before


@pytest.fixture
def engine(settings: Settings) -> Engine:
    engine = prepare(settings)
    add_user(engine, "giulia", "agent")
    add_user(engine, "pat", "product")
    return engine


def run(*args: str) -> Result:
    return CliRunner().invoke(cli_labels.app, list(args))


def test_correct_show_list_and_undo(engine: Engine, settings: Settings) -> None:
    mention_id = add_mention(engine)
    with session_scope(engine) as session:
        draft = draft_for_mention(session, settings, mention_id, now=at(days=1))
        assert draft is not None
        session.flush()
        draft_id = draft.id

    result = run(
        "correct", str(mention_id), "--as", "giulia", "--not-complaint", "--no-issues",
        "--sentiment", "positive", "--language", "it", "--product", PRODUCT.lower(),
        "--note", "sarcasm, not a complaint",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"mention {mention_id}: corrected" in result.output
    # Before and after, side by side, and who set each label.
    assert "negative" in result.output
    assert "positive" in result.output
    assert "giulia" in result.output
    assert f"draft {draft_id} withdrawn" in result.output
    with Session(engine) as session:
        labels = get_labels(session, mention_id=mention_id)
        assert labels is not None
        assert (labels.complaint, labels.issues, labels.sentiment, labels.language) == (
            False,
            [],
            "positive",
            "it",
        )
        assert labels.products == [PRODUCT]
        found = session.get(Draft, draft_id)
        assert found is not None
        assert found.status == "withdrawn"
        (event,) = session.exec(
            select(AuditEvent).where(AuditEvent.action == "labels.corrected")
        ).all()
        assert event.actor == "giulia"

    shown = run("show", str(mention_id))
    assert shown.exit_code == 0, shown.output
    assert "model" in shown.output
    assert "giulia" in shown.output

    listed = run("corrections", "--mention", str(mention_id), "--json")
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert {r["task"] for r in rows} == {"complaint", "issue", "sentiment", "language", "product"}
    assert {r["by"] for r in rows} == {"giulia"}
    sentiment = next(r for r in rows if r["task"] == "sentiment")
    assert sentiment["label"] == {"sentiment": "positive"}
    assert sentiment["note"] == "sarcasm, not a complaint"

    undone = run("undo", str(sentiment["id"]), "--by", "giulia")
    assert undone.exit_code == 0, undone.output
    assert f"correction {sentiment['id']} undone" in undone.output
    with Session(engine) as session:
        labels = get_labels(session, mention_id=mention_id)
        assert labels is not None
        assert labels.sentiment == "negative"
    table = run("corrections", "--all")
    assert table.exit_code == 0, table.output
    assert "undone by giulia" in table.output
    assert len(json.loads(run("corrections", "--json").output)) == 4


def test_refusals_say_why(engine: Engine, settings: Settings) -> None:
    mention_id = add_mention(engine)
    refused = run("correct", str(mention_id), "--as", "pat", "--sentiment", "neutral")
    assert refused.exit_code != 0
    assert "only agent, supervisor, admin correct labels" in str(refused.exception)
    nothing = run("correct", str(mention_id), "--as", "giulia")
    assert "nothing to correct" in str(nothing.exception)
    both = run("correct", str(mention_id), "--as", "giulia", "--issue", "defect", "--no-issues")
    assert "--issue and --no-issues contradict" in str(both.exception)


def test_a_bad_label_exits_2_with_its_message(engine: Engine, config: Path, tmp_path: Path) -> None:
    mention_id = add_mention(engine)
    env = {**os.environ, "ASCOLTO_CONFIG": str(config), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [*ENTRY, "labels", "correct", str(mention_id), "--as", "giulia", "--urgency", "urgent"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "urgency 'urgent': expected some of safety, legal, churn, press" in done.stderr
