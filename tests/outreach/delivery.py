"""Helpers for the delivery tests: settings for the local receivers, and outbox rows."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from outreach.outbox import enqueue
from storage.db import session_scope
from storage.models import OutboxMessage
from storage.types import utcnow

WEBHOOK_SECRET = "whsec-test-0123456789"
# A Status entity as Mastodon answers POST /api/v1/statuses: a reply by @acme to @giulia
# (shape from docs.joinmastodon.org/entities/Status and /methods/statuses).
MASTODON_STATUS = (
    Path(__file__).parent / "recordings" / "mastodon_status_created.json"
).read_bytes()


def delivery_toml(
    *,
    smtp_port: int | None = None,
    webhook_url: str | None = None,
    slack: bool = False,
    extra_smtp: str = "",
    delivery: str = "",
    team: str = "",
) -> str:
    """Settings for the test receivers: an SMTP server, a team `ops` with its targets."""
    parts = ["[delivery]\nenabled = false\n" + delivery]
    if smtp_port is not None:
        parts.append(
            f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\nsecurity = "none"\n'
            f'from_address = "care@acme.example"\nfrom_name = "Acme Care"\ntimeout = 5\n'
            + extra_smtp
        )
    lines = ['[[teams]]\nname = "ops"\nemails = ["ops@acme.example"]']
    if webhook_url:
        lines.append(f'webhook_url = "{webhook_url}"\nwebhook_secret = "ops_hook"')
    if slack:
        lines.append('slack_webhook_secret = "ops_slack"')
    parts.append("\n".join(lines) + "\n" + team)
    return "\n".join(parts) + "\n"


def write_secret(folder: Path, name: str, value: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(value + "\n", encoding="utf-8")


def add_message(engine: Engine, **overrides: Any) -> int:
    """Enqueue one message (an e-mail reply by default); returns its id."""
    values: dict[str, Any] = {
        "key": f"test:{uuid.uuid4().hex}",
        "channel": "email",
        "recipient": "giulia@example.com",
        "subject": "About your order",
        "text": "Hello Giulia,\nwe are sorry.",
        "kind": "reply",
    }
    values.update(overrides)
    with session_scope(engine) as session:
        message = enqueue(session, **values)
        return message.id or 0


def get(engine: Engine, message_id: int) -> OutboxMessage:
    with Session(engine) as session:
        message = session.get(OutboxMessage, message_id)
        assert message is not None
        return message


def later(hours: float = 0, *, days: float = 0) -> datetime:
    """A moment after every retry scheduled so far (tests pass it as `now`)."""
    return utcnow() + timedelta(hours=hours, days=days)
