"""The outbox: idempotent enqueueing, claims, retries with backoff, visible failures."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from outreach.outbox import OutboxError, cancel, deliver_due, enqueue, retry
from storage import outbox as store
from storage.db import session_scope
from storage.models import AuditEvent, Draft, OutboxMessage
from storage.types import utcnow
from tests.outreach.delivery import (
    WEBHOOK_SECRET,
    add_message,
    delivery_toml,
    get,
    later,
    write_secret,
)
from tests.outreach.receivers import Answer, Receiver, receiver


@pytest.fixture
def hook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A webhook receiver and the secrets directory holding its signing secret."""
    secrets = tmp_path / "secrets"
    write_secret(secrets, "ops_hook", WEBHOOK_SECRET)
    monkeypatch.setenv("ASCOLTO_SECRETS_DIR", str(secrets))
    with receiver() as running:
        yield running


def webhook_message(engine: Engine, **overrides: Any) -> int:
    values = {"channel": "webhook", "recipient": "ops", "kind": "alert", "payload": {"n": 1}}
    return add_message(engine, **{**values, **overrides})


def audit_actions(engine: Engine, message_id: int) -> list[str]:
    with Session(engine) as session:
        rows = session.exec(
            select(AuditEvent)
            .where(AuditEvent.subject_type == "outbox_message")
            .where(AuditEvent.subject_id == str(message_id))
            .order_by(AuditEvent.id)  # type: ignore[arg-type]
        ).all()
        return [row.action for row in rows]


def test_enqueue_is_idempotent_on_the_key(engine: Engine) -> None:
    first = add_message(engine, key="reply:mention:7", text="first text")
    again = add_message(engine, key="reply:mention:7", text="a different text")
    assert again == first
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage)).all()
    assert [(m.key, m.text, m.status, m.attempts) for m in rows] == [
        ("reply:mention:7", "first text", "pending", 0)
    ]


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"channel": "carrier-pigeon"}, "unknown channel 'carrier-pigeon'; known channels: "),
        ({"recipient": "not an address"}, "is not an e-mail address"),
        ({"recipient": "a@example.com\r\nBcc: all@example.com"}, "is not an e-mail address"),
        ({"subject": "Hi\r\nBcc: all@example.com"}, "the subject holds a line break"),
        ({"headers": {"X-Note": "a\nBcc: x@example.com"}}, "holds a line break"),
        ({"headers": {"From": "ceo@example.com"}}, "header From is set by the channel"),
        ({"channel": "manual", "recipient": "@giulia"}, "in_reply_to_url must link"),
        (
            {"channel": "manual", "payload": {"in_reply_to_url": "javascript:alert(1)"}},
            "in_reply_to_url must link",
        ),
        ({"channel": "mastodon", "payload": {"in_reply_to_id": "1"}}, "payload.instance"),
        ({"key": ""}, "idempotency key must have 1 to 300 characters"),
        ({"key": "k" * 301}, "idempotency key must have 1 to 300 characters"),
    ],
)
def test_enqueue_refuses_what_could_never_be_sent(
    engine: Engine, overrides: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ValueError, match=None) as caught:
        add_message(engine, **overrides)
    assert problem in str(caught.value)
    with Session(engine) as session:
        assert session.exec(select(OutboxMessage)).all() == []


def test_a_due_message_is_claimed_by_one_sender_only(engine: Engine) -> None:
    message_id = add_message(engine, channel="manual", payload={"in_reply_to_url": "https://x.y/1"})
    now = utcnow()
    until = now + timedelta(minutes=5)
    with session_scope(engine) as first, session_scope(engine) as second:
        assert store.claim(first, message_id, owner="tests:a", now=now, until=until) is not None
        first.commit()
        assert store.claim(second, message_id, owner="tests:b", now=now, until=until) is None
    claimed = get(engine, message_id)
    assert (claimed.status, claimed.lease_owner, claimed.attempts) == ("sending", "tests:a", 1)


def test_a_live_claim_of_another_sender_is_left_alone(make_settings: Any, engine: Engine) -> None:
    settings = make_settings(delivery_toml())
    message_id = add_message(engine, channel="manual", payload={"in_reply_to_url": "https://x.y/1"})
    now = utcnow()
    with session_scope(engine) as session:
        store.claim(
            session, message_id, owner="tests:worker", now=now, until=now + timedelta(minutes=5)
        )
    report = deliver_due(settings, engine, now=now + timedelta(minutes=1))
    assert (report.sent, report.resumed, report.uncertain) == (0, 0, 0)
    assert get(engine, message_id).status == "sending"


