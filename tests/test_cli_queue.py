"""`ascolto users` and `ascolto queue` on a real database.

The sub-commands run in this process (fast); one run goes through `python -m ascolto` to
check that a refused review action ends with its message and exit code.
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
from ascolto.auth import verify_password
from ascolto.cli import queue as cli_queue
from ascolto.cli import users as cli_users
from ascolto.database import prepare
from ascolto.settings import Settings, load_settings, use_settings
from outreach.drafting import draft_for_mention
from storage.db import session_scope
from storage.models import AuditEvent, Draft, OutboxMessage, User
from tests.conftest import write_settings
from tests.factories import at
from tests.outreach.draft_factories import add_mention

NOW = at(days=1)
PASSWORD = "a long enough password"
ENTRY = (sys.executable, "-m", "ascolto")


@pytest.fixture
def config(tmp_path: Path, sqlite_url: str) -> Path:
    return write_settings(tmp_path / "settings.toml", sqlite_url, "[outreach]\nenabled = true\n")


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
    return prepare(settings)


def run(app: object, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=stdin)  # type: ignore[arg-type]


def drafted(engine: Engine, settings: Settings, **mention: object) -> int:
    mention_id = add_mention(engine, **mention)  # type: ignore[arg-type]
    with session_scope(engine) as session:
        draft = draft_for_mention(session, settings, mention_id, now=NOW)
        assert draft is not None
        session.flush()
        return draft.id or 0


def test_users_add_list_passwd_disable(engine: Engine) -> None:
    added = run(cli_users.app, "add", "Tom", "--role", "agent", "--password-stdin", stdin=PASSWORD)
    assert added.exit_code == 0, added.output
    assert "added tom (agent)" in added.output
    run(cli_users.app, "add", "pat", "--role", "product", "--password-stdin", stdin=PASSWORD)

    again = run(cli_users.app, "add", "tom", "--password-stdin", stdin=PASSWORD)
    assert "already exists" in str(again.exception)
    weak = run(cli_users.app, "add", "ann", "--password-stdin", stdin="short")
    assert "too short" in str(weak.exception)
    role = run(cli_users.app, "add", "ann", "--role", "boss", "--password-stdin", stdin=PASSWORD)
    assert "expected one of agent, supervisor, product, marketer, admin" in str(role.exception)

    listed = run(cli_users.app, "list")
    assert listed.exit_code == 0
    assert "pat" in listed.output
    assert "product" in listed.output

    changed = run(cli_users.app, "passwd", "tom", "--password-stdin", stdin="another long one")
    assert changed.exit_code == 0, changed.output
    disabled = run(cli_users.app, "disable", "tom")
    assert disabled.exit_code == 0
    with Session(engine) as session:
        tom = session.exec(select(User).where(User.username == "tom")).one()
        actions = session.exec(select(AuditEvent.action).where(AuditEvent.actor == "cli")).all()
    assert not tom.active
    assert verify_password(tom.password_hash, "another long one")
    assert PASSWORD not in tom.password_hash
    assert "user.password_changed" in actions
    assert "user.disabled" in actions


def test_queue_list_show_edit_approve_reject_escalate(
    engine: Engine, settings: Settings, config: Path
) -> None:
    for name, role in (("tom", "agent"), ("pat", "marketer")):
        run(cli_users.app, "add", name, "--role", role, "--password-stdin", stdin=PASSWORD)
    plain = drafted(engine, settings, published_at=at(10), handle="a")
    other = drafted(engine, settings, published_at=at(20), handle="b")
    legal = drafted(engine, settings, published_at=at(30), handle="c", urgency=("legal",))
    later = drafted(engine, settings, published_at=at(40), handle="d")

    listed = run(cli_queue.app, "list", "--json")
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert [r["id"] for r in rows] == [legal, plain, other, later]
    assert rows[0]["urgency"] == ["legal"]
    assert rows[0]["status"] == "escalated"  # the policy sends legal threats to a supervisor

    shown = run(cli_queue.app, "show", str(plain))
    assert shown.exit_code == 0, shown.output
    assert "hasn't arrived" in shown.output
    assert "verdict" in shown.output

    edited = run(
        cli_queue.app, "edit", str(plain), "--as", "tom", "--text", "Sorry! Write to a@b.example"
    )
    assert edited.exit_code == 0, edited.output
    assert "edited and checked again: amend" in edited.output
    assert "personal_data" in edited.output

    approved = run(cli_queue.app, "approve", str(plain), "--as", "tom")
    assert approved.exit_code == 0, approved.output
    assert "approved: queued for" in approved.output
    repeated = run(cli_queue.app, "approve", str(plain), "--as", "tom")
    assert repeated.exit_code == 1
    assert "already approved by tom" in repeated.output

    rejected = run(cli_queue.app, "reject", str(other), "--as", "tom", "--reason", "spam")
    assert rejected.exit_code == 0, rejected.output
    escalated = run(cli_queue.app, "escalate", str(later), "--as", "tom", "--reason", "unsure")
    assert escalated.exit_code == 0, escalated.output
    refused = run(cli_queue.app, "approve", str(legal), "--as", "tom")
    assert refused.exit_code == 1
    assert "a supervisor must approve it" in refused.output

    with Session(engine) as session:
        keys = session.exec(select(OutboxMessage.key)).all()
        statuses = {d.id: d.status for d in session.exec(select(Draft)).all()}
    assert keys == [f"draft:{plain}"]
    assert statuses == {
        plain: "approved",
        other: "rejected",
        legal: "escalated",
        later: "escalated",
    }

    # Through the real entry point: a marketer may not review drafts (exit 2, with why).
    args = ["queue", "reject", str(legal), "--as", "pat", "--reason", "no"]
    done = subprocess.run(
        [*ENTRY, "--config", str(config), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "250"},
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "pat is marketer: only agent, supervisor, admin review drafts" in done.stderr


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({"LANG": "it_IT.UTF-8", "LC_ALL": ""}, "it"),
        ({"LANG": "en_GB.UTF-8", "LC_ALL": "", "LC_MESSAGES": "it_IT.UTF-8"}, "it"),
        ({"LANG": "C.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""}, "en"),
        ({"LANG": "fr_FR.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""}, "en"),
    ],
)
def test_the_queue_command_speaks_the_terminal_language(
    engine: Engine, settings: Settings, config: Path, environment: dict[str, str], expected: str
) -> None:
    draft_id = drafted(engine, settings, published_at=at(10), handle="a")
    done = subprocess.run(
        [*ENTRY, "--config", str(config), "queue", "show", str(draft_id)],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "250", **environment},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    if expected == "it":
        assert f"bozza {draft_id}" in done.stdout
        assert "etichette: urgenza" in done.stdout
        assert "verifica" in done.stdout
    else:
        assert f"draft {draft_id}" in done.stdout
        assert "labels: urgency" in done.stdout
