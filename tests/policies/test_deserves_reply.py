"""Only mentions that deserve a reply get one, and the reason says why not."""

from __future__ import annotations

from typing import Any

import pytest

from policies import DraftContext
from policies.audience import is_own_account, is_pre_purchase, normal_handle
from tests.policies.helpers import outcomes, public, run


def reply(text: str, handle: str = "marco_b", **overrides: Any) -> DraftContext:
    """A public reply about `text`, posted by `handle`, for a delivery complaint."""
    return public(
        "Hi Marco, sorry your order hasn't reached you as expected.",
        mention_text=text,
        author_handle=handle,
        network=overrides.pop("network", "reddit"),
        intent=overrides.pop("intent", "complaint_delivery"),
        brand="Acme",
        **overrides,
    )


@pytest.mark.parametrize(
    ("handle", "name", "network"),
    [
        ("acme", "Acme :verified:", "mastodon"),
        ("acme@mastodon.social", "Acme", "mastodon"),
        ("acme.example", "Acme", "bluesky"),
        ("acme.bsky.social", None, "bluesky"),
        ("Acme_Support", None, "reddit"),
        ("acmeofficial", None, "x"),
    ],
)
def test_the_brands_own_accounts_are_recognised_on_every_network(
    handle: str, name: str | None, network: str
) -> None:
    context = reply(
        "Firmware 2.1.1 for Acme Tab 3 is out.", handle, author_name=name, network=network
    )
    result = run("deserves_reply", context)
    assert outcomes(result) == ["block"]
    assert "the brand's own account" in result.findings[0].reason
    assert network in result.findings[0].reason


def test_configured_accounts_count_as_the_brands_own() -> None:
    context = reply("Update is out!", "@giulia_from_acme@social.example")
    assert outcomes(run("deserves_reply", context)) == []
    configured = run("deserves_reply", context, own_accounts=["@giulia_from_acme@social.example"])
    assert outcomes(configured) == ["block"]


def test_a_customer_whose_handle_starts_like_the_brand_is_not_the_brand() -> None:
    assert not is_own_account("acmefan99", "Sam", "Acme", [])
    assert not is_own_account("marco_b", "Acme lover", "Acme", [])
    assert outcomes(run("deserves_reply", reply("My Tab 3 is late", "acmefan99"))) == []


def test_handles_are_one_name_across_networks() -> None:
    assert normal_handle("@acme@mastodon.social") == "acme"
    assert normal_handle("acme.bsky.social") == "acme"
    assert normal_handle("u/Acme_Official") == "acme_official"


@pytest.mark.parametrize(
    ("handle", "text"),
    [
        ("AutoModerator", "Weekly Acme Tab 3 help thread — ask your questions here."),
        ("gadgetwire_bot", "Acme Tab 3 review: a brighter screen"),
        ("helper", "I am a bot, and this action was performed automatically."),
    ],
)
def test_bots_and_moderators_get_no_reply(handle: str, text: str) -> None:
    result = run("deserves_reply", reply(text, handle))
    assert outcomes(result) == ["block"]
    assert "bot or a moderator" in result.findings[0].reason


@pytest.mark.parametrize(
    "text",
    [
        "Acme announces the Tab 4 with a bigger battery",
        "Comunicato stampa: Acme presenta il nuovo Tab 3",
        "Acme Tab 3 review: a brighter screen and a battery that finally lasts",
        "Acme Tab 3, la batteria si scarica dopo l'aggiornamento 2.1 - TecnoNotizie",
        "Black Friday 2026: Acme Tab 3 drops to $299 at major retailers - Retail Digest",
    ],
)
def test_news_press_releases_and_headlines_get_no_reply(text: str) -> None:
    result = run("deserves_reply", reply(text, "techdaily"))
    assert outcomes(result) == ["block"]
    assert "news" in result.findings[0].reason