def test_retry_on_500_then_success_with_the_same_key(
    make_settings: Any, engine: Engine, hook: Receiver
) -> None:
    settings = make_settings(delivery_toml(webhook_url=hook.url()))
    hook.script(Answer(500, b"upstream down"), Answer(200))
    message_id = webhook_message(engine, key="alert:1:1:webhook:ops")
    first_pass = later()

    report = deliver_due(settings, engine, now=first_pass)
    assert (report.sent, report.retrying, report.failed) == (0, 1, 0)
    waiting = get(engine, message_id)
    assert waiting.status == "pending"
    assert waiting.attempts == 1
    assert waiting.next_attempt_at == first_pass + timedelta(seconds=60)
    assert "answered HTTP 500: upstream down" in (waiting.last_error or "")

    # Not due yet: nothing is sent before the backoff has passed.
    assert deliver_due(settings, engine, now=first_pass + timedelta(seconds=59)).sent == 0
    assert len(hook.requests) == 1

    report = deliver_due(settings, engine, now=first_pass + timedelta(seconds=60))
    assert report.sent == 1
    sent = get(engine, message_id)
    assert (sent.status, sent.attempts, sent.last_error) == ("sent", 2, None)
    assert sent.sent_at == first_pass + timedelta(seconds=60)
    keys = [r.headers["Idempotency-Key"] for r in hook.requests]
    assert keys == ["alert:1:1:webhook:ops", "alert:1:1:webhook:ops"]
    assert hook.requests[0].body == hook.requests[1].body
    assert audit_actions(engine, message_id) == ["outbox.sent"]
    # Delivered messages are never sent again.
    assert deliver_due(settings, engine, now=later(days=30)).sent == 0
    assert len(hook.requests) == 2


def test_backoff_doubles_until_the_last_attempt_fails_visibly(
    make_settings: Any, engine: Engine, hook: Receiver
) -> None:
    settings = make_settings(delivery_toml(webhook_url=hook.url(), delivery="max_attempts = 4\n"))
    hook.script(Answer(503, b"maintenance"))
    message_id = webhook_message(engine)
    now = later()
    waits = []
    for _ in range(3):
        deliver_due(settings, engine, now=now)
        message = get(engine, message_id)
        assert message.status == "pending"
        waits.append((message.next_attempt_at - now).total_seconds())
        now = message.next_attempt_at
    assert waits == [60, 120, 240]

    report = deliver_due(settings, engine, now=now)
    assert report.failed == 1
    failed = get(engine, message_id)
    assert failed.status == "failed"
    assert failed.attempts == 4
    assert failed.last_error == (
        "gave up after 4 attempt(s): webhook of team ops answered HTTP 503: maintenance"
    )
    assert audit_actions(engine, message_id) == ["outbox.failed"]
    assert deliver_due(settings, engine, now=later(days=30)).failed == 0
    assert len(hook.requests) == 4


def test_backoff_is_capped(make_settings: Any, engine: Engine, hook: Receiver) -> None:
    settings = make_settings(
        delivery_toml(webhook_url=hook.url(), delivery="max_attempts = 20\nmax_backoff = 200\n")
    )
    hook.script(Answer(502))
    message_id = webhook_message(engine)
    now = later()
    for _ in range(5):
        deliver_due(settings, engine, now=now)
        now = get(engine, message_id).next_attempt_at
    message = get(engine, message_id)
    assert message.attempts == 5
    assert (message.next_attempt_at - message.updated_at).total_seconds() == 200


def test_permanent_errors_fail_at_once(make_settings: Any, engine: Engine, hook: Receiver) -> None:
    settings = make_settings(delivery_toml(webhook_url=hook.url()))
    hook.script(Answer(400, b'{"error": "unknown field"}'))
    message_id = webhook_message(engine)
    report = deliver_due(settings, engine, now=later())
    assert report.failed == 1
    assert not report.ok
    failed = get(engine, message_id)
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert failed.last_error == 'webhook of team ops answered HTTP 400: {"error": "unknown field"}'
    assert report.problems == [f"message {message_id} (webhook): {failed.last_error}"]
    deliver_due(settings, engine, now=later(days=1))
    assert len(hook.requests) == 1


