"""Ready-to-post copies where no API can post for us: a person pastes the text."""

from __future__ import annotations

from urllib.parse import urlsplit

from outreach.channels.base import Channel, SendResult
from outreach.channels.settings import Settings
from storage.models import OutboxMessage


class ManualChannel(Channel):
    """No network: the message becomes `sent` with `remote_url` set to the original
    mention (`payload["in_reply_to_url"]`), where a person posts the text as a reply.

    A mention without an http(s) link (an App Store review, a feed entry whose id is a
    `tag:` URI) is named by `payload["mention_id"]` instead, and the reply has no link.
    """

    name = "manual"
    # Nothing leaves the process, so doing it again is harmless.
    dedupes_by_key = True

    def check(self, message: OutboxMessage) -> None:
        link = message.payload.get("in_reply_to_url")
        if link is None and message.payload.get("mention_id") is not None:
            return
        if not isinstance(link, str) or urlsplit(link).scheme not in ("http", "https"):
            raise ValueError(
                "manual: payload.in_reply_to_url must link to the original mention "
                "(http or https), or payload.mention_id name it"
            )

    def send(self, message: OutboxMessage, settings: Settings) -> SendResult:
        link = message.payload.get("in_reply_to_url")
        return SendResult(remote_url=str(link) if link else None)
