"""Slack-compatible incoming webhooks (Slack, Mattermost, Rocket.Chat): text and blocks."""

from __future__ import annotations

import json

from outreach.channels.base import Channel, SendResult
from outreach.channels.posting import check_answer, post
from outreach.channels.settings import Settings
from outreach.channels.teams import secret_of, team_of
from storage.models import OutboxMessage


def escape_mrkdwn(text: str) -> str:
    """Text shown as is by Slack: `&`, `<` and `>` would otherwise form links and
    mentions such as `<!channel>`."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SlackChannel(Channel):
    """A team's Slack-compatible incoming webhook; the recipient is the team's name.

    The message's `payload["blocks"]`, if any, are sent as Block Kit blocks, with the text
    as the notification fallback.
    """

    name = "slack"

    def send(self, message: OutboxMessage, settings: Settings) -> SendResult:
        team = team_of(settings, message.recipient, self.name)
        where = f"Slack webhook of team {team.name}"
        url = secret_of(team.slack_webhook_secret, where)
        document: dict[str, object] = {"text": escape_mrkdwn(message.text)}
        blocks = message.payload.get("blocks")
        if isinstance(blocks, list) and blocks:
            document["blocks"] = blocks
        body = json.dumps(document, ensure_ascii=False).encode("utf-8")
        answer = post(
            url,
            body,
            headers={"Content-Type": "application/json; charset=utf-8"},
            settings=settings,
            where=where,
        )
        check_answer(answer, where)
        return SendResult()
