"""Signing in and out in a real browser."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from storage.db import session_scope
from storage.models import WebSession
from storage.types import utcnow
from tests.browser.conftest import LiveApp, log_in
from tests.web.conftest import add_user

pytestmark = pytest.mark.browser


def test_bad_password_refused_good_one_accepted(page: Any, live_app: LiveApp) -> None:
    add_user(live_app.engine, "giulia", "supervisor")
    page.goto(f"{live_app.url}/")
    assert page.url == f"{live_app.url}/login?next=%2F"

    log_in(page, live_app, "giulia", "not her password")
    expect(page.get_by_role("alert")).to_have_text("Unknown username or wrong password.")
    assert page.url.startswith(f"{live_app.url}/login")

    # Back to the page first asked for.
    log_in(page, live_app, "giulia")
    page.wait_for_url(f"{live_app.url}/")
    assert "giulia" in page.locator("header .who").inner_text()

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{live_app.url}/login")
    page.goto(f"{live_app.url}/")
    assert page.url.startswith(f"{live_app.url}/login")


def test_an_expired_session_asks_to_sign_in_again(page: Any, live_app: LiveApp) -> None:
    add_user(live_app.engine, "tom")
    log_in(page, live_app, "tom")
    page.wait_for_url(f"{live_app.url}/queue")
    page.goto(f"{live_app.url}/")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()

    # The session was last used longer ago than the idle limit allows.
    idle = timedelta(minutes=live_app.settings.web.idle_minutes + 1)
    with session_scope(live_app.engine) as session:
        stored = session.exec(select(WebSession)).one()
        stored.last_seen_at = utcnow() - idle
        session.add(stored)

    page.reload()
    assert page.url == f"{live_app.url}/login?next=%2F"
    log_in(page, live_app, "tom")
    page.wait_for_url(f"{live_app.url}/")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()


def test_a_form_posted_without_its_csrf_token_is_refused(page: Any, live_app: LiveApp) -> None:
    add_user(live_app.engine, "tom")
    log_in(page, live_app, "tom")
    page.wait_for_url(f"{live_app.url}/queue")
    page.goto(f"{live_app.url}/")
    page.locator("form.signout input[name=csrf_token]").evaluate("input => input.remove()")
    with page.expect_response(f"{live_app.url}/logout") as answer:
        page.get_by_role("button", name="Sign out").click()
    assert answer.value.status == 403
    expect(page.get_by_role("heading", name="Request refused")).to_be_visible()
    # The session is still there: nothing happened.
    page.goto(f"{live_app.url}/")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
