"""A follow-up after a poor survey answer responds to what the customer said, quotes the
order number the customer knows, and is shown next to the answer it follows."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ascolto.settings import Settings
from ascolto.web.app import create_app
from outreach.campaigns import run_campaigns
from outreach.lint import context_from_data, lint
from storage.models import Draft
from tests.campaigns.conftest import add_order, campaign_toml, setup_products
from tests.campaigns.test_acting import DUE, LATER, answer
from tests.web.conftest import add_user, sign_in

COMMENT = "the charger does not work. Nobody answers the phone"


@pytest.fixture
def follow_up(campaign_settings: Callable[..., Settings], engine: Engine) -> tuple[Settings, Draft]:
    settings = campaign_settings(
        campaign_toml(starts_on="2026-11-01", survey=["csat", "nps"]),
        extra="[classify]\nenabled = false\n\n[outreach]\nenabled = true\n\n",
    )
    setup_products(engine, settings)
    # A Shopify order: its id at the shop, and the name the customer saw ("#1042").
    unhappy = add_order(
        engine,
        external_id="5123456789012",
        extra={"name": "#1042"},
        email="sam@example.com",
        name="Sam Taylor",
        language="en",
    )
    assert run_campaigns(settings, engine, now=DUE).sent_total == 1
    answer(engine, unhappy, csat=2, nps=3, comment=COMMENT)
    assert run_campaigns(settings, engine, now=LATER).acted.follow_ups == 1
    with Session(engine) as session:
        [draft] = session.exec(select(Draft)).all()
        session.expunge(draft)
    return settings, draft


def test_the_follow_up_answers_what_the_customer_said(follow_up: tuple[Settings, Draft]) -> None:
    _, draft = follow_up
    assert draft.intent == "follow_up"
    assert draft.language == "en"
    text = draft.text
    assert text.startswith("Hi Sam,")
    assert "2 out of 5 and 3 out of 10" in text
    assert f"“{COMMENT}”" in text
    assert "sorry about the charging problem on your Acme Tab 3" in text
    assert "within 24 hours" in text
    assert "Is everything sorted now?" not in text


def test_the_follow_up_quotes_the_order_number_the_customer_knows(
    follow_up: tuple[Settings, Draft],
) -> None:
    _, draft = follow_up
    assert "#1042" in draft.text
    assert draft.subject == "About your answer on order #1042"
    assert "5123456789012" not in draft.text
    assert "5123456789012" not in (draft.html or "")


def test_the_follow_up_is_shown_next_to_the_answer_it_follows(
    follow_up: tuple[Settings, Draft], engine: Engine
) -> None:
    settings, draft = follow_up
    add_user(engine, "tom", "agent")
    with TestClient(create_app(settings, engine)) as client:
        sign_in(client, "tom")
        page = client.get(f"/queue/{draft.id}")
    assert page.status_code == 200, page.text
    html = page.text
    assert "Survey answer this e-mail follows" in html
    assert "CSAT 2/5" in html
    assert "NPS 3/10" in html
    # The answer heads the column beside the reply, where a mention would stand.
    reply, side = html.split('<section class="mention"', 1)
    assert "#1042" in reply
    assert "Survey answer this e-mail follows" in side
    assert COMMENT in html


def test_the_follow_up_passes_the_draft_lint(follow_up: tuple[Settings, Draft]) -> None:
    _, draft = follow_up
    context = context_from_data(
        {
            "language": "en",
            "channel": "email",
            "name": "Sam",
            "product": "Acme Tab 3",
            "order": {"number": "#1042"},
            "sign_off": "The Acme team",
        },
        intent="follow_up",
        network=None,
    )
    assert lint(draft.text, context) == []
