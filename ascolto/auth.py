"""Users and signing in: argon2 password hashes, rate-limited sign-ins, server-side sessions.

A session is a random token in the browser's cookie; the database keeps only its SHA-256,
so a leaked database does not hand out live sessions. Each session carries its own CSRF
token. Sessions end after `[web] idle_minutes` without a request and, however active,
after `[web] session_minutes`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session

from ascolto.settings import WebSettings
from storage import users
from storage.audit import record
from storage.errors import AscoltoError
from storage.models import User, WebSession
from storage.types import utcnow

ROLES = ("agent", "supervisor", "product", "marketer", "admin")
"""Every role a user may have."""
CARE_ROLES = ("agent", "supervisor", "admin")
"""The roles that work the review queue, from least to most trusted: each may do everything
the ones before it may. `product` (defect clusters and alerts) and `marketer` (campaigns)
stand beside them; `admin` may do everything."""

MIN_PASSWORD = 10
MAX_PASSWORD = 1024
USERNAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-@")
# How often a session's last request time is written: often enough for the idle limit,
# rarely enough that reading pages does not become a stream of writes.
TOUCH_EVERY = timedelta(seconds=60)

_hasher = PasswordHasher()
_dummy_hash: list[str] = []


class UserError(AscoltoError):
    """A user cannot be created or changed as asked; the message says why."""

    exit_code = 2


def has_role(role: str, needed: str) -> bool:
    """Whether `role` may do what `needed` may: the same role, a more trusted care role,
    or admin."""
    if role not in ROLES or needed not in ROLES:
        return False
    if role in (needed, "admin"):
        return True
    return (
        role in CARE_ROLES
        and needed in CARE_ROLES
        and CARE_ROLES.index(role) >= CARE_ROLES.index(needed)
    )


def normal_username(username: str) -> str:
    """Usernames are compared in lower case, without surrounding spaces."""
    return username.strip().lower()


def hash_password(password: str) -> str:
    """An argon2id hash of `password`, after checking its length."""
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password is too short: use at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise UserError(f"the password is too long: use at most {MAX_PASSWORD} characters")
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether `password` matches the stored hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _check_username(username: str) -> str:
    name = normal_username(username)
    if not name or len(name) > 100 or not set(name) <= USERNAME_CHARS:
        raise UserError(
            f"username {username!r}: use 1 to 100 letters, digits, '.', '_', '-' or '@'"
        )
    return name


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise UserError(f"role {role!r}: expected one of {', '.join(ROLES)}")
    return role


def create_user(
    session: Session, *, username: str, password: str, role: str, actor: str = "cli"
) -> User:
    """Add an active user; a taken username or a weak password is a UserError."""
    name = _check_username(username)
    _check_role(role)
    if users.get_user(session, name) is not None:
        raise UserError(f"a user named {name!r} already exists")
    user = users.add_user(session, username=name, password_hash=hash_password(password), role=role)
    record(
        session,
        actor=actor,
        action="user.created",
        subject_type="user",
        subject_id=name,
        details={"role": role},
    )
    return user


def find_user(session: Session, username: str) -> User:
    """The user called `username`, or a UserError."""
    user = users.get_user(session, normal_username(username))
    if user is None:
        raise UserError(f"no user named {normal_username(username)!r}")
    return user


def set_password(session: Session, username: str, password: str, *, actor: str = "cli") -> User:
    """Replace a user's password and end their sessions."""
    user = find_user(session, username)
    user.password_hash = hash_password(password)
    session.add(user)
    ended = users.delete_user_sessions(session, user.id or 0)
    record(
        session,
        actor=actor,
        action="user.password_changed",
        subject_type="user",
        subject_id=user.username,
        details={"sessions_ended": ended},
    )
    return user


def set_active(session: Session, username: str, active: bool, *, actor: str = "cli") -> User:
    """Enable or disable a user; disabling ends their sessions at once."""
    user = find_user(session, username)
    user.active = active
    session.add(user)
    ended = 0 if active else users.delete_user_sessions(session, user.id or 0)
    record(
        session,
        actor=actor,
        action="user.enabled" if active else "user.disabled",
        subject_type="user",
        subject_id=user.username,
        details={"sessions_ended": ended},
    )
    return user


def set_role(session: Session, username: str, role: str, *, actor: str = "cli") -> User:
    """Give a user another role."""
    user = find_user(session, username)
    before, user.role = user.role, _check_role(role)
    session.add(user)
    record(
        session,
        actor=actor,
        action="user.role_changed",
        subject_type="user",
        subject_id=user.username,
        details={"from": before, "to": role},
    )
    return user


