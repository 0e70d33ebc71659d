"""API tokens: rows only; the token itself is never stored, only its SHA-256."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from storage.models import ApiToken, User


def add_token(
    session: Session, *, name: str, token_hash: str, user_id: int, created_by: str
) -> ApiToken:
    """Store a new token (flushed, so it has an id)."""
    token = ApiToken(name=name, token_hash=token_hash, user_id=user_id, created_by=created_by)
    session.add(token)
    session.flush()
    return token


def find_token(session: Session, token_hash: str) -> tuple[ApiToken, User] | None:
    """The live token with this hash and its user."""
    return session.exec(
        select(ApiToken, User)
        .join(User, col(User.id) == col(ApiToken.user_id))
        .where(ApiToken.token_hash == token_hash)
        .where(col(ApiToken.revoked_at).is_(None))
    ).first()


def list_tokens(session: Session) -> Sequence[tuple[ApiToken, User]]:
    """Every token with its user, newest first."""
    return session.exec(
        select(ApiToken, User)
        .join(User, col(User.id) == col(ApiToken.user_id))
        .order_by(col(ApiToken.id).desc())
    ).all()


def get_token(session: Session, token_id: int) -> ApiToken | None:
    """One token by id."""
    return session.get(ApiToken, token_id)


def mark_used(session: Session, token: ApiToken, *, now: datetime) -> None:
    """Note when a token was last used."""
    token.last_used_at = now
    session.add(token)


def revoke(session: Session, token: ApiToken, *, now: datetime) -> None:
    """Stop a token from working."""
    token.revoked_at = now
    session.add(token)
