"""Webhook, Slack-compatible, Mastodon and manual channels against real local receivers."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from sqlalchemy.engine import Engine

from ascolto.settings import Settings
from outreach.channels import known_channels
from outreach.channels.webhook import sign, verify
from outreach.outbox import deliver_due, reply_payload, retry
from storage import outbox as store
from storage.db import session_scope
from storage.models import Mention
from storage.types import utcnow
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

SLACK_PATH = "/services/T000/B000/XXXX"


@pytest.fixture
def secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "secrets"
    write_secret(folder, "ops_hook", WEBHOOK_SECRET)
    monkeypatch.setenv("ASCOLTO_SECRETS_DIR", str(folder))
    return folder


@pytest.fixture
def hook() -> Any:
    with receiver() as running:
        yield running


def impatient(settings: Settings) -> Settings:
    """The same settings with a short read timeout, for receivers that never answer."""
    return settings.model_copy(
        update={"http": settings.http.model_copy(update={"read_timeout": 0.5})}
    )


def test_every_channel_is_registered() -> None:
    assert known_channels() == ["email", "manual", "mastodon", "slack", "webhook"]


def test_webhook_is_signed_and_carries_the_idempotency_key(
    make_settings: Any, engine: Engine, hook: Receiver, secrets: Path
) -> None:
    settings = make_settings(delivery_toml(webhook_url=hook.url()))
    message_id = add_message(
        engine,
        key="alert:5:2:webhook:ops",
        channel="webhook",
        recipient="ops",
        kind="alert",
        subject="Acme Tab 3: screen flickers",
        text="12 mentions",
        payload={"alert": {"id": 5, "level": 2}},
    )
    assert deliver_due(settings, engine, now=later()).sent == 1
    assert get(engine, message_id).status == "sent"
    [request] = hook.requests
    assert request.path == "/hook"
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert request.headers["Idempotency-Key"] == "alert:5:2:webhook:ops"
    assert request.headers["X-Ascolto-Kind"] == "alert"
    assert request.headers["User-Agent"].startswith("ascolto/")

    # Checked here without the product's code: HMAC-SHA256 over "<t>." + body.
    fields = dict(part.split("=", 1) for part in request.headers["X-Ascolto-Signature"].split(","))
    assert set(fields) == {"t", "v1"}
    signed = fields["t"].encode() + b"." + request.body
    expected = hmac.new(WEBHOOK_SECRET.encode(), signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(fields["v1"], expected)
    forged = hmac.new(b"another secret", signed, hashlib.sha256).hexdigest()
    assert fields["v1"] != forged

    document = request.json()
    assert document["id"] == "alert:5:2:webhook:ops"
    assert document["kind"] == "alert"
    assert document["subject"] == "Acme Tab 3: screen flickers"
    assert document["data"] == {"alert": {"id": 5, "level": 2}}


def test_signature_verification() -> None:
    body = b'{"id": "x"}'
    now = time.time()
    header = sign("secret", int(now), body)
    assert verify("secret", header, body, now=now)
    assert not verify("other", header, body, now=now)
    assert not verify("secret", header, body + b" ", now=now)
    assert not verify("secret", header, body, now=now + 301)
    assert not verify("secret", "t=abc,v1=00", body, now=now)
    assert not verify("secret", "", body, now=now)
    rotated = f"{header},v1={'0' * 64}"
    assert verify("secret", rotated, body, now=now)


def test_a_webhook_that_never_answers_is_sent_again_with_the_same_key(
    make_settings: Any, engine: Engine, hook: Receiver, secrets: Path
) -> None:
    settings = impatient(make_settings(delivery_toml(webhook_url=hook.url())))
    hook.script(Answer(200, delay=2), Answer(200))
    message_id = add_message(engine, channel="webhook", recipient="ops", kind="alert")
    now = later()
    report = deliver_due(settings, engine, now=now)
    assert report.retrying == 1
    assert "no answer in time" in (get(engine, message_id).last_error or "")
    deliver_due(settings, engine, now=get(engine, message_id).next_attempt_at)
    assert get(engine, message_id).status == "sent"
    keys = {r.headers["Idempotency-Key"] for r in hook.requests}
    assert len(hook.requests) == 2
    assert len(keys) == 1
    assert len(hook.delivered) == 1


def test_slack_receives_text_and_blocks(
    make_settings: Any, engine: Engine, hook: Receiver, secrets: Path
) -> None:
    write_secret(secrets, "ops_slack", hook.url(SLACK_PATH))
    settings = make_settings(delivery_toml(slack=True))
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Level:* 2"}}]
    message_id = add_message(
        engine,
        channel="slack",
        recipient="ops",
        kind="alert",
        text="Acme <!channel> & <https://evil.example|click>",
        payload={"blocks": blocks},
    )
    assert deliver_due(settings, engine, now=later()).sent == 1
    assert get(engine, message_id).status == "sent"
    [request] = hook.requests
    assert request.path == SLACK_PATH
    document = request.json()
    assert document["blocks"] == blocks
    assert document["text"] == "Acme &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;"


def test_slack_errors_name_the_team_never_the_secret_url(
    make_settings: Any, engine: Engine, hook: Receiver, secrets: Path
) -> None:
    write_secret(secrets, "ops_slack", hook.url(SLACK_PATH))
    settings = make_settings(delivery_toml(slack=True))
    hook.script(Answer(404, b"no_service"))
    message_id = add_message(engine, channel="slack", recipient="ops", kind="alert")
    deliver_due(settings, engine, now=later())
    failed = get(engine, message_id)
    assert failed.status == "failed"
    assert failed.last_error == "Slack webhook of team ops answered HTTP 404: no_service"
    assert SLACK_PATH not in (failed.last_error or "")


def test_slack_without_an_answer_is_uncertain_not_repeated(
    make_settings: Any, engine: Engine, hook: Receiver, secrets: Path
) -> None:
    # Slack cannot drop a repeat: a post that may have arrived is left to a person.
    write_secret(secrets, "ops_slack", hook.url(SLACK_PATH))
    settings = impatient(make_settings(delivery_toml(slack=True)))
    hook.script(Answer(200, delay=2))
    message_id = add_message(engine, channel="slack", recipient="ops", kind="alert")
    report = deliver_due(settings, engine, now=later())
    assert report.uncertain == 1
    message = get(engine, message_id)
    assert message.status == "uncertain"
    assert "no answer in time after the request was sent" in (message.last_error or "")
    deliver_due(settings, engine, now=later(days=1))
    assert len(hook.requests) == 1


def test_an_unknown_team_fails_with_the_known_names(
    make_settings: Any, engine: Engine, secrets: Path
) -> None:
    settings = make_settings(delivery_toml())
    message_id = add_message(engine, channel="webhook", recipient="marketing", kind="alert")
    deliver_due(settings, engine, now=later())
    failed = get(engine, message_id)
    assert (failed.status, failed.last_error) == (
        "failed",
        "webhook: no team named 'marketing' (known: ops)",
    )


def test_a_receiver_that_refuses_connections_is_retried(
    make_settings: Any, engine: Engine, secrets: Path
) -> None:
    with receiver() as gone:
        url = gone.url()
    settings = make_settings(delivery_toml(webhook_url=url))
    message_id = add_message(engine, channel="webhook", recipient="ops", kind="alert")
    assert deliver_due(settings, engine, now=later()).retrying == 1
    message = get(engine, message_id)
    assert (message.status, message.last_error) == (
        "pending",
        "webhook of team ops: connection failed",
    )


def test_mastodon_public_reply(
    make_settings: Any, engine: Engine, hook: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = hook.url("")
    host = instance.removeprefix("http://")
    status = json.loads(MASTODON_STATUS)
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
        payload={
            "instance": instance,
            "in_reply_to_id": status["in_reply_to_id"],
            "language": "it",
        },
    )
    # The token is read when the reply is sent: a missing one fails with its name.
    deliver_due(settings, engine, now=later())
    failed = get(engine, message_id)
    assert failed.status == "failed"
    assert "secret 'acme_mastodon' is not set (ASCOLTO_SECRET_ACME_MASTODON" in (
        failed.last_error or ""
    )
    assert hook.requests == []

    monkeypatch.setenv("ASCOLTO_SECRET_ACME_MASTODON", "token-123")
    with session_scope(engine) as session:
        retry(session, message_id)
    assert deliver_due(settings, engine, now=later(hours=1)).sent == 1
    sent = get(engine, message_id)
    assert (sent.status, sent.remote_id, sent.remote_url) == (
        "sent",
        "113502938475610234",
        "https://mastodon.example/@acme/113502938475610234",
    )
    [request] = hook.requests
    assert request.path == "/api/v1/statuses"
    assert request.headers["Authorization"] == "Bearer token-123"
    assert request.headers["Idempotency-Key"] == "draft:31"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
    assert form == {
        "status": "@giulia ciao, ci dispiace: scrivici in privato.",
        "in_reply_to_id": "113502871120334455",
        "visibility": "public",
        "language": "it",
    }


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        # Mastodon's documented error bodies for POST /api/v1/statuses.
        (401, b'{"error":"The access token is invalid"}', "failed"),
        (422, b'{"error":"Validation failed: Text can\'t be blank"}', "failed"),
        (429, b'{"error":"Too many requests"}', "pending"),
        (503, b"", "pending"),
    ],
)
def test_mastodon_refusals(
    make_settings: Any,
    engine: Engine,
    hook: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    status: int,
    body: bytes,
    expected: str,
) -> None:
    instance = hook.url("")
    host = instance.removeprefix("http://")
    monkeypatch.setenv("ASCOLTO_SECRET_ACME_MASTODON", "token-123")
    hook.script(Answer(status, body, headers={"Content-Type": "application/json"}))
    settings = make_settings(
        delivery_toml(delivery=f'mastodon_tokens = {{ "{host}" = "acme_mastodon" }}\n')
    )
    message_id = add_message(
        engine,
        channel="mastodon",
        recipient="@giulia",
        kind="reply",
        payload={"instance": instance, "in_reply_to_id": "113502871120334455"},
    )
    deliver_due(settings, engine, now=later())
    message = get(engine, message_id)
    assert message.status == expected
    assert (message.last_error or "").startswith(f"Mastodon {host} answered HTTP {status}")
    if body:
        assert body.decode() in (message.last_error or "")


def test_mastodon_without_a_token_for_the_instance_fails(
    make_settings: Any, engine: Engine
) -> None:
    settings = make_settings(delivery_toml())
    message_id = add_message(
        engine,
        channel="mastodon",
        recipient="@giulia",
        kind="reply",
        payload={"instance": "https://mastodon.example", "in_reply_to_id": "1"},
    )
    deliver_due(settings, engine, now=later())
    assert get(engine, message_id).last_error == (
        "Mastodon mastodon.example: no token configured ([delivery] mastodon_tokens has no "
        "'mastodon.example')"
    )


def test_manual_channel_makes_a_ready_to_post_copy(make_settings: Any, engine: Engine) -> None:
    settings = make_settings(delivery_toml())
    message_id = add_message(
        engine,
        channel="manual",
        recipient="@giulia",
        kind="reply",
        text="Ciao Giulia, ci dispiace!",
        payload={"in_reply_to_url": "https://forum.example/t/42#p7"},
    )
    assert deliver_due(settings, engine, now=later()).sent == 1
    ready = get(engine, message_id)
    assert (ready.status, ready.remote_url, ready.text) == (
        "sent",
        "https://forum.example/t/42#p7",
        "Ciao Giulia, ci dispiace!",
    )


def test_reply_payload_of_a_mastodon_mention() -> None:
    mention = Mention(
        id=7,
        source_id=1,
        external_id="https://mastodon.example/users/g/statuses/1042",
        url="https://mastodon.example/@g/1042",
        text="x",
        content_hash="h",
        extra={"instance": "https://mastodon.example", "status_id": "1042"},
    )
    assert reply_payload(mention) == {
        "in_reply_to_url": "https://mastodon.example/@g/1042",
        "mention_id": 7,
        "instance": "https://mastodon.example",
        "in_reply_to_id": "1042",
    }
    forum = Mention(
        id=8, source_id=1, external_id="f", url="https://f.example/1", text="x", content_hash="h"
    )
    assert reply_payload(forum) == {"in_reply_to_url": "https://f.example/1", "mention_id": 8}


def mastodon_reply(engine: Engine, instance: str) -> int:
    return add_message(
        engine,
        key="draft:77",
        channel="mastodon",
        recipient="@giulia",
        kind="reply",
        payload={"instance": instance, "in_reply_to_id": "113502871120334455"},
    )


def mastodon_settings(make_settings: Any, instance: str, delivery: str = "") -> Settings:
    host = instance.removeprefix("http://")
    return make_settings(
        delivery_toml(delivery=f'mastodon_tokens = {{ "{host}" = "acme_mastodon" }}\n' + delivery)
    )


def test_mastodon_without_an_answer_is_asked_again_while_it_remembers_the_key(
    make_settings: Any, engine: Engine, hook: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASCOLTO_SECRET_ACME_MASTODON", "token-123")
    instance = hook.url("")
    settings = impatient(
        mastodon_settings(make_settings, instance, "backoff = 7200\nmax_backoff = 7200\n")
    )
    hook.script(Answer(200, MASTODON_STATUS, delay=2), Answer(200, MASTODON_STATUS))
    message_id = mastodon_reply(engine, instance)
    now = later()
    assert deliver_due(settings, engine, now=now).retrying == 1
    waiting = get(engine, message_id)
    # Mastodon forgets keys after an hour: the retry comes well before, whatever the backoff.
    assert waiting.next_attempt_at == now + timedelta(seconds=1500)
    assert deliver_due(settings, engine, now=waiting.next_attempt_at).sent == 1
    assert [r.headers["Idempotency-Key"] for r in hook.requests] == ["draft:77", "draft:77"]


def test_an_interrupted_mastodon_reply_is_not_resent_once_the_key_is_forgotten(
    make_settings: Any, engine: Engine, hook: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASCOLTO_SECRET_ACME_MASTODON", "token-123")
    instance = hook.url("")
    settings = mastodon_settings(make_settings, instance)
    message_id = mastodon_reply(engine, instance)
    claimed_at = utcnow()
    with session_scope(engine) as session:
        store.claim(session, message_id, owner="tests:worker", now=claimed_at, until=claimed_at)
    # The service comes back two hours later: a repeat would now be a second public reply.
    report = deliver_due(settings, engine, now=claimed_at + timedelta(hours=2))
    assert (report.uncertain, report.resumed, report.sent) == (1, 0, 0)
    message = get(engine, message_id)
    assert message.status == "uncertain"
    assert f"ascolto outbox retry {message_id} --force" in (message.last_error or "")
    assert hook.requests == []


def test_a_last_attempt_that_may_have_arrived_ends_uncertain_not_failed(
    make_settings: Any, engine: Engine, hook: Receiver, secrets: Path
) -> None:
    settings = impatient(
        make_settings(delivery_toml(webhook_url=hook.url(), delivery="max_attempts = 1\n"))
    )
    hook.script(Answer(200, delay=2))
    message_id = add_message(engine, channel="webhook", recipient="ops", kind="alert")
    assert deliver_due(settings, engine, now=later()).uncertain == 1
    message = get(engine, message_id)
    assert message.status == "uncertain"
    assert "no answer in time after the request was sent" in (message.last_error or "")
