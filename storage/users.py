"""Users, their web sessions and failed sign-ins: rows only, no password logic."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from storage.models import LoginFailure, User, WebSession


def add_user(session: Session, *, username: str, password_hash: str, role: str) -> User:
    """Add an active user (flushed, so it has an id)."""
    user = User(username=username, password_hash=password_hash, role=role)
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, username: str) -> User | None:
    """The user called `username`, active or not."""
    return session.exec(select(User).where(User.username == username)).first()


def get_user_by_id(session: Session, user_id: int) -> User | None:
    """The user with this id, active or not."""
    return session.get(User, user_id)


def has_users(session: Session) -> bool:
    """Whether anyone at all can be signed in as (a fresh install has no one)."""
    return session.exec(select(User.id).limit(1)).first() is not None


def list_users(session: Session) -> Sequence[User]:
    """Every user, by name."""
    return session.exec(select(User).order_by(col(User.username))).all()


def add_session(
    session: Session,
    *,
    user_id: int,
    token_hash: str,
    csrf_token: str,
    now: datetime,
    expires_at: datetime,
) -> WebSession:
    """Store a new web session for `user_id`."""
    web_session = WebSession(
        token_hash=token_hash,
        user_id=user_id,
        csrf_token=csrf_token,
        created_at=now,
        last_seen_at=now,
        expires_at=expires_at,
    )
    session.add(web_session)
    session.flush()
    return web_session


def find_session(session: Session, token_hash: str) -> tuple[WebSession, User] | None:
    """The web session with this token hash and its user, expired or not."""
    row = session.exec(
        select(WebSession, User)
        .join(User, col(User.id) == col(WebSession.user_id))
        .where(WebSession.token_hash == token_hash)
    ).first()
    return None if row is None else (row[0], row[1])


def delete_session(session: Session, session_id: int) -> None:
    """End one web session."""
    session.execute(delete(WebSession).where(col(WebSession.id) == session_id))


def delete_user_sessions(session: Session, user_id: int) -> int:
    """End every web session of a user; returns how many there were."""
    result = session.execute(delete(WebSession).where(col(WebSession.user_id) == user_id))
    return int(getattr(result, "rowcount", 0) or 0)


def delete_expired_sessions(session: Session, *, now: datetime) -> int:
    """Forget sessions past their absolute expiry."""
    result = session.execute(delete(WebSession).where(col(WebSession.expires_at) <= now))
    return int(getattr(result, "rowcount", 0) or 0)


def add_login_failure(session: Session, *, username: str, address: str, now: datetime) -> None:
    """Count one refused sign-in."""
    session.add(LoginFailure(username=username, address=address, at=now))
    session.flush()


def count_login_failures(
    session: Session, *, address: str, since: datetime, username: str | None = None
) -> int:
    """Refused sign-ins from this address since `since`: for one username, or for any."""
    query = (
        select(func.count())
        .select_from(LoginFailure)
        .where(LoginFailure.address == address, col(LoginFailure.at) > since)
    )
    if username is not None:
        query = query.where(LoginFailure.username == username)
    return int(session.exec(query).one())


def clear_login_failures(
    session: Session,
    *,
    username: str | None = None,
    address: str | None = None,
    before: datetime | None = None,
) -> None:
    """Forget refused sign-ins: of one username, from one address, or older than `before`."""
    query = delete(LoginFailure)
    if username is not None:
        query = query.where(col(LoginFailure.username) == username)
    if address is not None:
        query = query.where(col(LoginFailure.address) == address)
    if before is not None:
        query = query.where(col(LoginFailure.at) <= before)
    session.execute(query)


def set_language(session: Session, user_id: int, language: str | None) -> None:
    """The language a person chose for the web app; None lets their browser decide."""
    user = session.get(User, user_id)
    if user is not None:
        user.language = language
        session.add(user)
