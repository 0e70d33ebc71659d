"""A person's labels in storage, on SQLite and PostgreSQL: stored with who and when, applied
to the mention's labels at once, kept through reclassification and copies, undone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from storage.classifications import (
    UNCLASSIFIED,
    CorrectionNotFound,
    LabelsRecord,
    PendingMention,
    copy_labels,
    correct_label,
    get_labels,
    list_labelled_examples,
    save_labels,
    undo_correction,
)
from storage.dashboard import counted_per_day, mentions_per_day
from storage.db import session_scope
from storage.mentions import ingest
from storage.models import Classification, LabelledExample, Mention
from tests.factories import at, make_item, make_source

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def add_mentions(engine: Engine, *texts: str) -> list[int]:
    with session_scope(engine) as session:
        source = make_source(session, "forum").id or 0
        counts = ingest(
            session,
            source_id=source,
            items=[make_item(text=t, published_at=at(hours=i)) for i, t in enumerate(texts)],
        )
        return list(counts.new_ids)


def classify(engine: Engine, mention_id: int, model: str = "m1", **labels: object) -> None:
    with session_scope(engine) as session:
        mention = session.get(Mention, mention_id)
        assert mention is not None
        values: dict[str, object] = {
            "sentiment": "neutral",
            "complaint": False,
            "issues": ["question"],
            "language": "en",
            **labels,
        }
        record = LabelsRecord(
            mention_id=mention_id,
            content_hash=mention.content_hash,
            model_version=model,
            **values,  # type: ignore[arg-type]
        )
        save_labels(session, records=[record])


def correct(engine: Engine, mention_id: int, task: str, value: object, by: str = "giulia") -> int:
    with session_scope(engine) as session:
        example = correct_label(
            session,
            mention_id=mention_id,
            task=task,
            value=value,
            text="the text",
            created_by=by,
            note="checked by hand",
        )
        return example.id or 0


def labels(engine: Engine, mention_id: int) -> Classification:
    with Session(engine) as session:
        found = get_labels(session, mention_id=mention_id)
        assert found is not None
        return found


def test_a_correction_is_stored_with_who_and_when_and_applied_at_once(engine: Engine) -> None:
    (mention,) = add_mentions(engine, "The charger sparked and burnt the desk")
    classify(engine, mention)
    classified_at = labels(engine, mention).classified_at
    example_id = correct(engine, mention, "complaint", True)
    correct(engine, mention, "urgency", ["safety"])
    correct(engine, mention, "language", "it", by="tom")
    correct(engine, mention, "product", ["Acme Tab 3"])

    with Session(engine) as session:
        example = session.get(LabelledExample, example_id)
        assert example is not None
        assert (example.task, example.label, example.created_by) == (
            "complaint",
            {"complaint": True},
            "giulia",
        )
        assert example.mention_id == mention
        assert example.note == "checked by hand"
        assert example.created_at.tzinfo is not None
        assert example.removed_at is None
    row = labels(engine, mention)
    assert (row.complaint, row.urgency, row.language, row.products) == (
        True,
        ["safety"],
        "it",
        ["Acme Tab 3"],
    )
    # The model's own labels are kept beside the person's.
    assert row.corrected["complaint"]["model"] is False
    assert row.corrected["complaint"]["by"] == "giulia"
    assert row.corrected["language"] == {
        **row.corrected["language"],
        "value": "it",
        "model": "en",
        "by": "tom",
    }
    assert row.sentiment == "neutral"
    assert "sentiment" not in row.corrected
    # Readers that follow the labelling time (defect detection) read the mention again.
    assert row.classified_at > classified_at


def test_reclassification_never_overwrites_a_persons_label(engine: Engine) -> None:
    (mention,) = add_mentions(engine, "Where is my parcel? Three weeks now")
    classify(engine, mention)
    correct(engine, mention, "issue", ["delivery"])
    correct(engine, mention, "sentiment", "negative")

    # The same model again, then a new model: the person's labels win both times.
    classify(engine, mention, sentiment="neutral", issues=["question"])
    classify(engine, mention, model="m2", sentiment="positive", issues=["praise"])
    row = labels(engine, mention)
    assert (row.model_version, row.sentiment, row.issues) == ("m2", "negative", ["delivery"])
    assert row.corrected["sentiment"]["model"] == "positive"
    assert row.corrected["issues"]["model"] == ["praise"]
    # Labels nobody corrected follow the model.
    classify(engine, mention, model="m3", language="fr", sentiment="positive", issues=["praise"])
    assert labels(engine, mention).language == "fr"

    # Undone, the mention gets the model's current label back.
    sentiment_example = labels(engine, mention).corrected["sentiment"]["example_id"]
    with session_scope(engine) as session:
        undo_correction(session, example_id=sentiment_example, removed_by="tom")
    row = labels(engine, mention)
    assert (row.sentiment, row.issues) == ("positive", ["delivery"])
    assert set(row.corrected) == {"issues"}
    with session_scope(engine) as session:
        with pytest.raises(CorrectionNotFound, match="undone or replaced"):
            undo_correction(session, example_id=sentiment_example, removed_by="tom")
        with pytest.raises(CorrectionNotFound, match="no correction"):
            undo_correction(session, example_id=99999, removed_by="tom")


def test_a_second_correction_replaces_the_first(engine: Engine) -> None:
    (mention,) = add_mentions(engine, "Billing charged me twice")
    classify(engine, mention, issues=["other"])
    first = correct(engine, mention, "issue", ["defect"])
    second = correct(engine, mention, "issue", ["billing"], by="tom")
    row = labels(engine, mention)
    assert row.issues == ["billing"]
    # The model's value survives the second correction: undoing goes back to the model.
    assert row.corrected["issues"]["model"] == ["other"]
    assert row.corrected["issues"]["example_id"] == second
    with Session(engine) as session:
        assert [e.id for e in list_labelled_examples(session, mention_id=mention)] == [second]
        every = list_labelled_examples(session, mention_id=mention, include_removed=True)
        assert [(e.id, e.removed_by) for e in every] == [(first, "tom"), (second, None)]
    with session_scope(engine) as session:
        with pytest.raises(CorrectionNotFound):
            undo_correction(session, example_id=first, removed_by="tom")
        undo_correction(session, example_id=second, removed_by="tom")
    assert labels(engine, mention).issues == ["other"]


def test_copies_keep_their_own_corrections_and_take_their_originals(engine: Engine) -> None:
    original, copy = add_mentions(engine, "The screen cracked", "The screen cracked!")
    classify(engine, original, model="m1", issues=["other"], complaint=False)
    correct(engine, original, "complaint", True)
    classify(engine, copy, model="m0")
    correct(engine, copy, "sentiment", "negative")
    with Session(engine) as session:
        hash_ = session.get(Mention, copy).content_hash  # type: ignore[union-attr]
    dup = PendingMention(copy, None, "The screen cracked!", None, hash_, original)
    with session_scope(engine) as session:
        assert copy_labels(session, duplicates=[dup], model_version="m1") == [copy]
    row = labels(engine, copy)
    # The original's labels as they stand (its correction included), the copy's own kept.
    assert (row.complaint, row.sentiment, row.copied_from_id) == (True, "negative", original)
    assert row.corrected["sentiment"]["model"] == "neutral"
    assert set(row.corrected) == {"sentiment"}


def test_a_mention_corrected_before_classification_is_completed_later(engine: Engine) -> None:
    (mention,) = add_mentions(engine, "Il tablet si surriscalda")
    correct(engine, mention, "language", "it")
    row = labels(engine, mention)
    assert (row.model_version, row.language, row.sentiment) == (UNCLASSIFIED, "it", None)
    assert row.corrected["language"]["model"] is None
    classify(engine, mention, language="es", sentiment="negative")
    row = labels(engine, mention)
    assert (row.model_version, row.language, row.sentiment) == ("m1", "it", "negative")
    with Session(engine) as session:
        assert len(session.exec(select(Classification)).all()) == 1


def test_a_sentiment_correction_moves_the_daily_counts(engine: Engine) -> None:
    (mention,) = add_mentions(engine, "Fine, I guess")
    classify(engine, mention, sentiment="neutral")
    correct(engine, mention, "sentiment", "negative")
    with Session(engine) as session:
        rollup = mentions_per_day(session, since=EPOCH, by="sentiment")
        assert rollup == counted_per_day(session, since=EPOCH, by="sentiment")
    assert [(c.group, c.count) for c in rollup] == [("negative", 1)]


def test_unknown_tasks_and_mentions_are_refused(engine: Engine) -> None:
    with session_scope(engine) as session:
        with pytest.raises(ValueError, match="task 'mood'"):
            correct_label(
                session, mention_id=1, task="mood", value="x", text="t", created_by="giulia"
            )
        with pytest.raises(LookupError, match="no mention with id 424242"):
            correct_label(
                session, mention_id=424242, task="sentiment", value="x", text="t", created_by="g"
            )
