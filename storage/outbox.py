"""Outbox rows and their state changes, each a compare-and-set so two senders never race.

pending -> sending (claimed, committed before the network call) -> sent | pending (retry)
| failed | uncertain; a person moves failed, uncertain or cancelled messages back to pending.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.models import Draft, OutboxMessage
from storage.sources import _owner_is_dead
from storage.types import utcnow

STATUSES = ("pending", "sending", "sent", "failed", "cancelled", "uncertain")


def get_message(session: Session, message_id: int) -> OutboxMessage | None:
    """The message with this id."""
    return session.get(OutboxMessage, message_id)


def get_by_key(session: Session, key: str) -> OutboxMessage | None:
    """The message with this idempotency key."""
    return session.exec(select(OutboxMessage).where(OutboxMessage.key == key)).first()


def keys_for_alerts(session: Session, alert_ids: Sequence[int]) -> set[str]:
    """Idempotency keys of every message already enqueued for these alerts."""
    if not alert_ids:
        return set()
    rows = session.exec(
        select(OutboxMessage.key).where(col(OutboxMessage.alert_id).in_(list(alert_ids)))
    ).all()
    return set(rows)


def existing_keys(session: Session, keys: Sequence[str]) -> set[str]:
    """Which of `keys` are already taken."""
    if not keys:
        return set()
    rows = session.exec(
        select(OutboxMessage.key).where(col(OutboxMessage.key).in_(list(keys)))
    ).all()
    return set(rows)


def add_message(session: Session, message: OutboxMessage) -> tuple[OutboxMessage, bool]:
    """Store `message` unless its key is taken; returns the stored row and whether it is new.

    A concurrent insert of the same key loses on the unique constraint inside a savepoint,
    so the caller's transaction goes on with the row the other one stored.
    """
    existing = get_by_key(session, message.key)
    if existing is not None:
        return existing, False
    try:
        with session.begin_nested():
            session.add(message)
    except IntegrityError:
        existing = get_by_key(session, message.key)
        if existing is None:
            raise
        return existing, False
    return message, True


def due_ids(
    session: Session, *, now: datetime, limit: int, skip_channels: Sequence[str] = ()
) -> list[int]:
    """Ids of pending messages whose time has come, oldest due first; messages of
    `skip_channels` (which cannot send now) are left waiting."""
    query = (
        select(OutboxMessage.id)
        .where(OutboxMessage.status == "pending")
        .where(col(OutboxMessage.next_attempt_at) <= now)
    )
    if skip_channels:
        query = query.where(col(OutboxMessage.channel).not_in(list(skip_channels)))
    rows = session.exec(
        query.order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id)).limit(limit)
    ).all()
    return [row for row in rows if row is not None]


def claim(
    session: Session, message_id: int, *, owner: str, now: datetime, until: datetime
) -> OutboxMessage | None:
    """Take a due pending message for sending (one more attempt); None if another sender
    took it first or it is no longer due."""
    result = session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message_id)
        .where(col(OutboxMessage.status) == "pending")
        .where(col(OutboxMessage.next_attempt_at) <= now)
        .values(
            status="sending",
            lease_owner=owner,
            lease_until=until,
            attempts=OutboxMessage.attempts + 1,
            updated_at=now,
        )
    )
    if getattr(result, "rowcount", 0) != 1:
        return None
    return session.get(OutboxMessage, message_id, populate_existing=True)


def abandoned(session: Session, *, now: datetime) -> Sequence[OutboxMessage]:
    """Messages claimed by a sender that stopped: lease expired, or its local process died."""
    claimed = session.exec(select(OutboxMessage).where(OutboxMessage.status == "sending")).all()
    return [
        m
        for m in claimed
        if m.lease_until is None or m.lease_until < now or _owner_is_dead(m.lease_owner)
    ]


def release(
    session: Session,
    message: OutboxMessage,
    *,
    status: str,
    now: datetime,
    error: str | None,
    next_attempt_at: datetime | None = None,
) -> bool:
    """Move a message out of `sending`, if the claim seen in `message` still holds."""
    values: dict[str, Any] = {
        "status": status,
        "lease_owner": None,
        "lease_until": None,
        "last_error": error,
        "updated_at": now,
    }
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    owner = col(OutboxMessage.lease_owner)
    result = session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message.id)
        .where(col(OutboxMessage.status) == "sending")
        .where(owner.is_(None) if message.lease_owner is None else owner == message.lease_owner)
        .values(**values)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def mark_sent(
    session: Session,
    message_id: int,
    *,
    now: datetime,
    remote_id: str | None,
    remote_url: str | None,
) -> bool:
    """Record a delivery. The receiver has the message, so this wins over any other state
    (a person cancelling it, or another sender that took over a claim that ran late)."""
    result = session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message_id)
        .where(col(OutboxMessage.status) != "sent")
        .values(
            status="sent",
            sent_at=now,
            remote_id=remote_id,
            remote_url=remote_url,
            last_error=None,
            lease_owner=None,
            lease_until=None,
            updated_at=now,
        )
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def set_status(
    session: Session,
    message_id: int,
    *,
    expected: Sequence[str],
    status: str,
    now: datetime | None = None,
    reset_attempts: bool = False,
    error: str | None = None,
) -> bool:
    """Change a message's status if it is one of `expected` (a person's retry or cancel)."""
    when = now or utcnow()
    values: dict[str, Any] = {"status": status, "updated_at": when}
    if status == "pending":
        values |= {"next_attempt_at": when, "last_error": error}
    elif error is not None:
        values["last_error"] = error
    if reset_attempts:
        values["attempts"] = 0
    result = session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message_id)
        .where(col(OutboxMessage.status).in_(list(expected)))
        .values(**values)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def list_messages(
    session: Session,
    *,
    status: str | None = None,
    channel: str | None = None,
    kind: str | None = None,
    limit: int = 50,
) -> Sequence[OutboxMessage]:
    """Newest messages first, optionally of one status, channel or kind."""
    query = select(OutboxMessage)
    if status:
        query = query.where(OutboxMessage.status == status)
    if channel:
        query = query.where(OutboxMessage.channel == channel)
    if kind:
        query = query.where(OutboxMessage.kind == kind)
    return session.exec(query.order_by(col(OutboxMessage.id).desc()).limit(limit)).all()


def count_by_status(session: Session) -> dict[str, int]:
    """How many messages are in each status."""
    rows = session.exec(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    ).all()
    return {status: int(count) for status, count in rows}


def sync_draft(
    session: Session,
    draft_id: int | None,
    status: str,
    *,
    only_from: Sequence[str] = ("approved", "failed"),
) -> None:
    """Carry a delivery outcome to the draft the message came from."""
    if draft_id is None:
        return
    session.execute(
        update(Draft)
        .where(col(Draft.id) == draft_id)
        .where(col(Draft.status).in_(list(only_from)))
        .values(status=status)
    )
