"""Public replies on Mastodon: POST /api/v1/statuses with an Idempotency-Key.

Mastodon drops a repeated Idempotency-Key for up to an hour, so a send interrupted less
than 50 minutes ago is simply sent again; an older one is left `uncertain` for a person.
A status id is only valid on the instance it was read from, so the reply goes to that
instance, with the brand account's token for it.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode, urlsplit

from outreach.channels.base import Channel, DeliveryError, SendResult
from outreach.channels.posting import check_answer, post
from outreach.channels.settings import Settings
from outreach.channels.teams import secret_of
from storage.models import OutboxMessage

VISIBILITIES = ("public", "unlisted", "private", "direct")


class MastodonChannel(Channel):
    """A public reply to a status. `payload`: `instance` (e.g. https://mastodon.social) and
    `in_reply_to_id` (the status id there); optional `visibility` and `language`. The
    recipient is the author's handle, for the record."""

    name = "mastodon"
    dedupes_by_key = True
    # Mastodon keeps Idempotency-Keys "for up to 1 hour": resend well within that.
    dedupe_seconds = 3000.0

    def check(self, message: OutboxMessage) -> None:
        instance = message.payload.get("instance")
        if not isinstance(instance, str) or urlsplit(instance).scheme not in ("http", "https"):
            raise ValueError("mastodon: payload.instance must be the instance's address")
        status = message.payload.get("in_reply_to_id")
        if not isinstance(status, str) or not status:
            raise ValueError("mastodon: payload.in_reply_to_id must be a status id")
        if message.payload.get("visibility", "public") not in VISIBILITIES:
            raise ValueError(f"mastodon: payload.visibility must be one of {VISIBILITIES}")

    def send(self, message: OutboxMessage, settings: Settings) -> SendResult:
        instance = str(message.payload["instance"]).rstrip("/")
        host = urlsplit(instance).netloc
        where = f"Mastodon {host}"
        secret = settings.delivery.mastodon_tokens.get(host)
        if secret is None:
            raise DeliveryError(
                f"{where}: no token configured ([delivery] mastodon_tokens has no {host!r})",
                permanent=True,
            )
        token = secret_of(secret, where)
        form = {
            "status": message.text,
            "in_reply_to_id": str(message.payload["in_reply_to_id"]),
            "visibility": str(message.payload.get("visibility", "public")),
        }
        language = message.payload.get("language")
        if isinstance(language, str) and language:
            form["language"] = language
        answer = post(
            f"{instance}/api/v1/statuses",
            urlencode(form).encode("ascii"),
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/x-www-form-urlencoded",
                "Idempotency-Key": message.key,
                "Accept": "application/json",
            },
            settings=settings,
            where=where,
        )
        check_answer(answer, where)
        try:
            status = json.loads(answer.body)
        except ValueError:
            status = {}
        if not isinstance(status, dict):
            status = {}
        remote_id = status.get("id")
        url = status.get("url") or status.get("uri")
        return SendResult(
            remote_id=str(remote_id) if remote_id is not None else None,
            remote_url=url if isinstance(url, str) else None,
        )
