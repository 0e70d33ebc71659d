"""A generic JSON webhook, signed with HMAC-SHA256 and carrying an Idempotency-Key.

The receiver checks `X-Ascolto-Signature: t=<unix time>,v1=<hex>` where the hex is
HMAC-SHA256(secret, "<t>." + body), refuses old timestamps, and drops a repeated
`Idempotency-Key`: a send interrupted mid-way is sent again with the same key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from outreach.channels.base import Channel, DeliveryError, SendResult
from outreach.channels.posting import check_answer, post
from outreach.channels.settings import Settings
from outreach.channels.teams import secret_of, team_of
from storage.models import OutboxMessage
from storage.types import is_digits

SIGNATURE_HEADER = "X-Ascolto-Signature"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for `body` sent at `timestamp`."""
    signed = str(timestamp).encode("ascii") + b"." + body
    digest = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str, body: bytes, *, now: float, tolerance: float = 300) -> bool:
    """True when `header` signs `body` with `secret` within `tolerance` seconds of `now`."""
    pairs = [part.strip().partition("=")[::2] for part in header.split(",")]
    stamps = [value for key, value in pairs if key == "t"]
    if (
        len(stamps) != 1
        or not is_digits(stamps[0])
        or len(stamps[0]) > 18
        or abs(now - int(stamps[0])) > tolerance
    ):
        return False
    expected = sign(secret, int(stamps[0]), body).rsplit("v1=", 1)[1]
    # A header may carry several v1 values (one per secret while a secret is rotated).
    return any(hmac.compare_digest(expected, value) for key, value in pairs if key == "v1")


def document(message: OutboxMessage) -> dict[str, object]:
    """The JSON body: the same for every attempt at one message."""
    return {
        "id": message.key,
        "kind": message.kind,
        "subject": message.subject,
        "text": message.text,
        "html": message.html,
        "data": message.payload,
        "created_at": message.created_at.isoformat(),
    }


class WebhookChannel(Channel):
    """Signed JSON to a team's `webhook_url`; the recipient is the team's name."""

    name = "webhook"
    dedupes_by_key = True

    def send(self, message: OutboxMessage, settings: Settings) -> SendResult:
        team = team_of(settings, message.recipient, self.name)
        where = f"webhook of team {team.name}"
        if not team.webhook_url:
            raise DeliveryError(f"team {team.name} has no webhook_url", permanent=True)
        url = team.webhook_url
        secret = secret_of(team.webhook_secret, where)
        body = json.dumps(document(message), ensure_ascii=False, sort_keys=True).encode("utf-8")
        answer = post(
            url,
            body,
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Idempotency-Key": message.key,
                "X-Ascolto-Kind": message.kind,
                SIGNATURE_HEADER: sign(secret, int(time.time()), body),
            },
            settings=settings,
            where=where,
        )
        check_answer(answer, where)
        return SendResult()
