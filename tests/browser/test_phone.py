"""A phone is a workplace, and the queue keeps its reader in place: measured in chromium."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ascolto.settings import Settings, load_settings
from outreach.drafting import draft_for_mention
from storage.db import session_scope
from tests.browser.conftest import LiveApp, snapshot
from tests.conftest import write_settings
from tests.factories import at
from tests.outreach.draft_factories import add_mention
from tests.web.conftest import PASSWORD, add_user

pytestmark = pytest.mark.browser

NOW = at(days=1)
PHONE = {"width": 390, "height": 844}
SMALL_PHONE = {"width": 320, "height": 568}


@pytest.fixture
def app_settings(tmp_path: Path) -> Settings:
    path = write_settings(
        tmp_path / "settings.toml",
        f"sqlite:///{tmp_path / 'ascolto.db'}",
        "[outreach]\nenabled = true\n",
    )
    return load_settings(path, web={"queue_refresh_seconds": 1})


def drafted(app: LiveApp, **mention: Any) -> int:
    mention_id = add_mention(app.engine, **mention)
    with session_scope(app.engine) as session:
        draft = draft_for_mention(session, app.settings, mention_id, now=NOW)
        assert draft is not None
        session.flush()
        return draft.id or 0


def phone_page(browser: Any, app: LiveApp, username: str, *, locale: str = "it-IT") -> Any:
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale=locale
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{app.url}/login")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form.login button[type=submit]").click()
    page.wait_for_load_state()
    return page


def box(page: Any, selector: str) -> dict[str, float]:
    found = page.locator(selector).first.bounding_box()
    assert found is not None, f"{selector} is not shown"
    return dict(found)


def test_the_draft_page_fits_a_phone_screen(browser: Any, live_app: LiveApp) -> None:
    add_user(live_app.engine, "tom")
    draft_id = drafted(
        live_app,
        text="Il tablet è arrivato con lo schermo rotto, nessuno mi risponde.",
        language="it",
    )
    page = phone_page(browser, live_app, "tom")
    for viewport in (PHONE, SMALL_PHONE):
        page.set_viewport_size(viewport)
        page.goto(f"{live_app.url}/queue/{draft_id}")
        assert page.evaluate("window.scrollY") == 0
        first_screen = viewport["height"]
        reply = box(page, "textarea#text")
        assert reply["y"] + 60 <= first_screen, "the reply box starts below the first screen"
        if viewport is SMALL_PHONE:
            continue  # 568 px tall: the reply box shows, the actions follow one scroll away
        for name in ("Salva e ricontrolla", "Approva e invia", "Rifiuta"):
            button = page.get_by_role("button", name=name, exact=True)
            found = button.bounding_box()
            assert found is not None, name
            assert found["y"] + found["height"] <= first_screen, f"{name} is below the first screen"
            assert found["width"] >= 44, (name, found)
            assert found["height"] >= 44, (name, found)
        assert box(page, "form.reject input[name=reason]")["height"] >= 44
        snapshot(page, "phone-draft")
    page.context.close()


def test_the_menu_folds_on_a_phone(browser: Any, live_app: LiveApp) -> None:
    add_user(live_app.engine, "tom")
    page = phone_page(browser, live_app, "tom", locale="en-US")
    page.goto(f"{live_app.url}/mentions")
    toggle = page.get_by_role("button", name="Menu")
    assert toggle.get_attribute("aria-expanded") == "false"
    assert not page.get_by_role("link", name="Review queue").is_visible()
    header = box(page, "header")
    assert header["height"] <= 80
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    queue_link = page.get_by_role("link", name="Review queue")
    assert queue_link.is_visible()
    assert queue_link.bounding_box()["height"] >= 44
    snapshot(page, "phone-menu-open")
    toggle.click()
    assert not queue_link.is_visible()
    # On a wide screen the menu is simply there.
    page.set_viewport_size({"width": 1280, "height": 800})
    assert not toggle.is_visible()
    assert queue_link.is_visible()
    page.context.close()


def test_the_queue_is_a_list_of_cards_on_a_phone(browser: Any, live_app: LiveApp) -> None:
    add_user(live_app.engine, "tom")
    drafted(live_app, text="My order arrived broken.", urgency=("safety",), handle="a")
    page = phone_page(browser, live_app, "tom", locale="en-US")
    page.goto(f"{live_app.url}/queue")
    card = page.locator("#queue-rows tr[data-draft]").first
    for label in ("Urgency", "Mention", "Proposed reply", "Verdict"):
        cell = card.locator(f"td[data-label='{label}']")
        assert cell.is_visible(), label
        shown = cell.evaluate("td => getComputedStyle(td, '::before').content")
        assert shown == f'"{label}"', (label, shown)
    assert "My order arrived broken." in card.inner_text()
    assert "Hi @a" in card.locator("td[data-label='Proposed reply']").inner_text()
    card_box = card.bounding_box()
    assert card_box is not None
    assert card_box["width"] <= PHONE["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.context.close()


def test_chart_labels_are_readable_on_any_screen(browser: Any, live_app: LiveApp) -> None:
    add_user(live_app.engine, "mia", "marketer")
    today = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    for day in range(14):
        add_mention(
            live_app.engine, text=f"mention {day}", published_at=today - timedelta(days=day)
        )
    page = phone_page(browser, live_app, "mia", locale="en-US")
    smallest = {}
    for width in (320, 390, 800, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_app.url}/")
        smallest[width] = page.evaluate(
            """() => Math.min(...Array.from(document.querySelectorAll('svg.chart text'))
                 .filter(t => t.getClientRects().length > 0)
                 .map(t => parseFloat(t.getAttribute('font-size'))
                           * t.ownerSVGElement.getScreenCTM().a))"""
        )
    assert all(size >= 11 for size in smallest.values()), smallest
    page.context.close()


def test_the_queue_keeps_focus_and_place_and_can_pause(
    page: Any, live_app: LiveApp, console: list[str]
) -> None:
    add_user(live_app.engine, "tom")
    for n in range(12):
        drafted(live_app, published_at=at(10 + n), handle=f"h{n}")
    page.set_viewport_size({"width": 1280, "height": 600})
    page.goto(f"{live_app.url}/login")
    page.get_by_label("Username").fill("tom")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_app.url}/queue")

    # The skip link comes first and leads past the menu.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    assert page.locator("a.skip").bounding_box()["y"] >= 0
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    # Focus a draft further down, scrolled into view.
    target = page.locator("#queue-rows tr[data-draft] a").nth(8)
    target.focus()
    focused_id = target.get_attribute("href")
    page.evaluate("window.scrollTo(0, 300)")
    before = target.bounding_box()["y"]
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", "")

    # A new urgent draft arrives at the top of the list.
    urgent = drafted(live_app, published_at=at(5), urgency=("safety",), handle="urgent")
    page.locator(f'#queue-rows tr.new[data-draft="{urgent}"]').wait_for(state="attached")
    assert page.evaluate("document.activeElement.getAttribute('href')") == focused_id
    assert abs(page.locator(f'#queue-rows a[href="{focused_id}"]').bounding_box()["y"] - before) < 2
    status = page.locator("#queue-status")
    assert status.get_attribute("role") == "status"
    assert status.get_attribute("aria-live") == "polite"
    assert status.inner_text() == "New drafts: 1."
    announced = page.evaluate(
        """() => new Promise(done => {
             const seen = [];
             const watch = new MutationObserver(() => seen.push(1));
             watch.observe(document.getElementById('queue-status'),
                           {childList: true, characterData: true, subtree: true});
             const table = document.getElementById('queue');
             const start = Number(table.dataset.refreshes || 0);
             const wait = setInterval(() => {
               if (Number(table.dataset.refreshes || 0) >= start + 2) {
                 clearInterval(wait); watch.disconnect(); done(seen.length);
               }
             }, 50);
           })"""
    )
    assert announced == 0, "the notice was set again though nothing new arrived"

    # Paused: refreshes stop, nothing new appears; resumed: it does.
    pause = page.get_by_role("button", name="Pause updates")
    pause.click()
    assert pause.get_attribute("aria-pressed") == "true"
    assert status.inner_text() == "Updates paused."
    later = drafted(live_app, published_at=at(4), urgency=("legal",), handle="later")
    page.wait_for_function(
        "() => Number(document.getElementById('queue').dataset.skipped || 0) >= 2"
    )
    assert page.locator(f'#queue-rows tr[data-draft="{later}"]').count() == 0
    pause.click()
    assert pause.get_attribute("aria-pressed") == "false"
    page.locator(f'#queue-rows tr.new[data-draft="{later}"]').wait_for(state="attached")
    assert console == []
