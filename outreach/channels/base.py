"""The contract every channel fulfils: one `send` that delivers or says why not."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from outreach.channels.settings import Settings
from storage.models import OutboxMessage


@dataclass(frozen=True)
class SendResult:
    """What the receiver told us about a delivered message."""

    remote_id: str | None = None
    """The receiver's id for it (a status id, an SMTP queue id), when it gives one."""
    remote_url: str | None = None
    """Where it can be seen (the posted reply; for `manual`, where to post it)."""


class DeliveryError(Exception):
    """A send that did not (or may not have) happened, and what the outbox should do.

    `permanent`: retrying cannot help (bad address, refused token, 4xx); the message fails
    at once. `uncertain`: the receiver may have it (connection lost after the content was
    sent); a channel whose receiver cannot drop repeats is never retried automatically.
    Otherwise the failure is transient and retried with backoff, not before `retry_after`.
    """

    def __init__(
        self,
        reason: str,
        *,
        permanent: bool = False,
        uncertain: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.uncertain = uncertain
        self.retry_after = retry_after


class Channel(ABC):
    """A way out of ascolto, registered by `name`.

    `dedupes_by_key`: the receiver drops a repeat of the same idempotency key, so a send
    interrupted mid-way is simply sent again (within `dedupe_seconds` of it); otherwise it
    ends `uncertain` for a person.
    """

    name: ClassVar[str]
    dedupes_by_key: ClassVar[bool] = False
    dedupe_seconds: ClassVar[float | None] = None
    """How long the receiver remembers a key; None: longer than any retry."""

    def unavailable(self, settings: Settings) -> str | None:
        """Why this channel cannot send at all now (e.g. no SMTP server set); its messages
        then wait in the outbox without using up attempts."""
        return None

    def check(self, message: OutboxMessage) -> None:
        """Raise ValueError when `message` could never be sent (checked at enqueue)."""
        if not message.recipient.strip():
            raise ValueError(f"{self.name}: the recipient is empty")

    @abstractmethod
    def send(self, message: OutboxMessage, settings: Settings) -> SendResult:
        """Deliver `message` once; raise DeliveryError when it was not delivered."""
