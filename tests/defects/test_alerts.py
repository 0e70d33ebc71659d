"""Alerts leaving ascolto: a real SMTP server, a Slack-compatible hook and a signed webhook.

Detection raises the alerts; `notify_alerts` enqueues their notifications and the outbox
delivers them, as the scheduled delivery job does.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from ascolto.defects.alerting import notify_alerts
from ascolto.defects.detection import act_on_alert
from outreach.channels.webhook import SIGNATURE_HEADER, verify
from outreach.outbox import deliver_due
from storage.models import OutboxMessage
from tests.defects.conftest import World, detect
from tests.factories import at
from tests.outreach.delivery import WEBHOOK_SECRET, delivery_toml, later, write_secret
from tests.outreach.receivers import Answer, Receiver, receiver
from tests.smtpserver import SmtpServer, smtp_server
from tests.test_cli import ascolto

SLACK_PATH = "/services/T000/B000/XXXX"
PRODUCT = '[[products]]\nname = "Acme Tab 3"\nlaunched_on = "2026-11-01"\nteam = "ops"\n'


@pytest.fixture
def secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "secrets"
    write_secret(folder, "ops_hook", WEBHOOK_SECRET)
    monkeypatch.setenv("ASCOLTO_SECRETS_DIR", str(folder))
    return folder


@pytest.fixture
def hook() -> Iterator[Receiver]:
    with receiver() as running:
        yield running


@pytest.fixture
def slack() -> Iterator[Receiver]:
    with receiver() as running:
        yield running


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


def messages(engine: Engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all())


def test_an_alert_reaches_each_target_once_and_again_only_when_it_escalates(
    world: World,
    make_settings: Any,
    engine: Engine,
    secrets: Path,
    smtp: SmtpServer,
    hook: Receiver,
    slack: Receiver,
) -> None:
    write_secret(secrets, "ops_slack", slack.url(SLACK_PATH))
    settings = make_settings(
        delivery_toml(smtp_port=smtp.port, webhook_url=hook.url(), slack=True) + PRODUCT
    )
    world.product("Acme Tab 3")
    world.outbreak(5, theme=0, start_hours=10)
    detect(settings, engine, at(hours=15))
    (alert,) = world.alerts()

    assert notify_alerts(settings, engine).messages == 3
    assert notify_alerts(settings, engine).messages == 0
    report = deliver_due(settings, engine)
    assert (report.sent, report.failed, report.retrying) == (3, 0, 0)
    assert {(m.channel, m.recipient, m.key, m.status) for m in messages(engine)} == {
        ("email", "ops@acme.example", f"alert:{alert.id}:1:email:ops@acme.example", "sent"),
        ("slack", "ops", f"alert:{alert.id}:1:slack:ops", "sent"),
        ("webhook", "ops", f"alert:{alert.id}:1:webhook:ops", "sent"),
    }

    (mail,) = smtp.received
    assert mail.rcpt_tos == ["ops@acme.example"]
    email = mail.message
    assert email["Subject"] == f"[ascolto] {alert.title}"
    assert email["Auto-Submitted"] == "auto-generated"
    text = email.get_body(("plain",))
    html = email.get_body(("html",))
    assert text is not None
    assert html is not None
    plain = text.get_content()
    for part in ("Acme Tab 3", "5 from 5 distinct author(s)", "forum 5", "battery"):
        assert part in plain
    assert f"ascolto alerts acknowledge {alert.id}" in plain
    assert "<table" in html.get_content()

    (request,) = hook.requests
    signature = request.headers[SIGNATURE_HEADER]
    assert verify(WEBHOOK_SECRET, signature, request.body, now=time.time())
    assert not verify("another secret", signature, request.body, now=time.time())
    assert not verify(WEBHOOK_SECRET, signature, request.body + b" ", now=time.time())
    assert request.headers["Idempotency-Key"] == f"alert:{alert.id}:1:webhook:ops"
    document = request.json()
    assert document["kind"] == "alert"
    sent = document["data"]["alert"]
    assert (sent["id"], sent["cluster_id"], sent["level"]) == (alert.id, alert.cluster_id, 1)
    assert (sent["product"], sent["size"], sent["authors"]) == ("Acme Tab 3", 5, 5)
    assert sent["sources"] == [{"name": "forum", "count": 5}]
    assert sent["keywords"]
    assert sent["mentions"]

    (posted,) = slack.requests
    assert posted.path == SLACK_PATH
    blocks = posted.json()["blocks"]
    assert blocks[0]["type"] == "header"
    assert "Acme Tab 3" in json.dumps(blocks)

    # Nothing new: the same alert is never sent again, whatever runs again.
    detect(settings, engine, at(hours=16))
    assert notify_alerts(settings, engine).messages == 0
    assert deliver_due(settings, engine).sent == 0
    assert (len(smtp.received), len(hook.requests), len(slack.requests)) == (1, 1, 1)

    # Ten more complaints from new authors reach level 2: one more notification per target.
    world.outbreak(10, theme=0, start_hours=16)
    detect(settings, engine, at(hours=27))
    first, second = world.alerts()
    assert (first.id, second.level) == (alert.id, 2)
    assert notify_alerts(settings, engine).messages == 3
    assert deliver_due(settings, engine).sent == 3
    assert (len(smtp.received), len(hook.requests), len(slack.requests)) == (2, 2, 2)
    assert hook.requests[1].json()["data"]["alert"]["level"] == 2


def test_an_acknowledged_alert_is_not_notified(
    world: World, make_settings: Any, engine: Engine, smtp: SmtpServer
) -> None:
    settings = make_settings(delivery_toml(smtp_port=smtp.port) + PRODUCT)
    world.product("Acme Tab 3")
    world.outbreak(5, theme=0, start_hours=10)
    detect(settings, engine, at(hours=15))
    (alert,) = world.alerts()
    act_on_alert(engine, alert.id or 0, "acknowledge", by="tom")
    assert notify_alerts(settings, engine).messages == 0
    assert messages(engine) == []


def test_alerts_of_a_product_without_a_team_are_stored_not_sent(
    world: World, make_settings: Any, engine: Engine, smtp: SmtpServer
) -> None:
    settings = make_settings(
        delivery_toml(smtp_port=smtp.port)
        + '[[products]]\nname = "Acme Tab 3"\nlaunched_on = "2026-11-01"\n'
    )
    world.product("Acme Tab 3")
    world.outbreak(5, theme=0, start_hours=10)
    detect(settings, engine, at(hours=15))
    assert len(world.alerts()) == 1
    report = notify_alerts(settings, engine)
    assert (report.messages, report.unrouted) == (0, 1)
    assert messages(engine) == []


def test_a_failed_delivery_is_retried_and_shown_until_it_succeeds(
    world: World,
    make_settings: Any,
    engine: Engine,
    secrets: Path,
    hook: Receiver,
    tmp_path: Path,
) -> None:
    settings = make_settings(
        delivery_toml(webhook_url=hook.url(), delivery="max_attempts = 2\n").replace(
            'emails = ["ops@acme.example"]', "emails = []"
        )
        + PRODUCT
    )
    world.product("Acme Tab 3")
    world.outbreak(5, theme=0, start_hours=10)
    detect(settings, engine, at(hours=15))
    (alert,) = world.alerts()
    hook.script(Answer(503, b"busy"))
    assert notify_alerts(settings, engine).messages == 1

    report = deliver_due(settings, engine)
    assert (report.sent, report.retrying) == (0, 1)
    (waiting,) = messages(engine)
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert "503" in (waiting.last_error or "")
    # Not yet due: the retry waits for its backoff.
    assert deliver_due(settings, engine).sent == 0
    assert len(hook.requests) == 1

    report = deliver_due(settings, engine, now=later(hours=1))
    assert report.failed == 1
    (failed,) = messages(engine)
    assert (failed.status, failed.attempts) == ("failed", 2)
    assert len(hook.requests) == 2

    listed = ascolto(tmp_path, "alerts", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    (row,) = json.loads(listed.stdout)
    (delivery,) = row["deliveries"]
    assert (delivery["outbox_id"], delivery["channel"], delivery["status"]) == (
        failed.id,
        "webhook",
        "failed",
    )
    assert "503" in delivery["last_error"]
    table = ascolto(tmp_path, "alerts", "list")
    assert table.returncode == 0, table.stderr
    assert "failed 1" in table.stdout
    assert f"delivery problems for alert(s) {alert.id}" in table.stdout
    shown = ascolto(tmp_path, "alerts", "show", str(alert.id))
    assert shown.returncode == 0, shown.stderr
    assert "failed" in shown.stdout
    assert "503" in shown.stdout
    italian = ascolto(
        tmp_path,
        "alerts",
        "show",
        str(alert.id),
        env={"LANG": "it_IT.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""},
    )
    assert italian.returncode == 0, italian.stderr
    assert f"allerta {alert.id}" in italian.stdout
    assert "notifiche" in italian.stdout
    assert "non riuscita" in italian.stdout

    # A person asks for another try once the receiver is back; it arrives once.
    hook.script(Answer(200))
    again = ascolto(tmp_path, "outbox", "retry", str(failed.id))
    assert again.returncode == 0, again.stderr
    assert deliver_due(settings, engine, now=later(hours=2)).sent == 1
    assert deliver_due(settings, engine, now=later(hours=3)).sent == 0
    assert len(hook.delivered) == 1
    assert notify_alerts(settings, engine).messages == 0


def test_a_digest_team_gets_one_message_a_day_with_every_alert(
    world: World, make_settings: Any, engine: Engine, smtp: SmtpServer
) -> None:
    settings = make_settings(
        delivery_toml(
            smtp_port=smtp.port,
            team='digest = true\ndigest_hour = 8\ntimezone = "Europe/Rome"\n',
        )
        + PRODUCT
    )
    world.product("Acme Tab 3")
    world.outbreak(5, theme=0, start_hours=10)
    world.outbreak(5, theme=3, start_hours=10)
    # Raised at 01:30 in Rome on 2 November.
    detect(settings, engine, at(hours=15))
    assert len(world.alerts()) == 2

    # 07:00 in Rome: the day's digest is not due yet, and no alert goes out on its own.
    report = notify_alerts(settings, engine, now=at(hours=20, minutes=30))
    assert (report.messages, report.digests) == (0, 0)
    assert messages(engine) == []

    # 08:00 in Rome: one digest with both alerts, once however often the pass runs.
    assert notify_alerts(settings, engine, now=at(hours=21, minutes=30)).digests == 1
    assert notify_alerts(settings, engine, now=at(hours=22)).digests == 0
    (digest,) = messages(engine)
    assert (digest.kind, digest.key) == ("digest", "digest:ops:2026-11-02:email:ops@acme.example")
    assert deliver_due(settings, engine).sent == 1
    (mail,) = smtp.received
    assert mail.message["Subject"] == "[ascolto] 2 defect alerts for ops on 2026-11-02"
    body = mail.message.get_body(("plain",))
    assert body is not None
    content = body.get_content()
    for alert in world.alerts():
        assert alert.title in content

    # The next day has no new alert: no digest.
    assert notify_alerts(settings, engine, now=at(days=2, hours=1)).digests == 0
    assert len(messages(engine)) == 1


def test_text_from_mentions_is_escaped_in_html_and_slack(
    world: World,
    make_settings: Any,
    engine: Engine,
    secrets: Path,
    smtp: SmtpServer,
    slack: Receiver,
) -> None:
    write_secret(secrets, "ops_slack", slack.url(SLACK_PATH))
    settings = make_settings(delivery_toml(smtp_port=smtp.port, slack=True) + PRODUCT)
    world.product("Acme Tab 3")
    for n in range(5):
        world.complaint(
            '<script>alert(1)</script> <!channel> battery "dead" <b>again</b>',
            theme=0,
            when=at(hours=10 + n),
        )
    detect(settings, engine, at(hours=15))
    assert notify_alerts(settings, engine).messages == 2
    assert deliver_due(settings, engine).sent == 2

    (mail,) = smtp.received
    html = mail.message.get_body(("html",))
    assert html is not None
    markup = html.get_content()
    assert "<script>" not in markup
    assert "<b>again" not in markup
    assert "&lt;script&gt;" in markup
    (posted,) = slack.requests
    document = posted.json()
    # Slack parses `<...>` in text and mrkdwn as links and mentions; plain_text never.
    parsed = [document["text"]] + [
        b["text"]["text"] for b in document["blocks"] if b.get("text", {}).get("type") == "mrkdwn"
    ]
    assert all("<!channel>" not in t and "<script>" not in t for t in parsed)
    assert any("&lt;!channel&gt;" in t for t in parsed)


def test_staff_read_alerts_and_digests_in_the_default_language(
    world: World, make_settings: Any, engine: Engine, smtp: SmtpServer
) -> None:
    settings = make_settings(
        '[language]\ndefault = "it"\n\n'
        + delivery_toml(
            smtp_port=smtp.port,
            team='digest = true\ndigest_hour = 8\ntimezone = "Europe/Rome"\n',
        )
        + PRODUCT
    )
    world.product("Acme Tab 3")
    world.outbreak(5, theme=0, start_hours=10)
    world.outbreak(5, theme=3, start_hours=10)
    detect(settings, engine, at(hours=15))
    assert notify_alerts(settings, engine, now=at(hours=21, minutes=30)).digests == 1
    assert deliver_due(settings, engine).sent == 1
    (mail,) = smtp.received
    assert mail.message["Subject"] == "[ascolto] 2 allerte difetti per ops del 2026-11-02"
    plain = mail.message.get_body(("plain",))
    html = mail.message.get_body(("html",))
    assert plain is not None
    assert html is not None
    content = plain.get_content()
    assert "Allerte difetti per ops del 2026-11-02: 2" in content
    assert "[aperta]" in content
    assert "Prendi in carico: ascolto alerts acknowledge" in content
    assert '<html lang="it">' in html.get_content()
