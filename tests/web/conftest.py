"""Web test helpers: users in the real database and a test client that signs in."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from ascolto.auth import create_user
from storage.db import session_scope

PASSWORD = "a long enough password"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def add_user(engine: Engine, username: str, role: str = "agent", password: str = PASSWORD) -> None:
    """Store a user with this role and password."""
    with session_scope(engine) as session:
        create_user(session, username=username, password=password, role=role, actor="tests")


def csrf_token(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = _CSRF.search(html)
    assert found, "no csrf_token field on the page"
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign the client in through the login form; returns the session's CSRF token."""
    form = client.get("/login")
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_token(form.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return session_csrf(client)


def session_csrf(client: TestClient) -> str:
    """The signed-in session's CSRF token, read from the sign-out form of a page."""
    page = client.get("/")
    assert page.status_code == 200, page.text
    return csrf_token(page.text)
