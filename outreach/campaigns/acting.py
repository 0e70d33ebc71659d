"""Acting on answers: unhappy customers become follow-up drafts in the review queue.

A detractor (NPS 0-6, CSAT 1-2), or an answer whose comment the classifier reads as
negative or as a complaint, becomes a mention of the `survey answers` source, labelled by
the same classifier as every mention (so it counts as an open complaint, feeds the defect
clusters and shows in the queue with its labels), and gets a follow-up e-mail draft for
a person to approve. Labels and draft are stored with the mention in one transaction, so
the drafting step never sees an unanswered survey mention to reply to in public. Without
a classifier (`[classify] enabled = false` or it failed to load) only scores count, and the
follow-up is drafted to the customer without a mention.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from outreach.campaigns.answers import kind_of
from outreach.campaigns.definition import ActiveCampaign
from outreach.campaigns.settings import Settings
from outreach.drafting import draft_follow_up
from outreach.phrasing import SurveyReply
from storage import audit
from storage import campaigns as store
from storage.classifications import LabelsRecord, save_labels
from storage.db import session_scope
from storage.mentions import NewMention, ingest
from storage.models import Campaign, CheckIn, Customer, Mention, Source, SurveyAnswer

if TYPE_CHECKING:
    from classify.labels import Labels
    from classify.pipeline import Classifier

log = logging.getLogger(__name__)

ACTOR = "campaigns"
SOURCE_NAME = "survey answers"
SOURCE_KIND = "survey"
_SCORE_WORDS = {
    "en": {"csat": "Satisfaction {n} out of 5", "nps": "Would recommend {n} out of 10"},
    "it": {"csat": "Soddisfazione {n} su 5", "nps": "Consiglierebbe {n} su 10"},
}


@dataclass
class ActReport:
    """What one pass over new answers did."""

    answers: int = 0
    follow_ups: int = 0
    classified: int = 0
    errors: list[str] = field(default_factory=list)


def survey_source(session: Session) -> Source:
    """The source survey mentions belong to (a name settings cannot use: it has a space)."""
    source = session.exec(select(Source).where(Source.name == SOURCE_NAME)).first()
    if source is None:
        source = Source(name=SOURCE_NAME, kind=SOURCE_KIND, enabled=False)
        session.add(source)
        session.flush()
    return source


def score_line(answer: SurveyAnswer) -> str:
    """The scores in the answer's language, e.g. "Satisfaction 2 out of 5"."""
    words = _SCORE_WORDS.get(answer.language or "", _SCORE_WORDS["en"])
    parts = [
        words[q].format(n=value)
        for q, value in (("csat", answer.csat), ("nps", answer.nps))
        if value is not None
    ]
    return " · ".join(parts)


def _mention_text(answer: SurveyAnswer) -> tuple[str, str]:
    """(title, text) of the answer as a mention: the scores, then the comment."""
    title = score_line(answer)
    return title, answer.comment or title


def act_on_answers(
    settings: Settings,
    engine: Engine,
    campaigns: dict[int, ActiveCampaign],
    *,
    now: datetime,
    classifier: Classifier | None = None,
    limit: int = 200,
) -> ActReport:
    """Judge each new or changed answer once, each in its own transaction."""
    report = ActReport()
    with Session(engine) as session:
        pending = [
            (a.id or 0, _mention_text(a)) for a, _ in store.answers_to_act_on(session, limit=limit)
        ]
    if not pending:
        return report
    labels = _classify(settings, classifier, [text for _, text in pending], report)
    for (answer_id, _), found in zip(pending, labels, strict=True):
        try:
            with session_scope(engine) as session:
                _act(session, settings, campaigns, answer_id, found, now, report)
        except Exception as exc:
            log.exception("answer %s could not be acted on", answer_id)
            report.errors.append(f"answer {answer_id}: {type(exc).__name__}: {exc}")
    return report


