"""Acting on answers: detractors and negative comments become follow-up drafts for care."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ascolto.settings import Settings
from outreach.campaigns import run_campaigns
from outreach.campaigns.acting import SOURCE_NAME
from outreach.campaigns.answers import kind_of, record_answer
from storage.db import session_scope
from storage.models import CheckIn, Classification, Draft, Mention, Source, SurveyAnswer
from tests.campaigns.conftest import add_order, campaign_toml, checkin_of, setup_products

DUE = datetime(2026, 11, 6, 14, 0, tzinfo=UTC)
LATER = DUE + timedelta(days=1)


def answer(
    engine: Engine, order_id: int, *, csat: int | None = None, nps: int | None = None, **kw: Any
) -> None:
    """Answer an order's check-in as the survey page does."""
    with session_scope(engine) as session:
        checkin = session.get(CheckIn, checkin_of(engine, order_id).id)
        assert checkin is not None
        record_answer(
            session,
            checkin,
            csat=csat,
            nps=nps,
            comment=kw.get("comment"),
            questions=["csat", "nps"],
            now=kw.get("now", LATER),
        )


def drafts(engine: Engine) -> list[Draft]:
    with Session(engine) as session:
        return list(session.exec(select(Draft)).all())


def test_detractors_are_nps_0_to_6_or_csat_1_to_2() -> None:
    assert kind_of(None, 6).detractor
    assert not kind_of(None, 7).detractor
    assert kind_of(2, None).detractor
    assert not kind_of(3, None).detractor
    assert kind_of(5, 3).detractor  # either score is enough
    assert kind_of(None, 9).promoter
    assert not kind_of(None, 8).promoter
    assert kind_of(5, None).promoter
    assert not kind_of(4, None).promoter


def test_by_scores_a_detractor_gets_one_follow_up_draft_in_the_queue(
    campaign_settings: Callable[..., Settings], engine: Engine
) -> None:
    settings = campaign_settings(
        campaign_toml(starts_on="2026-11-01", survey=["csat", "nps"]),
        extra="[classify]\nenabled = false\n\n[outreach]\nenabled = true\n\n",
    )
    setup_products(engine, settings)
    unhappy = add_order(engine, email="unhappy@example.com", name="Luca Bianchi")
    passive = add_order(engine, email="passive@example.com")
    promoter = add_order(engine, email="promoter@example.com")
    assert run_campaigns(settings, engine, now=DUE).sent_total == 3
    answer(engine, unhappy, csat=2, nps=4, comment="Arrivato graffiato")
    answer(engine, passive, csat=4, nps=7)
    answer(engine, promoter, csat=5, nps=10)

    run = run_campaigns(settings, engine, now=LATER)
    assert (run.acted.answers, run.acted.follow_ups) == (3, 1)
    [draft] = drafts(engine)
    assert (draft.status, draft.intent, draft.channel) == ("pending", "follow_up", "email")
    assert draft.recipient == "unhappy@example.com"
    assert draft.language == "it"
    with Session(engine) as session:
        stored = session.exec(
            select(SurveyAnswer).where(SurveyAnswer.follow_up_draft_id == draft.id)
        ).one()
        assert stored.acted_at == LATER

    # Nothing is judged twice; a changed answer is judged again but drafts nothing new.
    assert run_campaigns(settings, engine, now=LATER + timedelta(hours=1)).acted.answers == 0
    answer(engine, unhappy, csat=1, nps=0, now=LATER + timedelta(hours=2))
    again = run_campaigns(settings, engine, now=LATER + timedelta(hours=3))
    assert (again.acted.answers, again.acted.follow_ups) == (1, 0)
    assert len(drafts(engine)) == 1


def test_a_negative_comment_is_classified_like_a_mention_and_followed_up(
    campaign_settings: Callable[..., Settings], engine: Engine, shared_classifier: Any
) -> None:
    settings = campaign_settings(
        campaign_toml(starts_on="2026-11-01", survey=["nps"]),
        extra="[outreach]\nenabled = true\n\n",
    )
    setup_products(engine, settings)
    passive = add_order(engine, email="passive@example.com", language="en")
    content = add_order(engine, email="content@example.com", language="en")
    assert run_campaigns(settings, engine, now=DUE).sent_total == 2
    # A passive score, but the why is a complaint.
    answer(
        engine,
        passive,
        nps=7,
        comment="The screen cracked after two days and support never answered my emails. "
        "Terrible, I want a refund.",
    )
    answer(engine, content, nps=8, comment="Works fine, thanks.")

    run = run_campaigns(settings, engine, now=LATER, classifier=shared_classifier)
    assert run.acted.answers == 2
    assert run.acted.classified == 2
    assert run.acted.follow_ups == 1
    with Session(engine) as session:
        source = session.exec(select(Source).where(Source.name == SOURCE_NAME)).one()
        mention = session.exec(select(Mention).where(Mention.source_id == source.id)).one()
        labels = session.exec(
            select(Classification).where(Classification.mention_id == mention.id)
        ).one()
        assert mention.external_id == f"checkin:{checkin_of(engine, passive).id}"
        assert "screen cracked" in mention.text
        assert labels.complaint is True or labels.sentiment == "negative"
    [draft] = drafts(engine)
    assert (draft.mention_id, draft.recipient) == (mention.id, "passive@example.com")
    assert draft.status == "pending"


def test_no_follow_up_when_the_campaign_says_so(
    campaign_settings: Callable[..., Settings], engine: Engine
) -> None:
    settings = campaign_settings(
        campaign_toml(starts_on="2026-11-01", follow_up=False),
        extra="[classify]\nenabled = false\n\n[outreach]\nenabled = true\n\n",
    )
    order_id = add_order(engine)
    run_campaigns(settings, engine, now=DUE)
    answer(engine, order_id, csat=1)
    assert run_campaigns(settings, engine, now=LATER).acted.follow_ups == 0
    assert drafts(engine) == []
