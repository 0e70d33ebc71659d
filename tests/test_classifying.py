"""The classification step: pending mentions labelled once, in committed chunks, never stuck."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ascolto.settings import Settings
from classify import classifying
from classify.classifying import ClassifyReport, classify_pending, classify_texts
from storage.classifications import (
    add_labelled_example,
    get_embedding,
    get_labels,
    list_labelled_examples,
    pending_mentions,
)
from storage.db import session_scope
from storage.mentions import NewMention, ingest
from storage.models import Classification, Mention
from tests.factories import make_item, make_source

PRODUCTS = '[[products]]\nname = "Acme Tab 3"\naliases = ["Tab 3"]\nskus = ["AT3-64"]\n\n'


def store(engine: Engine, items: Sequence[NewMention], source: str = "forum") -> list[int]:
    """Ingest `items` into one source (created on first use); returns the new ids."""
    with session_scope(engine) as session:
        found = session.exec(select(Mention.source_id).limit(1)).first()
        source_id = found if found is not None else make_source(session, source).id
        assert source_id is not None
        counts = ingest(session, source_id=source_id, items=items)
    return counts.new_ids


def labels_by_id(engine: Engine) -> dict[int, Classification]:
    with Session(engine) as session:
        return {c.mention_id: c for c in session.exec(select(Classification)).all()}


def run(settings: Settings, engine: Engine, classifier: Any, **kwargs: Any) -> ClassifyReport:
    report = classify_pending(settings, engine, classifier=classifier, **kwargs)
    assert report.ok, report.error
    return report


def test_pending_mentions_are_classified_once_and_reclassify_redoes_them(
    make_settings: Any, engine: Engine, shared_classifier: Any
) -> None:
    settings = make_settings(PRODUCTS)
    ids = store(
        engine,
        [
            make_item(title=None, text="My Tab 3 arrived with a cracked screen, I want a refund"),
            make_item(title="Great", text="Adoro il mio Acme Tab 3, batteria infinita!"),
            make_item(title=None, text="Does the AT3-64 support a stylus?"),
        ],
    )
    first = run(settings, engine, shared_classifier)
    assert (first.classified, first.copied, first.unclassifiable) == (3, 0, 0)
    assert first.model_version == shared_classifier.model_version
    stored = labels_by_id(engine)
    assert set(stored) == set(ids)
    for row in stored.values():
        assert row.model_version == shared_classifier.model_version
        assert row.sentiment in ("negative", "neutral", "positive")
        assert sum(row.sentiment_scores.values()) == pytest.approx(1.0, abs=1e-3)
        assert row.complaint_score is not None
        assert 0.0 <= row.complaint_score <= 1.0
        assert row.issues
        assert row.unclassifiable_reason is None
        assert row.products == ["Acme Tab 3"]
    assert stored[ids[0]].language == "en"
    assert stored[ids[1]].language == "it"
    assert stored[ids[0]].complaint is True
    assert stored[ids[0]].sentiment == "negative"
    with Session(engine) as session:
        found = get_embedding(session, mention_id=ids[0])
    assert found is not None
    assert found[1].shape == (shared_classifier.encoder.dim,)
    assert float(np.linalg.norm(found[1])) == pytest.approx(1.0, abs=1e-3)

    assert run(settings, engine, shared_classifier).done == 0
    again = run(settings, engine, shared_classifier, reclassify=True)
    assert again.classified == 3
    assert labels_by_id(engine)[ids[0]].classified_at > stored[ids[0]].classified_at
    assert run(settings, engine, shared_classifier).done == 0


def test_near_duplicates_get_their_originals_labels_without_encoding(
    make_settings: Any, engine: Engine, shared_classifier: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings()
    text = "The charger of my tablet melted overnight and the cable is burnt, this is dangerous"
    original, copy = store(
        engine, [make_item(title=None, text=text), make_item(title=None, text=text + "!")]
    )
    report = run(settings, engine, shared_classifier)
    assert (report.classified, report.copied) == (1, 1)
    stored = labels_by_id(engine)
    assert stored[copy].copied_from_id == original
    assert stored[copy].issues == stored[original].issues
    assert stored[copy].sentiment_scores == stored[original].sentiment_scores

    # A repost arriving later is copied from the stored labels: nothing is encoded.
    (later,) = store(engine, [make_item(title=None, text=text + " !!")])
    encoded: list[int] = []
    real = classifying.classify_texts
    monkeypatch.setattr(
        classifying,
        "classify_texts",
        lambda clf, texts, products: encoded.append(len(texts)) or real(clf, texts, products),
    )
    report = run(settings, engine, shared_classifier)
    assert (report.classified, report.copied) == (0, 1)
    assert encoded == [0]
    with Session(engine) as session:
        vectors = [get_embedding(session, mention_id=i) for i in (original, later)]
    assert vectors[0] is not None
    assert vectors[1] is not None
    assert np.array_equal(vectors[0][1], vectors[1][1])


def test_deleted_mentions_are_skipped_and_edited_ones_redone(
    make_settings: Any, engine: Engine, shared_classifier: Any
) -> None:
    settings = make_settings()
    kept = make_item(title=None, text="Customer service never answered my emails.")
    gone = make_item(title=None, text="I will sue you for this broken heater.")
    store(engine, [kept, gone])
    store(engine, [NewMention(external_id=gone.external_id, text="", deleted=True)])
    report = run(settings, engine, shared_classifier)
    assert report.classified == 1
    assert len(labels_by_id(engine)) == 1

    edited = NewMention(external_id=kept.external_id, text="Customer service solved it, thanks!")
    store(engine, [edited])
    report = run(settings, engine, shared_classifier)
    assert report.classified == 1
    (row,) = labels_by_id(engine).values()
    assert row.sentiment == "positive"


def test_bad_input_is_classified_or_marked_with_the_reason(
    make_settings: Any, engine: Engine, shared_classifier: Any
) -> None:
    settings = make_settings("[classify]\nbatch_size = 4\n")
    texts = {
        "empty": "",
        "spaces": "   \n\t ",
        "emoji": "😡😡😡",
        "urls": "https://example.com/a https://example.org/b?c=d",
        "huge": "The screen flickers and the tablet reboots. " * 2500,  # ~110 kB
        "control": "The\x07 battery\x1b[31m died \x7f again\x0b today",
        "fine": "Delivery was two weeks late.",
    }
    new_ids = store(engine, [make_item(title=None, text=t) for t in texts.values()])
    ids = dict(zip(texts, new_ids, strict=True))
    report = run(settings, engine, shared_classifier)
    assert report.done == len(texts)
    stored = labels_by_id(engine)
    assert stored[ids["empty"]].unclassifiable_reason == "empty"
    assert stored[ids["spaces"]].unclassifiable_reason == "empty"
    assert stored[ids["urls"]].unclassifiable_reason == "only_urls"
    assert report.reasons == {"empty": 2, "only_urls": 1}
    for name in ("emoji", "huge", "control", "fine"):
        assert stored[ids[name]].unclassifiable_reason is None, name
        assert stored[ids[name]].sentiment is not None
    assert stored[ids["huge"]].truncated is True
    assert stored[ids["emoji"]].sentiment == "negative"
    with Session(engine) as session:
        assert get_embedding(session, mention_id=ids["empty"]) is None
        assert get_embedding(session, mention_id=ids["huge"]) is not None
    # Unclassifiable mentions are not tried again by the same model.
    assert run(settings, engine, shared_classifier).done == 0


def test_texts_the_database_cannot_hold_never_stop_a_batch(shared_classifier: Any) -> None:
    texts = ["lone \ud800 surrogate and \udfff more", "nul\x00 byte", "", "ok, works fine"]
    labels = classify_texts(shared_classifier, texts, [])
    assert len(labels) == 4
    assert labels[0].classified
    assert labels[1].classified
    assert labels[3].classified
    assert labels[2].unclassifiable_reason == "empty"


def test_a_batch_that_fails_as_a_whole_is_retried_text_by_text(shared_classifier: Any) -> None:
    class Flaky:
        model_version = shared_classifier.model_version

        def classify(self, texts: Sequence[Any], products: Sequence[Any]) -> Any:
            if len(texts) > 1 or texts[0].text == "boom":
                raise RuntimeError("encoder crashed")
            return shared_classifier.classify(texts, products)

    labels = classify_texts(Flaky(), ["fine text", "boom"], [])  # type: ignore[arg-type]
    assert labels[0].classified
    assert labels[1].unclassifiable_reason == "classifier_error: RuntimeError"


def test_a_crash_mid_run_keeps_committed_chunks_and_the_rerun_does_the_rest(
    make_settings: Any, engine: Engine, shared_classifier: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings("[classify]\nbatch_size = 2\n")
    ids = store(engine, [make_item(title=None, text=f"Order {n} never arrived") for n in range(5)])
    real = classifying.save_labels
    calls: list[int] = []

    def failing(session: Session, *, records: Any) -> int:
        calls.append(len(records))
        if len(calls) == 2:
            real(session, records=records)  # written, then lost with the transaction
            raise OSError("disk full")
        return real(session, records=records)

    monkeypatch.setattr(classifying, "save_labels", failing)
    report = classify_pending(settings, engine, classifier=shared_classifier)
    assert report.error == "OSError: disk full"
    assert report.classified == 2
    assert set(labels_by_id(engine)) == set(ids[:2])

    monkeypatch.setattr(classifying, "save_labels", real)
    seen: list[list[int]] = []
    real_claim = classifying.claim_pending_mentions

    def spy(session: Session, **kwargs: Any) -> Any:
        claim = real_claim(session, **kwargs)
        seen.append([r.id for r in claim.mentions])
        return claim

    monkeypatch.setattr(classifying, "claim_pending_mentions", spy)
    report = run(settings, engine, shared_classifier)
    assert report.classified == 3
    assert [i for chunk in seen for i in chunk] == ids[2:]
    assert set(labels_by_id(engine)) == set(ids)


def test_stop_is_honoured_between_chunks(
    make_settings: Any, engine: Engine, shared_classifier: Any
) -> None:
    settings = make_settings("[classify]\nbatch_size = 2\n")
    store(engine, [make_item(title=None, text=f"Refund {n} still missing") for n in range(5)])
    stop = threading.Event()
    report = run(settings, engine, shared_classifier, stop=stop, progress=lambda _r: stop.set())
    assert report.stopped
    assert report.done == 2
    assert run(settings, engine, shared_classifier).done == 3


def test_since_limits_the_run(make_settings: Any, engine: Engine, shared_classifier: Any) -> None:
    from tests.factories import at

    settings = make_settings()
    old, new = store(
        engine,
        [
            make_item(title=None, text="Old post about billing", published_at=at(days=-10)),
            make_item(title=None, text="New post about billing", published_at=at(days=1)),
        ],
    )
    assert run(settings, engine, shared_classifier, since=at()).classified == 1
    assert set(labels_by_id(engine)) == {new}
    with Session(engine) as session:
        pending = pending_mentions(session, model_version=shared_classifier.model_version)
    assert [p.id for p in pending] == [old]


def test_labelled_examples_are_stored_for_training(engine: Engine) -> None:
    (mention_id,) = store(engine, [make_item(text="Where is my parcel?")])
    with session_scope(engine) as session:
        add_labelled_example(
            session,
            text="Where is my parcel?",
            task="issue",
            label={"issues": ["delivery", "question"]},
            created_by="agent:giulia",
            lang="en",
            mention_id=mention_id,
            note="was labelled other",
        )
        with pytest.raises(ValueError, match="task 'mood'"):
            add_labelled_example(session, text="x", task="mood", label={}, created_by="a")
    with Session(engine) as session:
        (example,) = list_labelled_examples(session, task="issue")
        assert example.label == {"issues": ["delivery", "question"]}
        assert example.mention_id == mention_id
        assert example.created_at is not None
        assert get_labels(session, mention_id=mention_id) is None

    from classify.training import seed_examples

    (seed,) = seed_examples([example])
    assert seed.issues == ["delivery", "question"]
    assert seed.split == "train"


def test_claims_are_disjoint_and_end_with_their_transaction(
    engine: Engine, shared_classifier: Any
) -> None:
    from storage.classifications import claim_pending_mentions
    from tests.claims import claimed_mentions, enable_row_locks_view

    if engine.dialect.name != "postgresql":
        pytest.skip("row claims are PostgreSQL's; SQLite has one writer process")
    enable_row_locks_view()
    ids = store(engine, [make_item(title=None, text=f"Refund {n} still missing") for n in range(5)])
    version = shared_classifier.model_version
    with Session(engine) as first, Session(engine) as second:
        a = claim_pending_mentions(first, model_version=version, limit=2)
        b = claim_pending_mentions(second, model_version=version, limit=2)
        assert [m.id for m in a.mentions] == ids[:2]
        assert [m.id for m in b.mentions] == ids[2:4]
        assert claimed_mentions(engine) == 4
        first.rollback()  # as when a worker dies: its claim goes with its transaction
        assert claimed_mentions(engine) == 2
        again = claim_pending_mentions(first, model_version=version, limit=5)
        assert [m.id for m in again.mentions] == [*ids[:2], ids[4]]


def test_workers_classifying_at_once_label_each_mention_once(
    make_settings: Any, engine: Engine, shared_classifier: Any
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("on SQLite one process's scheduler never runs the step twice at once")
    settings = make_settings("[classify]\nbatch_size = 2\n")
    ids = store(engine, [make_item(title=None, text=f"Order {n} never came") for n in range(12)])
    reports: list[ClassifyReport] = []
    start = threading.Barrier(3)

    def worker() -> None:
        start.wait()
        reports.append(run(settings, engine, shared_classifier))

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.classified + r.unclassifiable for r in reports) == len(ids)
    assert set(labels_by_id(engine)) == set(ids)
