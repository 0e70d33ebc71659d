"""The review queue in a real browser: review, edit, approve and reject drafts; live updates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlmodel import Session, select

from ascolto.auth import set_active
from ascolto.settings import Settings, load_settings
from outreach.drafting import draft_for_mention
from storage.db import session_scope
from storage.models import Draft, OutboxMessage
from tests.browser.conftest import LiveApp, log_in, snapshot
from tests.conftest import write_settings
from tests.factories import at
from tests.outreach.draft_factories import add_mention
from tests.web.conftest import add_user

pytestmark = pytest.mark.browser

NOW = at(days=1)
PHONE = "+1 555 0100 1234"


@pytest.fixture
def app_settings(tmp_path: Path) -> Settings:
    path = write_settings(
        tmp_path / "settings.toml",
        f"sqlite:///{tmp_path / 'ascolto.db'}",
        "[outreach]\nenabled = true\n",
    )
    return load_settings(path, web={"enabled": False, "queue_refresh_seconds": 1})


def drafted(app: LiveApp, **mention: Any) -> int:
    mention_id = add_mention(app.engine, **mention)
    with session_scope(app.engine) as session:
        draft = draft_for_mention(session, app.settings, mention_id, now=NOW)
        assert draft is not None
        session.flush()
        return draft.id or 0


def stored(app: LiveApp, draft_id: int) -> Draft:
    with Session(app.engine) as session:
        draft = session.get(Draft, draft_id)
        assert draft is not None
        return draft


def test_review_edit_approve_and_reject(page: Any, live_app: LiveApp, console: list[str]) -> None:
    add_user(live_app.engine, "tom")
    first = drafted(live_app, text="My Acme Tab 3 still hasn't arrived, two weeks on!")
    second = drafted(live_app, text="Acme Tab 3 arrived, all good now.", handle="anna")

    log_in(page, live_app, "tom")
    page.wait_for_url(f"{live_app.url}/queue")
    expect(page.locator("#queue-rows tr[data-draft]")).to_have_count(2)
    snapshot(page, "queue-1-list")

    # Review: the mention, its labels, the customer and the verdict are on the draft's page.
    page.get_by_role("link", name=f"#{first}").click()
    page.wait_for_url(f"{live_app.url}/queue/{first}")
    assert "two weeks on" in page.locator("blockquote.text").inner_text()
    labels = page.locator("dl.labels").inner_text()
    assert "delivery" in labels
    assert "Complaint" in labels
    expect(page.locator("#verdict")).to_be_visible()
    snapshot(page, "queue-2-draft")

    # Edit: the new text is checked again; the phone number is taken out of the public reply.
    page.get_by_label("Text").fill(f"Sorry about the wait! Call us on {PHONE} any time.")
    page.get_by_role("button", name="Save and check again").click()
    page.wait_for_url(f"{live_app.url}/queue/{first}?event=*")
    assert "edited and checked again: amend" in page.get_by_role("status").inner_text()
    assert "personal_data" in page.locator("table.findings").inner_text()
    assert PHONE not in page.get_by_label("Text").input_value()
    snapshot(page, "queue-3-edited")

    # Approve: the reply is queued once for its channel.
    page.get_by_role("button", name="Approve and send").click()
    page.wait_for_url(f"{live_app.url}/queue/{first}?event=*")
    assert "approved: queued for" in page.get_by_role("status").inner_text()
    assert "Approved by tom" in page.locator("section.reply").inner_text()
    snapshot(page, "queue-4-approved")
    assert stored(live_app, first).status == "approved"
    with Session(live_app.engine) as session:
        assert session.exec(select(OutboxMessage.key)).all() == [f"draft:{first}"]

    # Reject the other draft, with a reason.
    page.get_by_role("link", name="← Review queue").click()
    page.wait_for_url(f"{live_app.url}/queue")
    expect(page.locator("#queue-rows tr[data-draft]")).to_have_count(1)
    page.get_by_role("link", name=f"#{second}").click()
    page.wait_for_url(f"{live_app.url}/queue/{second}")
    page.get_by_label("Reason for rejecting").fill("Nothing to answer: the customer is happy.")
    page.get_by_role("button", name="Reject").click()
    page.wait_for_url(f"{live_app.url}/queue/{second}?event=*")
    verdict = page.locator("#verdict").inner_text()
    assert "Reason: Nothing to answer: the customer is happy." in verdict
    snapshot(page, "queue-5-rejected")
    assert stored(live_app, second).status == "rejected"

    page.get_by_role("link", name="← Review queue").click()
    page.wait_for_url(f"{live_app.url}/queue")
    expect(page.locator("#queue-rows tr.empty")).to_have_text("Nothing waits for review.")
    assert console == []  # no script errors, no content-security-policy violations


def test_new_drafts_appear_without_a_reload(
    page: Any, live_app: LiveApp, console: list[str]
) -> None:
    add_user(live_app.engine, "tom")
    drafted(live_app, published_at=at(10), handle="a")
    log_in(page, live_app, "tom")
    page.wait_for_url(f"{live_app.url}/queue")
    expect(page.locator("#queue-count")).to_have_text("1")
    # A mark on this document: a reload would lose it.
    page.evaluate("window.stillTheSamePage = true")

    # A refresh that brings the same rows leaves them in place: a link being clicked is
    # never swapped out from under the pointer.
    status = page.locator("#queue-status")
    start = page.evaluate(
        "window.firstRow = document.querySelector('#queue-rows tr[data-draft]');"
        "Number(document.getElementById('queue').dataset.refreshes || 0)"
    )
    page.wait_for_function(
        "start => Number(document.getElementById('queue').dataset.refreshes || 0) > start",
        arg=start,
    )
    assert page.evaluate("window.firstRow.isConnected") is True
    # Nothing new, nothing said: screen readers hear the status only when drafts arrive.
    expect(status).to_have_text("")

    urgent = drafted(live_app, published_at=at(20), urgency=("safety",), handle="b")
    expect(page.locator(f'#queue-rows tr.new[data-draft="{urgent}"]')).to_be_visible()
    expect(page.locator("#queue-rows tr[data-draft]").first).to_have_attribute(
        "data-draft", str(urgent)
    )
    expect(page.locator("#queue-count")).to_have_text("2")
    assert page.evaluate("window.stillTheSamePage") is True
    snapshot(page, "queue-live-update")

    # When the session ends (here: the user is disabled), the page stops and says so.
    with session_scope(live_app.engine) as session:
        set_active(session, "tom", False, actor="tests")
    expect(status).to_contain_text("Signed out")
    assert page.evaluate("window.stillTheSamePage") is True
    assert console == []
