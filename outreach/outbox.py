"""The outbox: everything that leaves ascolto is enqueued once and delivered at most once.

A due message is claimed (compare-and-set to `sending`, with a lease) and the claim is
committed before the network call; the outcome is committed after it. A process that dies
in between leaves its claim behind: channels whose receivers drop repeats of the
idempotency key send it again, the others mark it `uncertain` for a person to check
(`ascolto outbox retry ID --force` sends it again).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import Engine
from sqlmodel import Session

from outreach.channels import Channel, DeliveryError, SendResult, get_channel, known_channels
from outreach.channels.settings import Settings
from storage import audit
from storage import outbox as store
from storage.db import session_scope
from storage.errors import AscoltoError
from storage.models import Author, Mention, OutboxMessage
from storage.privacy import is_erased
from storage.sources import lease_owner
from storage.types import utcnow

HTTP = ("http", "https")

log = logging.getLogger(__name__)

ACTOR = "outbox"
MAX_KEY_LENGTH = 300


class OutboxError(AscoltoError):
    """A message that does not exist or cannot make the requested move."""

    exit_code = 2


@dataclass
class DeliveryReport:
    """What one delivery pass did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    uncertain: int = 0
    resumed: int = 0
    """Interrupted sends put back in line with the same key (receivers drop repeats)."""
    waiting: dict[str, str] = field(default_factory=dict)
    """Channel -> why its messages wait (e.g. `smtp.host is not set`)."""
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Nothing ended failed or uncertain in this pass."""
        return not self.failed and not self.uncertain


def enqueue(
    session: Session,
    *,
    key: str,
    channel: str,
    recipient: str,
    subject: str,
    text: str,
    html: str | None = None,
    payload: dict[str, Any] | None = None,
    kind: str,
    headers: dict[str, str] | None = None,
    draft_id: int | None = None,
    alert_id: int | None = None,
    send_after: datetime | None = None,
) -> OutboxMessage:
    """Add a message to the session's transaction, once per `key`.

    A second call with the same key returns the stored message and adds nothing, whatever
    its other arguments. `send_after` holds the message back (e.g. quiet hours). Raises
    ValueError when the message could never be sent (unknown channel, bad address).
    """
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"the idempotency key must have 1 to {MAX_KEY_LENGTH} characters")
    existing = store.get_by_key(session, key)
    if existing is not None:
        return existing
    try:
        sender = get_channel(channel)
    except KeyError as exc:
        raise ValueError(str(exc.args[0])) from None
    message = OutboxMessage(
        key=key,
        channel=channel,
        kind=kind,
        recipient=recipient,
        subject=subject,
        text=text,
        html=html,
        payload=dict(payload or {}),
        headers=dict(headers or {}),
        draft_id=draft_id,
        alert_id=alert_id,
        next_attempt_at=send_after or utcnow(),
    )
    sender.check(message)
    stored, _new = store.add_message(session, message)
    return stored


def reply_payload(mention: Mention) -> dict[str, Any]:
    """The `payload` of a public reply to `mention`: its link (for `manual`) and, for a
    Mastodon status, the instance and status id (for `mastodon`)."""
    # Only an http(s) link is one a person can follow (never `javascript:`; a feed's
    # `tag:` id is no address); without one the mention id names it.
    link = mention.url if mention.url and urlsplit(mention.url).scheme in HTTP else None
    payload: dict[str, Any] = {"in_reply_to_url": link, "mention_id": mention.id}
    instance = mention.extra.get("instance")
    status = mention.extra.get("status_id")
    if isinstance(instance, str) and status is not None:
        payload |= {"instance": instance, "in_reply_to_id": str(status)}
    return payload


def deliver_due(
    settings: Settings,
    engine: Engine,
    *,
    now: datetime | None = None,
    limit: int = 100,
    stop: threading.Event | None = None,
) -> DeliveryReport:
    """One delivery pass: pick up interrupted sends, then send up to `limit` due messages.

    `now` fixes the clock of the whole pass (tests); otherwise each step reads the time.
    """
    clock: Callable[[], datetime] = (lambda: now) if now is not None else utcnow
    report = DeliveryReport()
    owner = lease_owner()
    _resume_abandoned(settings, engine, clock(), report)
    channels = {name: get_channel(name) for name in known_channels()}
    for name, channel in channels.items():
        reason = channel.unavailable(settings)
        if reason:
            report.waiting[name] = reason
    with session_scope(engine) as session:
        ids = store.due_ids(session, now=clock(), limit=limit, skip_channels=list(report.waiting))
    for message_id in ids:
        if stop is not None and stop.is_set():
            break
        _deliver_one(settings, engine, message_id, owner, clock, channels, report)
    return report


def _deliver_one(
    settings: Settings,
    engine: Engine,
    message_id: int,
    owner: str,
    clock: Callable[[], datetime],
    channels: dict[str, Channel],
    report: DeliveryReport,
) -> None:
    with session_scope(engine) as session:
        started = clock()
        until = started + timedelta(seconds=settings.delivery.lease_seconds)
        message = store.claim(session, message_id, owner=owner, now=started, until=until)
    if message is None:
        return  # another sender claimed it first
    if _to_erased(settings, engine, message):
        # Approved before the person was erased, or written to them by hand since.
        with session_scope(engine) as session:
            store.set_status(
                session,
                message.id or 0,
                expected=("sending",),
                status="cancelled",
                error="the recipient was erased on request and is never contacted again",
            )
        report.problems.append(f"message {message.id}: recipient erased, cancelled")
        return
    channel = channels.get(message.channel)
    try:
        if channel is None:
            raise DeliveryError(
                f"unknown channel {message.channel!r} (known: {', '.join(channels)})",
                permanent=True,
            )
        result = channel.send(message, settings)
    except DeliveryError as exc:
        _record_failure(settings, engine, message, exc, channel, clock(), report)
        return
    except Exception as exc:
        # A defect in a channel, not an answer from the receiver: nothing says the
        # message did not leave, so it is only retried where repeats are dropped.
        log.exception("channel %s failed on message %s", message.channel, message.id)
        problem = DeliveryError(f"unexpected error in channel {message.channel}: {exc!r}")
        problem.uncertain = True
        _record_failure(settings, engine, message, problem, channel, clock(), report)
        return
    _record_sent(engine, message, result, clock(), report)


def _to_erased(settings: Settings, engine: Engine, message: OutboxMessage) -> bool:
    """Whether the message goes to an erased person: its address, or for a public reply the
    author of the mention it answers."""
    recipient = message.recipient.strip()
    email = recipient if "@" in recipient.lstrip("@") else None
    mention_id = message.payload.get("mention_id") if isinstance(message.payload, dict) else None
    with Session(engine) as session:
        mention = session.get(Mention, mention_id) if isinstance(mention_id, int) else None
        author = session.get(Author, mention.author_id) if mention and mention.author_id else None
        if email is None and author is None:
            return False
        return is_erased(
            session,
            key=settings.privacy.erasure_key(settings.secret_key),
            email=email,
            platform=author.platform if author else None,
            handle=author.handle if author else None,
        )


def _record_sent(
    engine: Engine,
    message: OutboxMessage,
    result: SendResult,
    now: datetime,
    report: DeliveryReport,
) -> None:
    with session_scope(engine) as session:
        if store.mark_sent(
            session,
            message.id or 0,
            now=now,
            remote_id=result.remote_id,
            remote_url=result.remote_url,
        ):
            _audit(session, message, "outbox.sent", remote_id=result.remote_id)
            store.sync_draft(session, message.draft_id, "sent")
    report.sent += 1
    log.info("sent message %s (%s) via %s", message.id, message.kind, message.channel)


def _record_failure(
    settings: Settings,
    engine: Engine,
    message: OutboxMessage,
    error: DeliveryError,
    channel: Channel | None,
    now: datetime,
    report: DeliveryReport,
) -> None:
    delivery = settings.delivery
    dedupes = channel is not None and channel.dedupes_by_key
    reason = error.reason
    out_of_attempts = message.attempts >= delivery.max_attempts
    # A last attempt that may have arrived is not a failure a retry could safely repair.
    if error.uncertain and (not dedupes or out_of_attempts):
        status, action, retry_at = "uncertain", "outbox.uncertain", None
        reason = f"{reason}; {_check_then_force(message)}"
    elif error.permanent or out_of_attempts:
        status, action, retry_at = "failed", "outbox.failed", None
        if not error.permanent:
            reason = f"gave up after {message.attempts} attempt(s): {reason}"
    else:
        delay = min(delivery.max_backoff, delivery.backoff * 2 ** (message.attempts - 1))
        if error.retry_after is not None:
            delay = max(delay, error.retry_after)
        window = channel.dedupe_seconds if channel is not None else None
        if error.uncertain and window is not None:
            # The receiver may have it: ask again while it still knows the key.
            delay = min(delay, window / 2)
        status, action, retry_at = "pending", None, now + timedelta(seconds=delay)
    with session_scope(engine) as session:
        moved = store.release(
            session, message, status=status, now=now, error=reason, next_attempt_at=retry_at
        )
        if moved and action:
            _audit(session, message, action, error=reason, attempts=message.attempts)
            if status == "failed":
                store.sync_draft(session, message.draft_id, "failed")
    counter = {"uncertain": "uncertain", "failed": "failed"}.get(status, "retrying")
    setattr(report, counter, getattr(report, counter) + 1)
    report.problems.append(f"message {message.id} ({message.channel}): {reason}")
    log.warning("message %s via %s: %s (%s)", message.id, message.channel, reason, status)


def _resume_abandoned(
    settings: Settings, engine: Engine, now: datetime, report: DeliveryReport
) -> None:
    """Claims left by a sender that stopped between the send and recording its outcome."""
    with session_scope(engine) as session:
        for message in store.abandoned(session, now=now):
            if not _resend_is_dropped(message, now):
                reason = (
                    "interrupted: the sender stopped after handing the message to "
                    f"{message.channel} and before recording the outcome; it may have "
                    f"arrived. {_check_then_force(message)}"
                )
                if store.release(session, message, status="uncertain", now=now, error=reason):
                    _audit(session, message, "outbox.uncertain", error=reason)
                    report.uncertain += 1
                    report.problems.append(f"message {message.id}: {reason}")
            elif message.attempts >= settings.delivery.max_attempts:
                reason = f"interrupted on each of {message.attempts} attempt(s)"
                if store.release(session, message, status="failed", now=now, error=reason):
                    _audit(session, message, "outbox.failed", error=reason)
                    store.sync_draft(session, message.draft_id, "failed")
                    report.failed += 1
            elif store.release(
                session,
                message,
                status="pending",
                now=now,
                error="interrupted; sent again with the same idempotency key",
                next_attempt_at=now,
            ):
                report.resumed += 1


def _resend_is_dropped(message: OutboxMessage, now: datetime) -> bool:
    """Whether the receiver would drop this claimed message if it came again now: it
    drops repeats of a key, and still remembers the key of a send started at the claim."""
    try:
        channel = get_channel(message.channel)
    except KeyError:
        return False
    if not channel.dedupes_by_key:
        return False
    window = channel.dedupe_seconds
    # The claim (which sets `updated_at`) comes right before the send.
    return window is None or (now - message.updated_at).total_seconds() < window


def _check_then_force(message: OutboxMessage) -> str:
    return (
        f"Check with the recipient, then `ascolto outbox retry {message.id} --force` to send "
        f"it again or `ascolto outbox cancel {message.id}`"
    )


def retry(
    session: Session, message_id: int, *, force: bool = False, actor: str = "cli"
) -> OutboxMessage:
    """Put a failed, cancelled or (with `force`, after a person checked) uncertain message
    back in line, with its attempts counted from zero."""
    message = _get(session, message_id)
    if message.status == "uncertain" and not force:
        raise OutboxError(
            f"message {message_id} may already have arrived ({message.last_error}); "
            "check with the recipient, then retry with --force to send it again"
        )
    allowed = ("failed", "cancelled", "uncertain") if force else ("failed", "cancelled")
    if message.status not in allowed:
        raise OutboxError(
            f"message {message_id} is {message.status}; only failed, cancelled or "
            "uncertain messages (with --force) can be retried"
        )
    if not store.set_status(
        session, message_id, expected=allowed, status="pending", reset_attempts=True
    ):
        raise OutboxError(f"message {message_id} changed meanwhile; look again")
    store.sync_draft(session, message.draft_id, "approved", only_from=("failed",))
    audit.record(
        session,
        actor=actor,
        action="outbox.retry",
        subject_type="outbox_message",
        subject_id=message_id,
        details={"from": message.status, "forced": force},
    )
    session.refresh(message)
    return message


def cancel(
    session: Session, message_id: int, *, actor: str = "cli", reason: str | None = None
) -> OutboxMessage:
    """Stop a message that has not been sent: pending, failed or uncertain."""
    message = _get(session, message_id)
    allowed = ("pending", "failed", "uncertain")
    if message.status not in allowed or not store.set_status(
        session, message_id, expected=allowed, status="cancelled", error=reason
    ):
        raise OutboxError(
            f"message {message_id} is {message.status}; only pending, failed or uncertain "
            "messages can be cancelled"
        )
    audit.record(
        session,
        actor=actor,
        action="outbox.cancel",
        subject_type="outbox_message",
        subject_id=message_id,
        details={"from": message.status, "reason": reason},
    )
    session.refresh(message)
    return message


def _get(session: Session, message_id: int) -> OutboxMessage:
    message = store.get_message(session, message_id)
    if message is None:
        raise OutboxError(f"no outbox message with id {message_id}")
    return message


def _audit(session: Session, message: OutboxMessage, action: str, **details: Any) -> None:
    audit.record(
        session,
        actor=ACTOR,
        action=action,
        subject_type="outbox_message",
        subject_id=message.id,
        details={
            "key": message.key,
            "channel": message.channel,
            "kind": message.kind,
            "recipient": message.recipient,
            **details,
        },
    )
