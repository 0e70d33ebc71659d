"""Corrections through `ascolto.review.corrections`: checked, audited, and followed by drafting and
the review queue, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from ascolto.review.corrections import CorrectionError, check, correct, undo
from ascolto.review.queue import Reviewer, queue
from ascolto.settings import Settings
from classify.training import seed_examples
from outreach.drafting import draft_for_mention, draft_pending
from storage.classifications import TRAINED_TASKS, get_labels, list_labelled_examples
from storage.db import session_scope
from storage.models import AuditEvent, Draft
from tests.factories import at
from tests.outreach.draft_factories import PRODUCT, add_mention, drafts, settings_for

NOW = at(days=1)
GIULIA = Reviewer("giulia", "agent")
PRODUCTS = f'[[products]]\nname = "{PRODUCT}"\n\n[[products]]\nname = "Acme Phone"\n\n'


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return settings_for(tmp_path, database_url, PRODUCTS)


def drafted(engine: Engine, settings: Settings, **mention: object) -> tuple[int, int]:
    mention_id = add_mention(engine, **mention)  # type: ignore[arg-type]
    with session_scope(engine) as session:
        draft = draft_for_mention(session, settings, mention_id, now=NOW)
        assert draft is not None
        session.flush()
        return mention_id, draft.id or 0


def events(engine: Engine, action: str) -> list[AuditEvent]:
    with Session(engine) as session:
        query = select(AuditEvent).where(AuditEvent.action == action)
        return list(session.exec(query.order_by(col(AuditEvent.id))).all())


def test_not_a_complaint_any_more_withdraws_the_pending_draft(
    engine: Engine, settings: Settings
) -> None:
    mention_id, draft_id = drafted(engine, settings)
    with Session(engine) as session:
        assert [i.draft.id for i in queue(session)] == [draft_id]

    with session_scope(engine) as session:
        outcome = correct(
            session,
            settings,
            mention_id,
            {"complaint": False, "issue": [], "sentiment": "neutral"},
            reviewer=GIULIA,
            note="a joke, not a complaint",
            now=NOW,
        )
    assert outcome.before["complaint"] is True
    assert outcome.after["complaint"] is False
    assert outcome.changed == ["sentiment", "complaint", "issues"]
    assert outcome.withdrawn_drafts == [draft_id]

    with Session(engine) as session:
        assert queue(session) == []
        draft = session.get(Draft, draft_id)
        assert draft is not None
        assert (draft.status, draft.decided_by) == ("withdrawn", "giulia")
        assert "no reply" in (draft.reason or "")
    (event,) = events(engine, "labels.corrected")
    assert (event.actor, event.subject_type, event.subject_id) == (
        "giulia",
        "mention",
        str(mention_id),
    )
    assert event.details["changes"]["complaint"] == {"from": True, "to": False}
    assert event.details["withdrawn_drafts"] == [draft_id]
    assert event.details["note"] == "a joke, not a complaint"
    assert len(event.details["examples"]) == 3
    assert [e.subject_id for e in events(engine, "draft.withdrawn")] == [str(draft_id)]

    # Not a complaint, no question: the drafting step has nothing to write.
    report = draft_pending(settings, engine, now=NOW)
    assert report.ok
    assert report.drafted == 0


def test_drafting_writes_the_reply_the_corrected_labels_call_for(
    engine: Engine, settings: Settings
) -> None:
    mention_id, draft_id = drafted(engine, settings)
    with session_scope(engine) as session:
        correct(session, settings, mention_id, {"issue": ["billing"]}, reviewer=GIULIA, now=NOW)
    report = draft_pending(settings, engine, now=NOW)
    assert report.ok, report.error
    assert report.intents == {"complaint_billing": 1}
    assert [(d.id == draft_id, d.status, d.intent) for d in drafts(engine)] == [
        (True, "withdrawn", "complaint_delivery"),
        (False, "pending", "complaint_billing"),
    ]
    # An unchanged intent keeps its draft.
    with session_scope(engine) as session:
        outcome = correct(
            session, settings, mention_id, {"sentiment": "negative"}, reviewer=GIULIA, now=NOW
        )
    assert outcome.withdrawn_drafts == []


def test_a_corrected_urgency_moves_the_draft_up_the_queue(
    engine: Engine, settings: Settings
) -> None:
    _, first = drafted(engine, settings, published_at=at(10), handle="a")
    later_mention, later = drafted(engine, settings, published_at=at(40), handle="b")
    with Session(engine) as session:
        assert [i.draft.id for i in queue(session)] == [first, later]
    with session_scope(engine) as session:
        correct(session, settings, later_mention, {"urgency": ["safety"]}, reviewer=GIULIA)
    with Session(engine) as session:
        items = queue(session)
        assert [i.draft.id for i in items] == [later, first]
        assert items[0].urgency == ["safety"]


def test_an_undo_gives_the_model_label_back_and_is_audited(
    engine: Engine, settings: Settings
) -> None:
    mention_id = add_mention(engine, complaint=False, issues=("question",))
    with session_scope(engine) as session:
        outcome = correct(
            session,
            settings,
            mention_id,
            {"language": "IT", "product": ["acme phone"]},
            reviewer=GIULIA,
        )
    assert outcome.after["language"] == "it"
    assert outcome.after["products"] == ["Acme Phone"]
    assert outcome.corrected["language"]["by"] == "giulia"
    language_example = outcome.corrected["language"]["example_id"]
    with session_scope(engine) as session:
        undone = undo(session, settings, language_example, reviewer=Reviewer("tom", "supervisor"))
    assert (undone.before["language"], undone.after["language"]) == ("it", "en")
    assert set(undone.corrected) == {"products"}
    (event,) = events(engine, "labels.correction_undone")
    assert event.actor == "tom"
    assert event.details["corrected_by"] == "giulia"
    assert event.details["changes"] == {"language": {"from": "it", "to": "en"}}
    with session_scope(engine) as session, pytest.raises(CorrectionError, match="undone"):
        undo(session, settings, language_example, reviewer=GIULIA)


def test_corrections_of_trained_tasks_reach_training(engine: Engine, settings: Settings) -> None:
    mention_id = add_mention(engine, text="The box arrived crushed and the screen is cracked")
    with session_scope(engine) as session:
        correct(
            session,
            settings,
            mention_id,
            {"issue": ["defect", "delivery"], "urgency": ["churn"], "language": "en"},
            reviewer=GIULIA,
        )
        correct(session, settings, mention_id, {"urgency": []}, reviewer=GIULIA)
    with Session(engine) as session:
        stored = list_labelled_examples(session, tasks=TRAINED_TASKS)
        every = list_labelled_examples(session, include_removed=True)
    # The replaced urgency label and the language label are no training data.
    assert sorted(e.task for e in stored) == ["issue", "urgency"]
    assert len(every) == 4
    seeds = seed_examples(every)
    assert len(seeds) == 3
    issue = next(s for s in seeds if s.issues is not None)
    assert issue.issues == ["defect", "delivery"]
    assert (issue.urgency, issue.sentiment, issue.complaint, issue.lang) == (None, None, None, "en")
    assert issue.text.startswith("The box arrived crushed")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sentiment": "angry"}, "sentiment 'angry': expected one of negative, neutral, positive"),
        ({"complaint": "maybe"}, "complaint 'maybe': expected yes or no"),
        ({"issue": ["defect", "shipping"]}, "issue 'shipping': expected some of defect"),
        ({"issue": "defect"}, "issue: expected a list"),
        ({"urgency": ["urgent"]}, "urgency 'urgent': expected some of safety, legal, churn"),
        ({"language": "english"}, "language 'english': expected a two-letter ISO 639-1 code"),
        ({"language": "xx"}, "ISO 639-1"),
        ({"product": ["Acme Tab 4"]}, "product 'Acme Tab 4': expected some of Acme Tab 3"),
        ({"mood": "happy"}, "unknown label 'mood'"),
    ],
)
def test_bad_labels_are_refused_with_a_clear_message(
    settings: Settings, changes: dict[str, object], message: str
) -> None:
    with pytest.raises(CorrectionError, match=message.replace("(", r"\(")):
        check(settings, changes)


def test_refusals_store_nothing(engine: Engine, settings: Settings) -> None:
    mention_id = add_mention(engine)
    with session_scope(engine) as session:
        with pytest.raises(CorrectionError, match="only agent, supervisor, admin"):
            correct(
                session,
                settings,
                mention_id,
                {"sentiment": "positive"},
                reviewer=Reviewer("pat", "product"),
            )
        with pytest.raises(CorrectionError, match="no mention with id 98765"):
            correct(session, settings, 98765, {"sentiment": "positive"}, reviewer=GIULIA)
        with pytest.raises(CorrectionError, match="nothing to correct"):
            correct(session, settings, mention_id, {}, reviewer=GIULIA)
        correct(session, settings, mention_id, {"sentiment": "positive"}, reviewer=GIULIA)
        with pytest.raises(CorrectionError, match="already has these labels"):
            correct(session, settings, mention_id, {"sentiment": "positive"}, reviewer=GIULIA)
    with Session(engine) as session:
        labels = get_labels(session, mention_id=mention_id)
        assert labels is not None
        assert labels.sentiment == "positive"
        assert len(list_labelled_examples(session)) == 1
