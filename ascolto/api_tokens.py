"""Tokens for scripts using the JSON API: created on the command line, shown once, kept
hashed, acting with their user's role; every creation and revocation is audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session

from ascolto.auth import UserError, find_user, new_token, token_hash
from storage import api_tokens as store
from storage.audit import record
from storage.models import ApiToken, User
from storage.types import utcnow

PREFIX = "asc_"
# Last-use times are written at most this often, so reading the API is not a stream of writes.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class NewToken:
    """A token just created: `secret` is shown once and never stored."""

    token: ApiToken
    secret: str


def create_token(session: Session, *, username: str, name: str, by: str = "cli") -> NewToken:
    """A new token acting as `username`; a disabled or unknown user is a UserError."""
    user = find_user(session, username)
    if not user.active:
        raise UserError(f"{user.username!r} is disabled; enable the user first")
    label = name.strip()
    if not label or len(label) > 100:
        raise UserError("token name: use 1 to 100 characters")
    secret = PREFIX + new_token()
    token = store.add_token(
        session, name=label, token_hash=token_hash(secret), user_id=user.id or 0, created_by=by
    )
    record(
        session,
        actor=by,
        action="api_token.created",
        subject_type="api_token",
        subject_id=token.id,
        details={"name": label, "user": user.username},
    )
    return NewToken(token, secret)


def authenticate(session: Session, secret: str) -> tuple[ApiToken, User] | None:
    """The token and active user behind a bearer token, or None."""
    if not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    found = store.find_token(session, token_hash(secret))
    if found is None or not found[1].active:
        return None
    token, _user = found
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
        store.mark_used(session, token, now=now)
    return found


def revoke_token(session: Session, token_id: int, *, by: str = "cli") -> ApiToken:
    """Revoke a token at once; an unknown id is a UserError."""
    token = store.get_token(session, token_id)
    if token is None:
        raise UserError(f"no API token {token_id}")
    if token.revoked_at is None:
        store.revoke(session, token, now=utcnow())
        record(
            session,
            actor=by,
            action="api_token.revoked",
            subject_type="api_token",
            subject_id=token_id,
            details={"name": token.name},
        )
    return token