def new_token() -> str:
    """A random, URL-safe token with 256 bits of entropy."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the database keeps of a session token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def csrf_matches(expected: str | None, given: str | None) -> bool:
    """Whether a submitted CSRF token is the expected one (in constant time)."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


@dataclass(frozen=True)
class SignedIn:
    """A successful sign-in: the cookie token to hand to the browser, and its session."""

    user: User
    token: str
    web_session: WebSession


@dataclass(frozen=True)
class Refused:
    """A refused sign-in; `reason` is never shown as more than 'wrong credentials'."""

    reason: Literal["credentials", "throttled"]
    retry_minutes: int = 0


def sign_in(
    session: Session,
    settings: WebSettings,
    *,
    username: str,
    password: str,
    address: str,
    now: datetime | None = None,
) -> SignedIn | Refused:
    """Check a username and password and open a session; the caller commits either way.

    Unknown users, wrong passwords and disabled users are refused alike, after the same
    work, so the answer does not tell which usernames exist. Failures are counted per
    username and address (`login_attempts`) and per address (`login_address_attempts`)
    within `login_window_minutes`; over either limit every attempt is refused, unchecked.
    """
    now = now or utcnow()
    name = normal_username(username)[:100]
    address = address[:100]
    window_start = now - timedelta(minutes=settings.login_window_minutes)
    users.clear_login_failures(session, before=window_start)
    users.delete_expired_sessions(session, now=now)
    failures = users.count_login_failures(
        session, username=name, address=address, since=window_start
    )
    # Many usernames tried from one address is guessing too, however few tries each got.
    from_address = users.count_login_failures(session, address=address, since=window_start)
    if failures >= settings.login_attempts or from_address >= settings.login_address_attempts:
        record(
            session,
            actor="web",
            action="user.login_throttled",
            subject_type="user",
            subject_id=name,
            details={"address": address},
        )
        return Refused("throttled", retry_minutes=settings.login_window_minutes)
    user = users.get_user(session, name)
    if user is None:
        verify_password(_dummy(), password)
        valid = False
    else:
        valid = verify_password(user.password_hash, password) and user.active
    if user is None or not valid:
        users.add_login_failure(session, username=name, address=address, now=now)
        record(
            session,
            actor="web",
            action="user.login_failed",
            subject_type="user",
            subject_id=name,
            details={"address": address},
        )
        return Refused("credentials")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
        session.add(user)
    users.clear_login_failures(session, username=name, address=address)
    token, web_session = open_session(session, settings, user, now=now)
    record(
        session,
        actor=user.username,
        action="user.login",
        subject_type="user",
        subject_id=user.username,
        details={"address": address},
    )
    return SignedIn(user=user, token=token, web_session=web_session)


def _dummy() -> str:
    if not _dummy_hash:
        _dummy_hash.append(_hasher.hash(new_token()))
    return _dummy_hash[0]


def open_session(
    session: Session, settings: WebSettings, user: User, *, now: datetime | None = None
) -> tuple[str, WebSession]:
    """A new session for `user`: the cookie token and the stored row."""
    now = now or utcnow()
    token = new_token()
    web_session = users.add_session(
        session,
        user_id=user.id or 0,
        token_hash=token_hash(token),
        csrf_token=new_token(),
        now=now,
        expires_at=now + timedelta(minutes=settings.session_minutes),
    )
    return token, web_session


def resume(
    session: Session,
    settings: WebSettings,
    token: str,
    *,
    now: datetime | None = None,
    touch: bool = True,
) -> tuple[User, WebSession] | None:
    """The user and session behind a cookie token, or None when it is unknown or over.

    An expired, idle or disabled user's session is deleted on the way. With `touch`
    False (a page refreshing itself, not a person) the request does not count as activity.
    """
    now = now or utcnow()
    found = users.find_session(session, token_hash(token))
    if found is None:
        return None
    web_session, user = found
    idle_until = web_session.last_seen_at + timedelta(minutes=settings.idle_minutes)
    if now >= web_session.expires_at or now >= idle_until or not user.active:
        users.delete_session(session, web_session.id or 0)
        return None
    if touch and now - web_session.last_seen_at >= TOUCH_EVERY:
        web_session.last_seen_at = now
        session.add(web_session)
    return user, web_session


def sign_out(session: Session, token: str) -> None:
    """End the session behind a cookie token, if any."""
    found = users.find_session(session, token_hash(token))
    if found is None:
        return
    web_session, user = found
    users.delete_session(session, web_session.id or 0)
    record(
        session,
        actor=user.username,
        action="user.logout",
        subject_type="user",
        subject_id=user.username,
    )
