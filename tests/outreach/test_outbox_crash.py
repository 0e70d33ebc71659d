"""A sender killed between handing a message over and recording the outcome.

A real delivering process is started, the receiver takes the message and answers, and the
process is killed (SIGKILL) while the database refuses its write of the outcome: the
message was sent, and nothing says so. The next pass must not send it twice: an e-mail
ends `uncertain` for a person to check; a webhook or a Mastodon reply goes again with the
same Idempotency-Key, which the receiver drops as a repeat.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from outreach.outbox import deliver_due, retry
from storage.db import session_scope
from storage.models import AuditEvent
from tests.outreach.delivery import (
    MASTODON_STATUS,
    WEBHOOK_SECRET,
    add_message,
    delivery_toml,
    get,
    later,
    write_secret,
)
from tests.outreach.receivers import Answer, Receiver, receiver
from tests.smtpserver import smtp_server

DELIVER = """
import sys
from ascolto.database import engine_for
from ascolto.settings import load_settings
from outreach.outbox import deliver_due

settings = load_settings(sys.argv[1])
deliver_due(settings, engine_for(settings))
"""


@contextmanager
def outcome_blocked(engine: Engine, message_id: int) -> Iterator[None]:
    """Hold a lock that keeps any other connection from updating the message."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.execute(
                sa.text("SELECT id FROM outboxmessage WHERE id = :id FOR UPDATE"),
                {"id": message_id},
            )
        try:
            yield
        finally:
            conn.rollback()


def crash_after_the_answer(
    tmp_path: Path,
    engine: Engine,
    message_id: int,
    *,
    hold: threading.Event,
    arrived: threading.Event,
    answered: threading.Event,
) -> None:
    """Start a delivery pass in another process and kill it after the receiver answered,
    before it could record the outcome."""
    script = tmp_path / "deliver.py"
    script.write_text(DELIVER, encoding="utf-8")
    sender = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "settings.toml")],
        cwd=tmp_path,
        env=dict(os.environ),
    )
    try:
        assert arrived.wait(60), "the message never reached the receiver"
        claimed = get(engine, message_id)
        assert claimed.status == "sending"
        assert claimed.lease_owner is not None
        assert claimed.lease_owner.endswith(f":{sender.pid}")
        with outcome_blocked(engine, message_id):
            hold.set()
            assert answered.wait(60), "the receiver never answered"
            sender.send_signal(signal.SIGKILL)
            sender.wait(30)
    finally:
        if sender.poll() is None:
            sender.kill()
            sender.wait(30)
        hold.set()
    assert sender.returncode == -signal.SIGKILL
    assert get(engine, message_id).status == "sending"


def actions(engine: Engine, message_id: int) -> list[str]:
    with Session(engine) as session:
        rows = session.exec(
            select(AuditEvent)
            .where(AuditEvent.subject_type == "outbox_message")
            .where(AuditEvent.subject_id == str(message_id))
            .order_by(col(AuditEvent.id))
        ).all()
        return [row.action for row in rows]


def test_an_email_is_never_sent_twice_after_a_crash(
    make_settings: Any, engine: Engine, tmp_path: Path
) -> None:
    with smtp_server() as smtp:
        settings = make_settings(delivery_toml(smtp_port=smtp.port))
        message_id = add_message(engine, key="draft:12")
        smtp.behaviour.hold = threading.Event()
        crash_after_the_answer(
            tmp_path,
            engine,
            message_id,
            hold=smtp.behaviour.hold,
            arrived=smtp.behaviour.arrived,
            answered=smtp.behaviour.answered,
        )
        smtp.behaviour.hold = None

        report = deliver_due(settings, engine, now=later())
        assert (report.sent, report.uncertain, report.resumed) == (0, 1, 0)
        message = get(engine, message_id)
        assert (message.status, message.attempts) == ("uncertain", 1)
        assert "it may have arrived" in (message.last_error or "")
        assert f"ascolto outbox retry {message_id} --force" in (message.last_error or "")
        # Every later pass leaves it alone.
        assert deliver_due(settings, engine, now=later(days=30)).sent == 0
        assert len(smtp.received) == 1

        # Only a person who checked with the recipient sends it again.
        with session_scope(engine) as session:
            retry(session, message_id, force=True, actor="tom")
        assert deliver_due(settings, engine, now=later(days=30)).sent == 1
        assert len(smtp.received) == 2
    assert actions(engine, message_id) == ["outbox.uncertain", "outbox.retry", "outbox.sent"]


@pytest.fixture
def hook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    secrets = tmp_path / "secrets"
    write_secret(secrets, "ops_hook", WEBHOOK_SECRET)
    monkeypatch.setenv("ASCOLTO_SECRETS_DIR", str(secrets))
    with receiver() as running:
        yield running


def test_a_webhook_is_sent_again_with_the_same_key_after_a_crash(
    make_settings: Any, engine: Engine, tmp_path: Path, hook: Receiver
) -> None:
    settings = make_settings(delivery_toml(webhook_url=hook.url()))
    message_id = add_message(
        engine,
        key="alert:4:1:webhook:ops",
        channel="webhook",
        recipient="ops",
        kind="alert",
        text="7 complaints about the screen",
    )
    hook.hold = threading.Event()
    crash_after_the_answer(
        tmp_path,
        engine,
        message_id,
        hold=hook.hold,
        arrived=hook.arrived,
        answered=hook.answered,
    )
    hook.hold = None

    report = deliver_due(settings, engine, now=later())
    assert (report.resumed, report.sent, report.uncertain) == (1, 1, 0)
    sent = get(engine, message_id)
    assert (sent.status, sent.attempts) == ("sent", 2)
    first, second = hook.requests
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
    assert first.body == second.body
    # The receiver dropped the repeat: it acted on the message once.
    assert list(hook.delivered) == ["alert:4:1:webhook:ops"]
    assert deliver_due(settings, engine, now=later(days=30)).sent == 0
    assert len(hook.requests) == 2
    assert actions(engine, message_id) == ["outbox.sent"]


def test_a_mastodon_reply_is_sent_again_with_the_same_key_after_a_crash(
    make_settings: Any,
    engine: Engine,
    tmp_path: Path,
    hook: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    instance = hook.url("")
    host = instance.removeprefix("http://")
    monkeypatch.setenv("ASCOLTO_SECRET_ACME_MASTODON", "token-123")
    # Mastodon answers a repeated Idempotency-Key with the status the first request made.
    hook.script(Answer(200, MASTODON_STATUS, headers={"Content-Type": "application/json"}))
    settings = make_settings(
        delivery_toml(delivery=f'mastodon_tokens = {{ "{host}" = "acme_mastodon" }}\n')
    )
    message_id = add_message(
        engine,
        key="draft:31",
        channel="mastodon",
        recipient="@giulia@mastodon.example",
        kind="reply",
        text="@giulia ciao, ci dispiace: scrivici in privato.",
        payload={"instance": instance, "in_reply_to_id": "113502871120334455"},
    )
    hook.hold = threading.Event()
    crash_after_the_answer(
        tmp_path,
        engine,
        message_id,
        hold=hook.hold,
        arrived=hook.arrived,
        answered=hook.answered,
    )
    hook.hold = None

    report = deliver_due(settings, engine, now=later())
    assert (report.resumed, report.sent) == (1, 1)
    sent = get(engine, message_id)
    assert (sent.status, sent.remote_id) == ("sent", "113502938475610234")
    assert [r.headers["Idempotency-Key"] for r in hook.requests] == ["draft:31", "draft:31"]
    assert list(hook.delivered) == ["draft:31"]
