"""Every shipped template, in every language, channel and voice, reads as a careful agent
would write it: the draft-lint finds nothing on realistic facts."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from ascolto.settings import BrandSettings
from outreach.context import DraftFacts
from outreach.draft_settings import DraftSettings
from outreach.intents import INTENTS
from outreach.lint import LintContext, context_from_data, lint
from outreach.phrasing import SurveyReply, template_data
from outreach.rendering import Renderer
from outreach.voice import voice_for
from storage.outreach import ContactFact, KnownIssue, OrderFacts

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
RENDERER = Renderer()


def facts(**overrides: object) -> DraftFacts:
    base = DraftFacts(
        mention_id=7,
        mention_text="My Acme Tab 3 still hasn't arrived, two weeks after I ordered it!",
        mention_url="https://social.example.com/p/7",
        platform="bluesky",
        source_kind="bluesky",
        mention_language="en",
        author_id=3,
        handle="samtech.bsky.social",
        display_name=None,
        customer_id=None,
        customer_name=None,
        customer_email=None,
        customer_language=None,
        customer_tz="Europe/Rome",
        do_not_contact=False,
        issues=("delivery",),
        urgency=(),
        product="Acme Tab 3",
        product_id=1,
        order=None,
        earlier=(),
        known_issue=None,
        opened_at=NOW - timedelta(hours=5),
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def order(status: str) -> OrderFacts:
    stages = {"ordered": NOW - timedelta(days=9)}
    for stage in ("shipped", "delivered", "returned", "refunded"):
        stages[stage] = NOW - timedelta(days=5)
        if stage == status:
            break
    if status in ("ordered", "cancelled"):
        stages = {"ordered": NOW - timedelta(days=9)}
    return OrderFacts(
        order_id=41,
        number="#1042",
        status=status,
        placed_at=stages["ordered"],
        stages=stages,
        products=("Acme Tab 3",),
        product_ids=(1,),
    )


# Realistic situations: who wrote, what we know of them, what they said.
SITUATIONS = {
    "anonymous-short": facts(mention_text="acme tab 3 broken again", product=None),
    "handle-like-name": facts(display_name="lucaverdi", handle="lucaverdi"),
    "named-described": facts(
        display_name="Sam Ortiz",
        mention_text="Since updating to 2.1 my Acme Tab 3 loses 15% overnight in standby; "
        "support told me to factory reset, which did nothing.",
        issues=("defect",),
    ),
    "customer-with-history": facts(
        customer_id=5,
        customer_name="Giulia Ferri",
        customer_email="giulia@example.it",
        earlier=(ContactFact(NOW - timedelta(days=2), "email", "reply", 3),),
        urgency=("safety",),
        mention_text="The charger of my Tab 3 gets hot and smells of burning",
        issues=("defect",),
    ),
    **{
        f"customer-order-{status}": facts(
            customer_id=5,
            customer_name="marco bellini",
            customer_email="marco@example.it",
            order=order(status),
        )
        for status in ("ordered", "shipped", "delivered", "returned", "refunded", "cancelled")
    },
    "order-number-in-post": facts(
        display_name="Pietro G",
        mention_text="Ordine #AC-55102 fermo a Bologna da 4 giorni, il tracking non si aggiorna.",
    ),
    "known-issue": facts(
        display_name="Priya R.",
        known_issue=KnownIssue(alert_id=2, product_id=1, opened_at=NOW),
        mention_text="battery drains overnight on my tab 3",
        issues=("defect",),
    ),
}
VOICES = {
    "friendly": BrandSettings(),
    "formal": BrandSettings(tone="formal"),
}
NETWORKS = ("bluesky", "mastodon", "reddit", "x")
ANSWERS = (
    None,
    SurveyReply(csat=2, nps=3, comment="the charger does not work. Nobody answers the phone"),
    SurveyReply(csat=1, nps=None, comment=None),
)


def render_and_lint(
    intent: str,
    kind: str,
    language: str,
    facts_: DraftFacts,
    brand: BrandSettings,
    drafts: DraftSettings,
    network: str | None,
    answer: SurveyReply | None = None,
) -> list[str]:
    data = template_data(
        replace(facts_, source_kind=network or facts_.source_kind),
        voice_for(brand, language),
        channel=kind,
        language=language,
        drafts=drafts,
        answer=answer,
    )
    rendered = RENDERER.render(language, intent, kind, data)
    found = lint(rendered.text, context_from_data(data, intent=intent, network=network))
    return [f"{rendered.template} [{network}] {f}\n{rendered.text}" for f in found]


def cases() -> list[tuple[str, str, str]]:
    return sorted(
        (language, intent, kind)
        for language, intent, kind in RENDERER.combos()
        if intent in INTENTS
    )


@pytest.mark.parametrize(("language", "intent", "kind"), cases())
def test_every_shipped_template_passes_the_draft_lint(
    language: str, intent: str, kind: str
) -> None:
    problems: list[str] = []
    networks = NETWORKS if kind == "public" else (None,)
    answers = ANSWERS if intent == "follow_up" else (None,)
    for (situation, facts_), brand, emoji, network, answer in itertools.product(
        SITUATIONS.items(), VOICES.values(), (False, True), networks, answers
    ):
        if intent == "known_issue" and facts_.known_issue is None:
            facts_ = replace(facts_, known_issue=KnownIssue(1, 1, NOW))
        problems += [
            f"{situation}: {p}"
            for p in render_and_lint(
                intent, kind, language, facts_, brand, DraftSettings(emoji=emoji), network, answer
            )
        ]
    assert not problems, "\n\n".join(problems[:8]) + f"\n\n({len(problems)} findings)"


def test_every_intent_has_templates_in_both_languages_and_every_template_is_linted() -> None:
    combos = RENDERER.combos()
    for intent in INTENTS:
        kinds = ("email",) if intent == "follow_up" else ("public", "email")
        for language, kind in itertools.product(("en", "it"), kinds):
            assert (language, intent, kind) in combos
    # Check-in e-mails are campaign messages, linted by the campaign tests' own checks.
    assert {i for _, i, _ in combos} - set(INTENTS) == {"checkin"}


def ctx(**overrides: object) -> LintContext:
    base = LintContext(language="en", intent="complaint_defect", public=True, network="bluesky")
    return replace(base, **overrides)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "context", "check"),
    [
        (
            "Hi, thank you for your question. Thank you for your patience. We'll reply within "
            "24 hours.",
            ctx(intent="question"),
            "repeated_courtesy",
        ),
        (
            "Ciao Lucaverdi, ci dispiace. Ti risponderemo entro 24 ore.",
            ctx(language="it", handle="@lucaverdi"),
            "handle_as_name",
        ),
        ("Hi Rbolt, sorry. We'll reply within 24 hours.", ctx(handle="@rbolt"), "handle_as_name"),
        ("Hi, sorry. We'll look into it.", ctx(), "no_when"),
        ("Hi, sorry about that.", ctx(), "no_next_step"),
        ("Hi, sorry. We'll reply within 24 hours. " + "x" * 300, ctx(), "too_long"),
        (
            "Gentile Marco, ci dispiace. Ti risponderemo entro 24 ore.",
            ctx(language="it", formal=True),
            "register",
        ),
        (
            "Ciao Marco, ci dispiace. Le risponderemo entro 24 ore, ci scriva.",
            ctx(language="it"),
            "register",
        ),
        ("Hi, sorry 😕 We'll reply within 24 hours.", ctx(), "emoji"),
        ("Hi, sorry. We'll reply within 24 hours.", ctx(sign_off="The Acme team"), "sign_off"),
        (
            "Hi, sorry. Please send us a short description and we'll reply within 24 hours.",
            ctx(described=True),
            "asks_known",
        ),
        (
            "Hi, sorry. Please send us your order number; we'll reply within 24 hours.",
            ctx(has_order=True, intent="complaint_delivery"),
            "asks_known",
        ),
        ("Hi, sorry. We'll reply within 24 hours.", ctx(product="Acme Tab 3"), "product_missing"),
        ("Hi, sorry. We'll reply within 24 hours.", ctx(name="Marco"), "name_missing"),
        (
            "Hi, sorry. We'll reply within 24 hours.",
            ctx(public=False, order_number="#1042", intent="follow_up"),
            "order_missing",
        ),
        ("Hi , sorry. We'll reply within 24 hours None.", ctx(), "leftover"),
    ],
)
def test_the_lint_finds_what_a_careful_agent_would_fix(
    text: str, context: LintContext, check: str
) -> None:
    assert check in [f.check for f in lint(text, context)]


def test_the_customers_own_words_quoted_are_not_linted() -> None:
    text = (
        "Hi Marco,\n\nYou wrote: “thanks for nothing, thanks again 😡”\n\nWe're sorry about "
        "it. A member of our team will write to you within 24 hours."
    )
    assert lint(text, ctx(public=False, intent="follow_up", name="Marco")) == []