def _classify(
    settings: Settings,
    classifier: Classifier | None,
    texts: list[tuple[str, str]],
    report: ActReport,
) -> list[Labels | None]:
    from classify.classifying import classify_texts, get_classifier, mention_text, product_specs

    if classifier is None and settings.classify.enabled:
        try:
            classifier = get_classifier(settings)
        except Exception as exc:
            log.warning("survey comments are judged by their scores only: %s", exc)
            report.errors.append(f"classifier unavailable: {exc}")
    if classifier is None:
        return [None] * len(texts)
    found = classify_texts(
        classifier, [mention_text(t, body) for t, body in texts], product_specs(settings)
    )
    report.classified += sum(1 for labels in found if labels.classified)
    return [labels if labels.classified else None for labels in found]


def _act(
    session: Session,
    settings: Settings,
    campaigns: dict[int, ActiveCampaign],
    answer_id: int,
    labels: Labels | None,
    now: datetime,
    report: ActReport,
) -> None:
    answer = session.get(SurveyAnswer, answer_id)
    if answer is None or answer.acted_at is not None:
        return
    checkin = session.get(CheckIn, answer.checkin_id)
    campaign = campaigns.get(answer.campaign_id)
    if campaign is None:
        row = session.get(Campaign, answer.campaign_id)
        campaign = ActiveCampaign.from_row(row) if row else None
    report.answers += 1
    negative = labels is not None and (labels.sentiment == "negative" or labels.complaint is True)
    wanted = kind_of(answer.csat, answer.nps).detractor or negative
    customer = session.get(Customer, answer.customer_id) if answer.customer_id else None
    if answer.mention_id is not None or (wanted and labels is not None and customer):
        mention = _upsert_mention(session, answer, customer, now)
        answer.mention_id = mention.id
        if labels is not None:
            save_labels(session, records=[_record(mention, labels)])
    if (
        wanted
        and campaign is not None
        and campaign.config.follow_up
        and customer is not None
        and answer.follow_up_draft_id is None
    ):
        draft = draft_follow_up(
            session,
            settings,
            customer_id=customer.id or 0,
            mention_id=answer.mention_id if labels is not None else None,
            now=now,
            answer=SurveyReply(answer.csat, answer.nps, answer.comment),
        )
        if draft is not None:
            answer.follow_up_draft_id = draft.id
            report.follow_ups += 1
            audit.record(
                session,
                actor=ACTOR,
                action="campaign.follow_up_drafted",
                subject_type="checkin",
                subject_id=checkin.id if checkin else answer.checkin_id,
                details={"draft_id": draft.id, "csat": answer.csat, "nps": answer.nps},
            )
    answer.acted_at = now
    session.add(answer)


def _upsert_mention(
    session: Session, answer: SurveyAnswer, customer: Customer | None, now: datetime
) -> Mention:
    source = survey_source(session)
    title, text = _mention_text(answer)
    ingest(
        session,
        source_id=source.id or 0,
        items=[
            NewMention(
                external_id=f"checkin:{answer.checkin_id}",
                text=text,
                title=title,
                author_handle=customer.email if customer else None,
                author_name=customer.name if customer else None,
                author_platform="email",
                published_at=answer.answered_at,
                updated_at=now,
                kind=SOURCE_KIND,
                lang=answer.language,
                rating=float(answer.csat) if answer.csat is not None else None,
                extra={"csat": answer.csat, "nps": answer.nps, "checkin_id": answer.checkin_id},
            )
        ],
    )
    return session.exec(
        select(Mention)
        .where(Mention.source_id == source.id)
        .where(Mention.external_id == f"checkin:{answer.checkin_id}")
    ).one()


def _record(mention: Mention, labels: Labels) -> LabelsRecord:
    from classify.classifying import to_record
    from storage.classifications import PendingMention

    pending = PendingMention(
        id=mention.id or 0,
        title=mention.title,
        text=mention.text,
        lang=mention.lang,
        content_hash=mention.content_hash,
        duplicate_of_id=mention.duplicate_of_id,
    )
    return to_record(pending, labels)
