"""Signing in and out over HTTP: cookies, CSRF on every unsafe route, rate limits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ascolto.database import prepare
from ascolto.settings import Settings
from ascolto.web.app import create_app
from ascolto.web.deps import LOGIN_CSRF_COOKIE, SESSION_COOKIE
from storage.models import WebSession
from tests.web.conftest import PASSWORD, add_user, csrf_token, session_csrf, sign_in

EXEMPT = ("/webhooks/", "/login")


@pytest.fixture
def settings(make_settings: Any) -> Settings:
    built: Settings = make_settings(web={"enabled": False, "login_attempts": 3})
    return built


@pytest.fixture
def app_engine(settings: Settings) -> Engine:
    engine = prepare(settings)
    add_user(engine, "giulia", "supervisor")
    return engine


@pytest.fixture
def client(settings: Settings, app_engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings, app_engine)) as test_client:
        yield test_client


def login(client: TestClient, username: str, password: str, **extra: str) -> Any:
    form = client.get("/login")
    data = {"username": username, "password": password, "csrf_token": csrf_token(form.text)}
    return client.post("/login", data={**data, **extra}, follow_redirects=False)


def set_cookies(response: Any) -> dict[str, str]:
    return {header.split("=", 1)[0]: header for header in response.headers.get_list("set-cookie")}


def test_sign_in_sets_a_session_cookie_and_redirects(client: TestClient) -> None:
    response = login(client, "giulia", PASSWORD, next="/?page=2")
    assert response.status_code == 303
    assert response.headers["location"] == "/?page=2"
    cookie = set_cookies(response)[SESSION_COOKIE].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "path=/" in cookie
    assert "secure" not in cookie
    assert client.get("/").status_code == 200


def test_secure_cookies_when_configured(make_settings: Any) -> None:
    settings = make_settings(web={"enabled": False, "secure_cookies": True})
    engine = prepare(settings)
    add_user(engine, "tom")
    with TestClient(create_app(settings, engine), base_url="https://testserver") as client:
        form = client.get("/login")
        assert "secure" in set_cookies(form)[LOGIN_CSRF_COOKIE].lower()
        response = login(client, "tom", PASSWORD)
        assert "secure" in set_cookies(response)[SESSION_COOKIE].lower()


@pytest.mark.parametrize("username", ["giulia", "nobody"])
def test_bad_credentials_get_one_generic_answer(client: TestClient, username: str) -> None:
    response = login(client, username, "not the password")
    assert response.status_code == 401
    assert "Unknown username or wrong password." in response.text
    assert SESSION_COOKIE not in set_cookies(response)
    assert client.get("/", follow_redirects=False).status_code == 303


def test_login_needs_its_csrf_token(client: TestClient) -> None:
    client.get("/login")
    data = {"username": "giulia", "password": PASSWORD}
    assert client.post("/login", data=data).status_code == 403
    assert client.post("/login", data={**data, "csrf_token": "forged"}).status_code == 403
    # A token from a page this browser never got (another cookie) is refused too.
    other = TestClient(client.app)
    token = csrf_token(other.get("/login").text)
    assert client.post("/login", data={**data, "csrf_token": token}).status_code == 403


def test_too_many_failures_are_throttled(client: TestClient, settings: Settings) -> None:
    for _ in range(settings.web.login_attempts):
        assert login(client, "giulia", "guess").status_code == 401
    response = login(client, "giulia", PASSWORD)
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.text
    assert SESSION_COOKIE not in set_cookies(response)


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil", "x"])
def test_no_redirect_to_another_site(client: TestClient, target: str) -> None:
    response = login(client, "giulia", PASSWORD, next=target)
    assert response.headers["location"] == "/queue"


def test_sign_out_needs_csrf_and_ends_the_session(client: TestClient, app_engine: Engine) -> None:
    token = sign_in(client, "giulia")
    assert client.post("/logout", follow_redirects=False).status_code == 403
    assert client.get("/").status_code == 200
    response = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/login")
    with Session(app_engine) as session:
        assert session.exec(select(WebSession)).all() == []
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_stolen_old_cookie_is_useless_after_a_new_sign_in(client: TestClient) -> None:
    form = {"username": "giulia", "password": PASSWORD}
    form["csrf_token"] = csrf_token(client.get("/login").text)
    assert client.post("/login", data=form, follow_redirects=False).status_code == 303
    old = client.cookies.get(SESSION_COOKIE)
    # Signing in again (a second tab's form) replaces the session instead of adding one.
    assert client.post("/login", data=form, follow_redirects=False).status_code == 303
    assert client.cookies.get(SESSION_COOKIE) != old
    thief = TestClient(client.app, cookies={SESSION_COOKIE: old or ""})
    assert thief.get("/", follow_redirects=False).status_code == 303


def test_every_unsafe_route_refuses_a_request_without_the_csrf_token(
    client: TestClient,
) -> None:
    token = sign_in(client, "giulia")
    checked = []
    paths = client.get("/openapi.json").json()["paths"]
    for template, operations in paths.items():
        if template.startswith(EXEMPT):
            continue
        for method in sorted(set(operations) - {"get", "head"}):
            path = template.replace("{draft_id}", "1")
            refused = client.request(method, path, data={"reason": "x", "text": "x"})
            assert refused.status_code == 403, (method, path, refused.text)
            forged = client.request(method, path, data={"csrf_token": token + "x"})
            assert forged.status_code == 403, (method, path)
            checked.append(f"{method.upper()} {template}")
    assert "POST /logout" in checked
    assert session_csrf(client) == token  # still signed in: nothing was done
