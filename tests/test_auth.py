"""Users and signing in, on SQLite and PostgreSQL: hashes, sessions, expiry, rate limits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ascolto.auth import (
    ROLES,
    Refused,
    SignedIn,
    UserError,
    create_user,
    csrf_matches,
    has_role,
    hash_password,
    resume,
    set_active,
    set_password,
    set_role,
    sign_in,
    sign_out,
    token_hash,
    verify_password,
)
from ascolto.settings import WebSettings
from storage.db import session_scope
from storage.models import AuditEvent, LoginFailure, User, WebSession
from tests.factories import at

PASSWORD = "correct horse battery staple"
WEB = WebSettings(
    session_minutes=120,
    idle_minutes=30,
    login_attempts=3,
    login_window_minutes=10,
    login_address_attempts=5,
)


@pytest.fixture
def giulia(engine: Engine) -> User:
    with session_scope(engine) as session:
        return create_user(session, username="Giulia", password=PASSWORD, role="supervisor")


def attempt(
    engine: Engine,
    password: str = PASSWORD,
    *,
    username: str = "giulia",
    address: str = "192.0.2.1",
    minutes: float = 0,
) -> SignedIn | Refused:
    with session_scope(engine) as session:
        return sign_in(
            session, WEB, username=username, password=password, address=address, now=at(minutes)
        )


def signed_in(engine: Engine, **kwargs: object) -> SignedIn:
    outcome = attempt(engine, **kwargs)  # type: ignore[arg-type]
    assert isinstance(outcome, SignedIn), outcome
    return outcome


def resumed(engine: Engine, token: str, minutes: float, *, touch: bool = True) -> str | None:
    with session_scope(engine) as session:
        found = resume(session, WEB, token, now=at(minutes), touch=touch)
        return None if found is None else found[0].username


def actions(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return list(session.exec(select(AuditEvent.action).order_by(AuditEvent.id)).all())


def test_passwords_are_stored_as_salted_argon2id_hashes() -> None:
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first.startswith("$argon2id$")
    assert first != second  # a salt of its own each time
    assert PASSWORD not in first
    assert verify_password(first, PASSWORD)
    assert not verify_password(first, PASSWORD + " ")
    assert not verify_password(first, "")
    assert not verify_password("not a hash", PASSWORD)


def test_weak_passwords_and_bad_names_are_refused(engine: Engine) -> None:
    with session_scope(engine) as session:
        with pytest.raises(UserError, match="at least 10 characters"):
            create_user(session, username="tom", password="short", role="agent")
        with pytest.raises(UserError, match="one of agent, supervisor, product, marketer, admin"):
            create_user(session, username="tom", password=PASSWORD, role="boss")
        with pytest.raises(UserError, match="username 'tom smith'"):
            create_user(session, username="tom smith", password=PASSWORD, role="agent")


def test_usernames_are_unique_whatever_their_case(engine: Engine, giulia: User) -> None:
    assert giulia.username == "giulia"
    with session_scope(engine) as session, pytest.raises(UserError, match="already exists"):
        create_user(session, username=" GIULIA ", password=PASSWORD, role="agent")
    assert isinstance(attempt(engine, username="GiUlIa"), SignedIn)


def test_care_roles_are_ordered_and_admin_may_do_everything() -> None:
    assert has_role("admin", "supervisor")
    assert has_role("supervisor", "supervisor")
    assert has_role("supervisor", "agent")
    assert not has_role("agent", "supervisor")
    assert not has_role("supervisor", "admin")
    assert not has_role("unknown", "agent")
    assert not has_role("agent", "unknown")
    assert all(has_role("admin", role) for role in ROLES)


def test_product_and_marketer_stand_beside_the_care_roles() -> None:
    assert has_role("product", "product")
    assert has_role("marketer", "marketer")
    for side in ("product", "marketer"):
        for care in ("agent", "supervisor", "admin"):
            assert not has_role(side, care)
            assert not has_role(care, side) or care == "admin"
    assert not has_role("product", "marketer")
    assert not has_role("marketer", "product")


def test_sign_in_opens_a_session_stored_only_as_a_hash(engine: Engine, giulia: User) -> None:
    outcome = signed_in(engine)
    assert outcome.user.username == "giulia"
    with Session(engine) as session:
        stored = session.exec(select(WebSession)).one()
    assert stored.token_hash == token_hash(outcome.token)
    assert outcome.token not in stored.token_hash
    assert len(stored.csrf_token) >= 40
    assert stored.expires_at == at(120)
    assert resumed(engine, outcome.token, 1) == "giulia"
    assert resumed(engine, "a made-up token", 1) is None
    assert actions(engine)[-1] == "user.login"


@pytest.mark.parametrize("who", ["wrong password", "unknown user", "disabled user"])
def test_refusals_look_the_same(engine: Engine, giulia: User, who: str) -> None:
    if who == "disabled user":
        with session_scope(engine) as session:
            set_active(session, "giulia", False)
    username = "nobody" if who == "unknown user" else "giulia"
    password = "wrong password" if who == "wrong password" else PASSWORD
    outcome = attempt(engine, password, username=username)
    assert outcome == Refused("credentials")
    with Session(engine) as session:
        assert session.exec(select(WebSession)).all() == []
        failure = session.exec(select(LoginFailure)).one()
        assert (failure.username, failure.address) == (username, "192.0.2.1")
    assert actions(engine)[-1] == "user.login_failed"


def test_idle_sessions_end(engine: Engine, giulia: User) -> None:
    token = signed_in(engine).token
    assert resumed(engine, token, 29) == "giulia"  # seen at 29: idle until 59
    assert resumed(engine, token, 58) == "giulia"  # seen at 58: idle until 88
    assert resumed(engine, token, 88) is None
    assert resumed(engine, token, 89) is None  # deleted, not only refused
    with Session(engine) as session:
        assert session.exec(select(WebSession)).all() == []


def test_a_page_refreshing_itself_does_not_keep_the_session_alive(
    engine: Engine, giulia: User
) -> None:
    token = signed_in(engine).token
    for minute in range(0, 30, 5):
        assert resumed(engine, token, minute, touch=False) == "giulia"
    assert resumed(engine, token, 30, touch=False) is None


def test_requests_within_a_minute_do_not_write(engine: Engine, giulia: User) -> None:
    token = signed_in(engine).token
    assert resumed(engine, token, 0.5) == "giulia"
    with Session(engine) as session:
        assert session.exec(select(WebSession.last_seen_at)).one() == at(0)
    assert resumed(engine, token, 1) == "giulia"
    with Session(engine) as session:
        assert session.exec(select(WebSession.last_seen_at)).one() == at(1)


def test_active_sessions_still_end_at_their_absolute_limit(engine: Engine, giulia: User) -> None:
    token = signed_in(engine).token
    for minute in range(20, 120, 20):
        assert resumed(engine, token, minute) == "giulia"
    assert resumed(engine, token, 119.9) == "giulia"
    assert resumed(engine, token, 120) is None


def test_sign_out_ends_only_that_session(engine: Engine, giulia: User) -> None:
    first = signed_in(engine).token
    second = signed_in(engine).token
    assert first != second
    with session_scope(engine) as session:
        sign_out(session, first)
        sign_out(session, "unknown token")
    assert resumed(engine, first, 1) is None
    assert resumed(engine, second, 1) == "giulia"
    assert actions(engine)[-1] == "user.logout"


def test_password_change_disable_and_role_change(engine: Engine, giulia: User) -> None:
    token = signed_in(engine).token
    with session_scope(engine) as session:
        set_password(session, "giulia", "another long password")
    assert resumed(engine, token, 1) is None
    assert attempt(engine) == Refused("credentials")
    token = signed_in(engine, password="another long password").token

    with session_scope(engine) as session:
        set_active(session, "giulia", False)
    assert resumed(engine, token, 1) is None
    with session_scope(engine) as session:
        set_active(session, "giulia", True)
        set_role(session, "giulia", "admin")
        with pytest.raises(UserError, match="no user named 'nobody'"):
            set_active(session, "nobody", False)
    assert signed_in(engine, password="another long password").user.role == "admin"
    audit = actions(engine)
    for action in ("user.password_changed", "user.disabled", "user.enabled", "user.role_changed"):
        assert action in audit


def test_failed_sign_ins_are_limited_per_username_and_address(engine: Engine, giulia: User) -> None:
    for minute in range(3):
        assert attempt(engine, "guess", minutes=minute) == Refused("credentials")
    # Even the right password is refused now, without being checked.
    assert attempt(engine, minutes=3) == Refused("throttled", retry_minutes=10)
    assert actions(engine)[-1] == "user.login_throttled"
    # The same username from another address, and another username, are unaffected.
    assert isinstance(attempt(engine, address="198.51.100.7", minutes=3), SignedIn)
    assert attempt(engine, "guess", username="tom", minutes=3) == Refused("credentials")
    # Once the first failures are older than the window, a sign-in works again.
    assert attempt(engine, minutes=9.9) == Refused("throttled", retry_minutes=10)
    assert isinstance(attempt(engine, minutes=10.5), SignedIn)


def test_many_usernames_from_one_address_are_limited_too(engine: Engine, giulia: User) -> None:
    for n in range(5):
        assert attempt(engine, "guess", username=f"user{n}", minutes=n) == Refused("credentials")
    assert attempt(engine, minutes=5) == Refused("throttled", retry_minutes=10)
    assert isinstance(attempt(engine, address="198.51.100.7", minutes=5), SignedIn)
    assert isinstance(attempt(engine, minutes=10.5), SignedIn)


def test_a_successful_sign_in_clears_the_failures(engine: Engine, giulia: User) -> None:
    for _ in range(2):
        assert attempt(engine, "guess") == Refused("credentials")
    assert isinstance(attempt(engine), SignedIn)
    for _ in range(2):
        assert attempt(engine, "guess", minutes=1) == Refused("credentials")
    assert isinstance(attempt(engine, minutes=1), SignedIn)
    with Session(engine) as session:
        assert session.exec(select(LoginFailure)).all() == []


def test_expired_sessions_are_cleaned_up_at_the_next_sign_in(engine: Engine, giulia: User) -> None:
    signed_in(engine)
    signed_in(engine, minutes=200)
    with Session(engine) as session:
        (left,) = session.exec(select(WebSession)).all()
    assert left.created_at == at(200)
    assert timedelta(minutes=120) == left.expires_at - left.created_at


def test_csrf_tokens_are_compared_exactly() -> None:
    assert csrf_matches("abc123", "abc123")
    assert not csrf_matches("abc123", "abc124")
    assert not csrf_matches("abc123", "abc12")
    assert not csrf_matches("abc123", None)
    assert not csrf_matches(None, None)
    assert not csrf_matches("", "")
    assert csrf_matches("città", "città")
