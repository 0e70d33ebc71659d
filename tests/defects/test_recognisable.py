"""Clusters a product manager recognises: only reports of the product misbehaving form
them, each is named "product · symptom · trigger" in the team's language, and its
keywords hold neither stop words nor the brand's own names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from ascolto.demo.server import ReplayServer
from ascolto.demo.timeshift import RECORDED_AT, shift_text
from classify.defects.gate import reason_left_out
from classify.defects.naming import cluster_name
from tests.defects.conftest import World, detect, theme_vector
from tests.factories import at

PRODUCTS = (
    '[[teams]]\nname = "prodotto"\nlanguage = "it"\n\n'
    '[[products]]\nname = "Acme Tab 3"\naliases = ["Tab 3"]\nteam = "prodotto"\n\n'
    '[[products]]\nname = "Acme Buds"\n\n'
)

NOT_DEFECTS = [
    ("Black Friday 2026: Acme Tab 3 drops to $299 at major retailers - Retail Digest", "neutral"),
    ("Acme tab 3 or wait for black friday??", "neutral"),
    ("Acme Tab 3 review: a brighter screen and a battery that finally lasts", "positive"),
    ("Acme recalls chargers sold with Acme Tab 3 in Europe - GadgetWire", "neutral"),
    ("Offerta: Acme Tab 3 a 279 € solo oggi", "neutral"),
    ("Vale la pena prendere il Tab 3 adesso?", "neutral"),
]


@pytest.mark.parametrize(("title", "sentiment"), NOT_DEFECTS)
def test_news_promotions_purchase_questions_and_praise_are_no_defect(
    title: str, sentiment: str
) -> None:
    reason = reason_left_out(
        title=title, text=title, sentiment=sentiment, complaint=True, issues=["defect"]
    )
    assert reason is not None


@pytest.mark.parametrize(
    "text",
    [
        "Since the 2.1 update my Acme Tab 3 loses 15% overnight. Price was $399 for this?",
        "Battery problem - Help",
        "Da quando ho aggiornato al 2.1 la batteria si scarica in una notte",
    ],
)
def test_reports_of_a_misbehaving_product_pass(text: str) -> None:
    sentiment = "negative"
    assert (
        reason_left_out(
            title=text, text=text, sentiment=sentiment, complaint=True, issues=["defect"]
        )
        is None
    )


def test_only_defect_reports_form_clusters_named_in_the_teams_language(
    world: World, make_settings: Any, engine: Engine
) -> None:
    settings = make_settings(PRODUCTS)
    world.product("Acme Tab 3")
    texts = [
        "Since the 2.1 update my Acme Tab 3 loses 30% overnight in standby",
        "Acme Tab 3 battery drain after firmware 2.1, anyone else?",
        "Dal firmware 2.1 la batteria del Tab 3 si scarica in standby, ogni notte",
        "My Tab 3 drains 15% overnight since the 2.1 update",
        "Il mio Acme Tab 3 si scarica di notte dopo l'aggiornamento 2.1",
    ]
    members = [
        world.complaint(text, theme=0, when=at(hours=10 + i)) for i, text in enumerate(texts)
    ]
    # Same meaning in the embedding, but news, a promotion, a question, praise.
    for i, (title, sentiment) in enumerate(NOT_DEFECTS):
        mention = world.mention(title, title=title, author=f"other{i}", when=at(hours=12 + i))
        world.label(
            mention,
            vector=theme_vector(0, seed=500 + i),
            products=["Acme Tab 3"],
            sentiment=sentiment,
            issues=["defect", "praise"] if sentiment == "positive" else ["defect"],
        )
    report = detect(settings, engine, at(hours=20))
    assert sum(report.left_out.values()) == len(NOT_DEFECTS)
    (cluster,) = world.clusters()
    assert world.members(cluster.id or 0) == set(members)
    assert cluster.title == (
        "Acme Tab 3 · la batteria si scarica in standby · dopo il firmware 2.1"
    )
    keywords = set(cluster.keywords)
    assert keywords
    assert not keywords & {"acme", "tab", "ogni", "since", "anyone", "else", "the", "dal"}
    (alert,) = world.alerts()
    assert alert.title == cluster.title


def test_names_in_english_with_the_trigger_another_product() -> None:
    texts = [
        "Ho le Acme Buds e con il Tab 3 l'audio va a scatti ogni 10 secondi",
        "Le Acme Buds con il Tab 3 vanno a scatti, confermo",
        "Acme Buds keep dropping their connection to the Acme Tab 3",
    ]
    name = cluster_name("Acme Tab 3", texts, other_products=["Acme Buds"])
    assert name == "Acme Tab 3 · Bluetooth audio stutters · with Acme Buds"
    unknown = cluster_name("Acme Tab 3", ["Il logo è storto"], keywords=["logo", "storto"])
    assert unknown == "Acme Tab 3 · logo, storto"


def test_the_demo_replays_its_recordings_as_the_days_before_it_runs() -> None:
    now = datetime(2027, 3, 10, 15, 0, tzinfo=UTC)
    server = ReplayServer.from_recordings(now=now)
    try:
        offset = server.offset
        assert RECORDED_AT + offset <= now
        assert now - (RECORDED_AT + offset) < timedelta(minutes=1)
        status, _headers, body = server.answer("GET", "/rss/forum.atom")
        assert status == 200
        assert b"2027-03-" in body
        assert b"2026-11-2" not in body
    finally:
        server.close()
    moved = shift_text('"created_utc":1795427271.0 Tue, 24 Nov 2026 09:12:07 GMT', offset)
    assert "1795427271" not in moved
    assert "Mar 2027" in moved