@pytest.mark.parametrize("status", [408, 429])
def test_timeouts_and_rate_limits_are_retried(
    make_settings: Any, engine: Engine, hook: Receiver, status: int
) -> None:
    settings = make_settings(delivery_toml(webhook_url=hook.url()))
    hook.script(Answer(status, headers={"Retry-After": "7200"}), Answer(200))
    message_id = webhook_message(engine)
    now = later()
    deliver_due(settings, engine, now=now)
    waiting = get(engine, message_id)
    assert waiting.status == "pending"
    # The receiver's Retry-After wins over the shorter backoff.
    assert waiting.next_attempt_at == now + timedelta(seconds=7200)
    deliver_due(settings, engine, now=waiting.next_attempt_at)
    assert get(engine, message_id).status == "sent"


def test_a_missing_secret_fails_with_a_reason_and_can_be_retried(
    make_settings: Any, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with receiver() as hook:
        settings = make_settings(delivery_toml(webhook_url=hook.url()))
        message_id = webhook_message(engine)
        deliver_due(settings, engine, now=later())
        failed = get(engine, message_id)
        assert failed.status == "failed"
        assert failed.last_error == (
            "webhook of team ops: secret 'ops_hook' is not set (ASCOLTO_SECRET_OPS_HOOK or a "
            "file 'ops_hook' in ASCOLTO_SECRETS_DIR)"
        )
        assert hook.requests == []

        # Fixed by a person, then retried: the environment is read at send time.
        monkeypatch.setenv("ASCOLTO_SECRET_OPS_HOOK", WEBHOOK_SECRET)
        with session_scope(engine) as session:
            retry(session, message_id)
        deliver_due(settings, engine, now=later(hours=1))
        assert get(engine, message_id).status == "sent"
        request = hook.requests[0]
        stamp, signature = (
            p.split("=", 1)[1] for p in request.headers["X-Ascolto-Signature"].split(",")
        )
        expected = hmac.new(
            WEBHOOK_SECRET.encode(), stamp.encode() + b"." + request.body, hashlib.sha256
        ).hexdigest()
        assert signature == expected
    assert audit_actions(engine, message_id) == ["outbox.failed", "outbox.retry", "outbox.sent"]


def test_messages_of_a_channel_that_cannot_send_wait_without_using_attempts(
    make_settings: Any, engine: Engine
) -> None:
    settings = make_settings(delivery_toml())
    message_id = add_message(engine)
    manual_id = add_message(
        engine, channel="manual", payload={"in_reply_to_url": "https://forum.example/t/1"}
    )
    report = deliver_due(settings, engine, now=later(days=3))
    assert report.waiting == {"email": "smtp.host is not set"}
    assert report.sent == 1
    assert report.ok
    waiting = get(engine, message_id)
    assert (waiting.status, waiting.attempts, waiting.last_error) == ("pending", 0, None)
    assert get(engine, manual_id).status == "sent"


def test_send_after_holds_a_message_back(make_settings: Any, engine: Engine) -> None:
    settings = make_settings(delivery_toml())
    hold_until = later(hours=9)
    with session_scope(engine) as session:
        message = enqueue(
            session,
            key="reply:quiet-hours",
            channel="manual",
            recipient="@giulia",
            subject="",
            text="Hello",
            kind="reply",
            payload={"in_reply_to_url": "https://forum.example/t/1"},
            send_after=hold_until,
        )
        message_id = message.id or 0
    assert deliver_due(settings, engine, now=hold_until - timedelta(seconds=1)).sent == 0
    assert deliver_due(settings, engine, now=hold_until).sent == 1
    assert get(engine, message_id).status == "sent"


def test_retry_and_cancel_follow_the_rules(make_settings: Any, engine: Engine) -> None:
    settings = make_settings(delivery_toml())
    link = {"in_reply_to_url": "https://forum.example/t/1"}
    sent_id = add_message(engine, channel="manual", payload=link)
    deliver_due(settings, engine, now=later())
    pending_id = add_message(engine, channel="manual", payload=link)

    with session_scope(engine) as session:
        with pytest.raises(OutboxError, match="is sent; only failed, cancelled or uncertain"):
            retry(session, sent_id, force=True)
        with pytest.raises(OutboxError, match="is sent; only pending, failed or uncertain"):
            cancel(session, sent_id)
        with pytest.raises(OutboxError, match="no outbox message with id 999"):
            retry(session, 999)
        cancelled = cancel(session, pending_id, reason="customer called")
        assert (cancelled.status, cancelled.last_error) == ("cancelled", "customer called")
    assert deliver_due(settings, engine, now=later(days=1)).sent == 0
    assert get(engine, pending_id).status == "cancelled"

    with session_scope(engine) as session:
        assert retry(session, pending_id).status == "pending"
    assert deliver_due(settings, engine, now=later(days=1)).sent == 1
    assert audit_actions(engine, pending_id) == ["outbox.cancel", "outbox.retry", "outbox.sent"]


def test_an_uncertain_message_is_only_sent_again_by_force(
    make_settings: Any, engine: Engine
) -> None:
    settings = make_settings(delivery_toml(smtp_port=9))
    message_id = add_message(engine)
    now = utcnow()
    with session_scope(engine) as session:
        store.claim(session, message_id, owner="tests:worker", now=now, until=now)
    report = deliver_due(settings, engine, now=now + timedelta(seconds=1))
    assert report.uncertain == 1
    message = get(engine, message_id)
    assert message.status == "uncertain"
    assert "it may have arrived" in (message.last_error or "")
    assert f"ascolto outbox retry {message_id} --force" in (message.last_error or "")
    assert deliver_due(settings, engine, now=later(days=9)).uncertain == 0
    assert get(engine, message_id).status == "uncertain"

    with session_scope(engine) as session:
        with pytest.raises(OutboxError, match="retry with --force"):
            retry(session, message_id)
        again = retry(session, message_id, force=True)
    assert (again.status, again.attempts) == ("pending", 0)
    assert audit_actions(engine, message_id) == ["outbox.uncertain", "outbox.retry"]


def test_an_abandoned_claim_is_sent_again_where_repeats_are_dropped(
    make_settings: Any, engine: Engine, hook: Receiver
) -> None:
    settings = make_settings(delivery_toml(webhook_url=hook.url()))
    message_id = webhook_message(engine, key="alert:9:1:webhook:ops")
    now = utcnow()
    with session_scope(engine) as session:
        store.claim(session, message_id, owner="tests:worker", now=now, until=now)
    report = deliver_due(settings, engine, now=now + timedelta(seconds=1))
    assert (report.resumed, report.sent) == (1, 1)
    sent = get(engine, message_id)
    assert (sent.status, sent.attempts) == ("sent", 2)
    assert [r.headers["Idempotency-Key"] for r in hook.requests] == ["alert:9:1:webhook:ops"]


def test_a_claim_interrupted_on_every_attempt_ends_failed(
    make_settings: Any, engine: Engine
) -> None:
    settings = make_settings(delivery_toml(delivery="max_attempts = 2\n"))
    message_id = add_message(
        engine, channel="manual", payload={"in_reply_to_url": "https://forum.example/t/1"}
    )
    now = utcnow()
    with session_scope(engine) as session:
        claimed = store.claim(session, message_id, owner="tests:worker", now=now, until=now)
        assert claimed is not None
        store.release(session, claimed, status="pending", now=now, error="interrupted")
        assert store.claim(session, message_id, owner="tests:worker", now=now, until=now)
    report = deliver_due(settings, engine, now=now + timedelta(seconds=1))
    assert report.failed == 1
    failed = get(engine, message_id)
    assert (failed.status, failed.last_error) == ("failed", "interrupted on each of 2 attempt(s)")


def test_the_draft_follows_its_message(make_settings: Any, engine: Engine, hook: Receiver) -> None:
    settings = make_settings(delivery_toml(webhook_url=hook.url()))
    with session_scope(engine) as session:
        draft = Draft(
            key="reply:mention:1",
            channel="manual",
            language="en",
            intent="complaint",
            template="complaint_defect",
            text="Hello",
            drafted_text="Hello",
            status="approved",
            verdict="allow",
        )
        session.add(draft)
        session.flush()
        draft_id = draft.id
    sent_id = add_message(
        engine,
        channel="manual",
        payload={"in_reply_to_url": "https://forum.example/t/1"},
        draft_id=draft_id,
    )
    deliver_due(settings, engine, now=later())
    with Session(engine) as session:
        stored = session.get(Draft, draft_id)
        assert stored is not None
        assert stored.status == "sent"
    assert get(engine, sent_id).remote_url == "https://forum.example/t/1"