@pytest.mark.parametrize(
    "text",
    [
        "Acme announces fixes but my Tab 3 still drains overnight",
        "Acme Tab 3 battery drain after firmware 2.1 — anyone else?",
        "Weekly: my Acme Tab 3 help thread - Week 47",
    ],
)
def test_a_customer_speaking_of_an_announcement_is_still_a_customer(text: str) -> None:
    assert outcomes(run("deserves_reply", reply(text))) == []


def test_news_outlets_are_listed_by_handle() -> None:
    result = run("deserves_reply", reply("Tab 3 sales up 20% in Q3", "reuters"))
    assert outcomes(result) == ["block"]


@pytest.mark.parametrize(
    ("text", "sentiment"),
    [
        ("Aggiornato l'Acme Tab 3: la batteria finalmente non si scarica più 🎉", "negative"),
        ("Love my new Tab 3, works perfectly now", "neutral"),
        ("Best tablet I've owned", "positive"),
    ],
)
def test_a_happy_customer_gets_no_apology(text: str, sentiment: str) -> None:
    result = run("deserves_reply", reply(text, sentiment=sentiment, intent="complaint_defect"))
    assert outcomes(result) == ["block"]
    assert "happy" in result.findings[0].reason


def test_a_happy_customer_may_be_thanked() -> None:
    context = reply("Best tablet I've owned", sentiment="positive", intent="praise")
    assert outcomes(run("deserves_reply", context)) == []


@pytest.mark.parametrize(
    "text",
    [
        "La batteria non si scarica più in standby. Perché non l'hanno fatto subito?",
        "Still getting 10% drain overnight on my Tab 3 after 2.1.1 😕",
        "Il mio Tab 3 non si accende più",
    ],
)
def test_an_unhappy_customer_is_not_taken_for_a_happy_one(text: str) -> None:
    context = reply(text, sentiment="negative", intent="complaint_defect")
    assert outcomes(run("deserves_reply", context)) == []


@pytest.mark.parametrize(
    "text",
    [
        "Salve, l'ordine MD-44821 risulta consegnato ma non l'ho ricevuto. Potete verificare "
        "con il corriere? Grazie mille",
        "Order 1182 shows delivered but it isn't here. Can you check with the courier? Thanks",
        "Il Tab 3 si spegne da solo al 40%, grazie in anticipo per l'aiuto",
    ],
)
def test_thanks_closing_a_request_are_not_gladness(text: str) -> None:
    context = reply(text, sentiment="neutral", intent="complaint_delivery")
    assert outcomes(run("deserves_reply", context)) == []


def test_a_pre_purchase_question_gets_no_apology() -> None:
    result = run("deserves_reply", reply("acme tab 3 or wait for black friday??"))
    assert outcomes(result) == ["block"]
    assert "before buying" in result.findings[0].reason
    question = reply("acme tab 3 or wait for black friday??", intent="question")
    assert outcomes(run("deserves_reply", question)) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("acme tab 3 or wait for black friday??", True),
        ("Vale la pena prendere il Tab 3 adesso o aspettare?", True),
        ("Is the Tab 3 worth it for drawing?", True),
        ("My Tab 3 arrived broken, should I wait for a replacement?", False),
        (
            "Ho un portatile Voltek da un anno e mezzo e la ventola parte a palla anche a "
            "riposo. Conviene spedirlo in assistenza?",
            False,
        ),
        ("Ho un dubbio: vale la pena prendere il Tab 3 o aspettare?", True),
        ("Acme Tab 3 is worth it.", False),
    ],
)
def test_pre_purchase_questions_are_told_apart(text: str, expected: bool) -> None:
    assert is_pre_purchase(text) is expected


def test_follow_ups_and_check_ins_are_not_judged_as_replies() -> None:
    mention = "Firmware 2.1.1 is out"
    assert outcomes(run("deserves_reply", reply(mention, "acme", intent="follow_up"))) == []
    assert outcomes(run("deserves_reply", reply(mention, "acme", proactive=True))) == []
    assert outcomes(run("deserves_reply", public("Hi!", mention_text=""))) == []


def test_the_outcome_is_configurable() -> None:
    result = run("deserves_reply", reply("Update out", "acme"), outcome="escalate")
    assert outcomes(result) == ["escalate"]
