"""Every page in both languages, in a real chromium: no WCAG 2.2 A/AA violation found by
axe-core at 1280 and 390 px, and no page wider than its viewport at 1280, 390 and 320 px."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from ascolto.settings import Settings, load_settings
from outreach.campaigns import run_campaigns
from outreach.drafting import draft_for_mention
from storage.db import session_scope
from storage.models import OutboxMessage
from tests.browser.axe import axe_violations, page_overflow
from tests.browser.conftest import ARTIFACTS, LiveApp
from tests.campaigns.conftest import (
    PRODUCTS,
    PUBLIC_URL,
    QUIET_POLICY,
    SECRET_KEY,
    add_order,
    campaign_toml,
    survey_path,
)
from tests.conftest import write_settings
from tests.outreach.draft_factories import add_mention
from tests.web.conftest import PASSWORD, add_user
from tests.web.web_factories import add_cluster_alert

pytestmark = pytest.mark.browser

SENT = datetime.combine(
    datetime.now(UTC).date() - timedelta(days=1), datetime.min.time(), tzinfo=UTC
) + timedelta(hours=14)
AXE_WIDTHS = (1280, 390)
REFLOW_WIDTHS = (1280, 390, 320)
LOCALES = {"en": "en-US", "it": "it-IT"}


@pytest.fixture
def app_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("ASCOLTO_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("ASCOLTO_WEB_PUBLIC_URL", PUBLIC_URL)
    policy = tmp_path / "policy.toml"
    policy.write_text(QUIET_POLICY, encoding="utf-8")
    starts = (SENT - timedelta(days=10)).date().isoformat()
    body = (
        f'[policies]\nfile = "{policy}"\n\n[outreach]\nenabled = true\n\n'
        + PRODUCTS
        + campaign_toml(starts_on=starts, survey=["csat", "nps"])
    )
    path = write_settings(tmp_path / "settings.toml", f"sqlite:///{tmp_path / 'ascolto.db'}", body)
    return load_settings(path)


@dataclass
class Site:
    """The running app with something on every page, and the pages to visit."""

    app: LiveApp
    signed_in: list[str]
    public: list[str]


@pytest.fixture
def site(live_app: LiveApp) -> Site:
    engine = live_app.engine
    add_user(engine, "ada", "admin")
    today = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    mention_ids = [
        add_mention(
            engine,
            text=text,
            language=language,
            handle=f"author{n}",
            source_kind=("reddit", "mastodon", "hackernews")[n % 3],
            issues=("delivery",) if n % 2 == 0 else ("defect",),
            published_at=today - timedelta(days=n, minutes=n),
            **({"urgency": ("safety",)} if n == 1 else {}),
        )
        for n, (text, language) in enumerate(
            [
                ("Il mio tablet non è ancora arrivato dopo due settimane!", "it"),
                ("My Acme Tab 3 battery got hot and swelled overnight.", "en"),
                ("Consegna in ritardo e nessuna risposta dal servizio clienti.", "it"),
                ("Screen flickers after the last update, very annoying.", "en"),
            ]
        )
    ]
    with session_scope(engine) as session:
        drafts = [draft_for_mention(session, live_app.settings, m, now=today) for m in mention_ids]
        session.flush()
        draft_id = next(d.id for d in drafts if d is not None)
    cluster_id, _alert = add_cluster_alert(engine)
    order_id = add_order(engine, delivered_at=SENT - timedelta(days=3))
    assert run_campaigns(live_app.settings, engine, now=SENT).sent_total == 1
    with Session(engine) as session:
        texts = [m.text for m in session.exec(select(OutboxMessage)).all()]
    unsubscribe = next(
        (
            found.group(1)
            for text in texts
            if (found := re.search(re.escape(PUBLIC_URL) + r"(/unsubscribe\?[^\s\"<>]+)", text))
        ),
        None,
    )
    public = ["/login", survey_path(engine, order_id), "/survey/not-a-valid-token"]
    if unsubscribe:
        public.append(unsubscribe)
    signed_in = [
        "/",
        "/mentions",
        f"/mentions/{mention_ids[0]}",
        "/queue",
        f"/queue/{draft_id}",
        "/clusters",
        f"/clusters/{cluster_id}",
        "/campaigns",
        "/campaigns/new",
        "/campaigns/after-delivery",
        "/sources",
        "/audit",
        "/settings",
        "/profile",
        "/queue/999999",
    ]
    return Site(live_app, signed_in, public)


def sign_in(page: Any, app: LiveApp, username: str) -> None:
    """The login form, whatever language it is in."""
    page.goto(f"{app.url}/login")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form.login button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/(queue)?$"))


@pytest.mark.parametrize("language", ["en", "it"])
def test_every_page_passes_axe_and_reflows(browser: Any, site: Site, language: str) -> None:
    context = browser.new_context(locale=LOCALES[language])
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    problems: list[str] = []
    checked = 0
    try:
        for path in site.public[:1]:
            problems += check(page, site.app.url + path, language)
            checked += 1
        sign_in(page, site.app, "ada")
        for path in [*site.signed_in, *site.public[1:]]:
            problems += check(page, site.app.url + path, language)
            checked += 1
    finally:
        context.close()
    assert checked == len(site.signed_in) + len(site.public)
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)
    assert errors == []


def check(page: Any, url: str, language: str) -> list[str]:
    """axe at each of AXE_WIDTHS and the page's width at each of REFLOW_WIDTHS."""
    problems = []
    path = url.split("/", 3)[-1]
    for width in REFLOW_WIDTHS:
        page.set_viewport_size({"width": width, "height": 844 if width < 800 else 900})
        page.goto(url)
        html_lang = page.locator("html").get_attribute("lang")
        survey = "/survey/" in url or "/unsubscribe" in url
        if not survey and html_lang != language:
            problems.append(f"/{path} [{language}]: <html lang={html_lang}>")
        if (overflow := page_overflow(page)) > 0:
            problems.append(f"/{path} [{language} {width}px]: {overflow}px wider than the screen")
        if width in AXE_WIDTHS:
            problems += [f"/{path} [{language} {width}px]: {v}" for v in axe_violations(page)]
        if width == 390:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^\w]+", "_", path.split("?")[0]).strip("_")[:60] or "overview"
            page.screenshot(path=str(ARTIFACTS / f"a11y-{language}-{name}.png"), full_page=True)
    return problems
