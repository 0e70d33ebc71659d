"""Classifier output (labels, scores, embeddings) and labelled examples, read and written.

Every function works inside the caller's session and transaction; writes are idempotent
(one Classification and one MentionEmbedding per mention, replaced on reclassification).

A person's correction of a label is a LabelledExample applied onto the mention's
Classification (`correct_label`): the label columns then hold the person's value, so every
reader sees it, and `Classification.corrected` keeps the model's value beside it.
Reclassification (`save_labels`, `copy_labels`) refreshes the model's value there and
leaves the person's in place until the correction is undone (`undo_correction`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import String, cast, or_, true
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, func, select

from storage.models import Classification, LabelledExample, Mention, MentionEmbedding
from storage.types import utcnow

TASKS = ("sentiment", "complaint", "issue", "urgency", "language", "product")
"""What a labelled example can label."""
TRAINED_TASKS = ("sentiment", "complaint", "issue", "urgency")
"""The tasks with a trained head: only their examples are training data."""
TASK_FIELDS = {
    "sentiment": "sentiment",
    "complaint": "complaint",
    "issue": "issues",
    "urgency": "urgency",
    "language": "language",
    "product": "products",
}
"""Each task's Classification column, which is also its key in `LabelledExample.label`."""
# The model's label of a mention it never classified: a correction can come first.
UNCLASSIFIED = ""
_CHUNK = 500


class CorrectionNotFound(LookupError):
    """No such correction, or it was already undone."""


@dataclass(frozen=True)
class PendingMention:
    """A mention waiting for labels: what the classifier needs and nothing more."""

    id: int
    title: str | None
    text: str
    lang: str | None
    content_hash: str
    duplicate_of_id: int | None


@dataclass
class LabelsRecord:
    """One mention's labels as the classifier produced them, ready to store."""

    mention_id: int
    content_hash: str
    model_version: str
    language: str | None = None
    language_score: float | None = None
    sentiment: str | None = None
    sentiment_scores: dict[str, float] = field(default_factory=dict)
    complaint: bool | None = None
    complaint_score: float | None = None
    issues: list[str] = field(default_factory=list)
    issue_scores: dict[str, float] = field(default_factory=dict)
    urgency: list[str] = field(default_factory=list)
    urgency_scores: dict[str, float] = field(default_factory=dict)
    severity: str | None = None
    severity_scores: dict[str, float] = field(default_factory=dict)
    confidence: float | None = None
    products: list[str] = field(default_factory=list)
    unclassifiable_reason: str | None = None
    truncated: bool = False
    embedding: npt.NDArray[np.float32] | None = None


_LABEL_FIELDS = (
    "model_version",
    "content_hash",
    "language",
    "language_score",
    "sentiment",
    "sentiment_scores",
    "complaint",
    "complaint_score",
    "issues",
    "issue_scores",
    "urgency",
    "urgency_scores",
    "severity",
    "severity_scores",
    "confidence",
    "products",
    "unclassifiable_reason",
    "truncated",
)


def _pending_query(
    *,
    model_version: str,
    after_id: int,
    since: datetime | None,
    reclassify_before: datetime | None,
) -> Any:
    stale = or_(
        col(Classification.id).is_(None),
        col(Classification.model_version) != model_version,
        col(Classification.content_hash) != col(Mention.content_hash),
    )
    if reclassify_before is not None:
        stale = or_(stale, col(Classification.classified_at) < reclassify_before)
    query: Any = (
        select(Mention)
        .join(Classification, col(Classification.mention_id) == Mention.id, isouter=True)
        .where(col(Mention.id) > after_id)
        .where(col(Mention.deleted_at).is_(None))
        # Withdrawn words are never read again (erased, past retention, gone upstream).
        .where(col(Mention.withdrawn_at).is_(None))
        .where(stale)
    )
    if since is not None:
        query = query.where(func.coalesce(Mention.published_at, Mention.fetched_at) >= since)
    return query.order_by(col(Mention.id))


def _pending(rows: Iterable[Mention]) -> list[PendingMention]:
    return [
        PendingMention(
            id=m.id or 0,
            title=m.title,
            text=m.text,
            lang=m.lang,
            content_hash=m.content_hash,
            duplicate_of_id=m.duplicate_of_id,
        )
        for m in rows
    ]


def pending_mentions(
    session: Session,
    *,
    model_version: str,
    after_id: int = 0,
    limit: int = 64,
    since: datetime | None = None,
    reclassify_before: datetime | None = None,
) -> list[PendingMention]:
    """Mentions without current labels, by ascending id (so originals come before copies).

    Current labels are those of `model_version` for the mention's present text. With
    `reclassify_before`, labels written before that instant count as missing too (a full
    rerun that a crash can resume). Deleted mentions are skipped. Page with `after_id`.
    """
    query = _pending_query(
        model_version=model_version,
        after_id=after_id,
        since=since,
        reclassify_before=reclassify_before,
    )
    return _pending(session.exec(query.limit(limit)).all())


@dataclass(frozen=True)
class Claim:
    """Pending mentions this transaction holds, and where the next claim starts."""

    mentions: list[PendingMention]
    last_id: int


def claim_pending_mentions(
    session: Session,
    *,
    model_version: str,
    after_id: int = 0,
    limit: int = 64,
    since: datetime | None = None,
    reclassify_before: datetime | None = None,
) -> Claim:
    """Like `pending_mentions`, but the mentions stay claimed until the session's
    transaction ends, so workers classifying at once each take different ones.

    On PostgreSQL the mention rows are locked (`FOR NO KEY UPDATE SKIP LOCKED`): rows
    another transaction holds are skipped, not waited for, and a worker that dies lets go
    of its claim with its connection. Rows only weakly locked still take new labels,
    drafts and embeddings that point at them. A row another worker labelled between this
    statement's snapshot and its lock is dropped by a second look at the claimed ids.
    `last_id` is the highest id claimed, so paging goes on past a claim that turned out
    to be done already. SQLite has one writer process and needs no lock.
    """
    query = _pending_query(
        model_version=model_version,
        after_id=after_id,
        since=since,
        reclassify_before=reclassify_before,
    )
    if session.get_bind().dialect.name != "postgresql":
        rows = _pending(session.exec(query.limit(limit)).all())
        return Claim(rows, rows[-1].id if rows else after_id)
    locked = (
        query.with_only_columns(col(Mention.id))
        .limit(limit)
        .with_for_update(of=Mention, skip_locked=True, key_share=True)
    )
    ids = list(session.exec(locked).all())
    if not ids:
        return Claim([], after_id)
    # A fresh snapshot: what is still pending now that these rows are ours.
    again = _pending_query(
        model_version=model_version,
        after_id=after_id,
        since=since,
        reclassify_before=reclassify_before,
    ).where(col(Mention.id).in_(ids))
    return Claim(_pending(session.exec(again).all()), max(ids))


def current_labels(session: Session, *, mention_ids: Iterable[int], model_version: str) -> set[int]:
    """Which of `mention_ids` have labels from `model_version` (for any text)."""
    ids = sorted(set(mention_ids))
    found: set[int] = set()
    for start in range(0, len(ids), _CHUNK):
        found.update(
            session.exec(
                select(Classification.mention_id)
                .where(col(Classification.mention_id).in_(ids[start : start + _CHUNK]))
                .where(Classification.model_version == model_version)
                .where(col(Classification.unclassifiable_reason).is_(None))
            ).all()
        )
    return found


def sure_enough(min_confidence: float) -> ColumnElement[bool]:
    """Labels that may be acted on: confident enough, or confirmed by a person.

    A person's correction of the sentiment or the complaint label settles them, whatever the
    model's confidence; labels without a confidence (older models) are acted on as before.
    """
    if min_confidence <= 0:
        return true()
    corrected = cast(Classification.corrected, String)
    return or_(
        col(Classification.confidence).is_(None),
        col(Classification.confidence) >= min_confidence,
        corrected.like('%"sentiment"%'),
        corrected.like('%"complaint"%'),
    )


def to_check(
    session: Session, *, min_confidence: float, limit: int = 100
) -> list[tuple[Mention, Classification]]:
    """Mentions whose labels wait for a person (least sure first)."""
    if min_confidence <= 0:
        return []
    query = (
        select(Mention, Classification)
        .join(Classification, col(Classification.mention_id) == col(Mention.id))
        .where(col(Mention.deleted_at).is_(None))
        .where(col(Classification.unclassifiable_reason).is_(None))
        .where(~sure_enough(min_confidence))
        .order_by(col(Classification.confidence), col(Mention.id))
        .limit(limit)
    )
    return [(m, c) for m, c in session.exec(query).all()]


def save_labels(session: Session, *, records: Sequence[LabelsRecord]) -> int:
    """Insert or replace each mention's labels and embedding; returns how many were written."""
    if not records:
        return 0
    ids = [r.mention_id for r in records]
    existing = {
        c.mention_id: c
        for c in session.exec(
            select(Classification).where(col(Classification.mention_id).in_(ids))
        ).all()
    }
    vectors = {
        e.mention_id: e
        for e in session.exec(
            select(MentionEmbedding).where(col(MentionEmbedding.mention_id).in_(ids))
        ).all()
    }
    now = utcnow()
    for record in records:
        row = existing.get(record.mention_id) or Classification(
            mention_id=record.mention_id,
            model_version=record.model_version,
            content_hash=record.content_hash,
        )
        for name in _LABEL_FIELDS:
            setattr(row, name, getattr(record, name))
        _keep_corrections(row)
        row.copied_from_id = None
        row.classified_at = now
        session.add(row)
        stored = vectors.get(record.mention_id)
        if record.embedding is None:
            if stored is not None:
                session.delete(stored)
            continue
        vector = np.ascontiguousarray(record.embedding, dtype="<f4")
        if stored is None:
            stored = MentionEmbedding(
                mention_id=record.mention_id,
                model_version=record.model_version,
                dim=int(vector.shape[0]),
                vector=vector.tobytes(),
            )
        stored.model_version = record.model_version
        stored.dim = int(vector.shape[0])
        stored.vector = vector.tobytes()
        session.add(stored)
    session.flush()
    return len(records)


def copy_labels(
    session: Session, *, duplicates: Sequence[PendingMention], model_version: str
) -> list[int]:
    """Give near-duplicates their original's labels; returns the ids that were copied.

    A duplicate whose original has no classified labels of `model_version` is left out
    (and so stays pending, to be classified on its own).
    """
    wanted = [d for d in duplicates if d.duplicate_of_id is not None]
    if not wanted:
        return []
    originals = {
        c.mention_id: c
        for c in session.exec(
            select(Classification)
            .where(col(Classification.mention_id).in_({d.duplicate_of_id for d in wanted}))
            .where(Classification.model_version == model_version)
            .where(col(Classification.unclassifiable_reason).is_(None))
        ).all()
    }
    existing = {
        c.mention_id: c
        for c in session.exec(
            select(Classification).where(col(Classification.mention_id).in_([d.id for d in wanted]))
        ).all()
    }
    now = utcnow()
    copied = []
    for dup in wanted:
        original = originals.get(dup.duplicate_of_id or 0)
        if original is None:
            continue
        row = existing.get(dup.id) or Classification(
            mention_id=dup.id, model_version=model_version, content_hash=dup.content_hash
        )
        # The original's labels as they stand, its corrections included: a person's label
        # of a post holds for its near-identical copies too, unless they were corrected.
        for name in _LABEL_FIELDS:
            setattr(row, name, getattr(original, name))
        _keep_corrections(row)
        row.content_hash = dup.content_hash
        row.copied_from_id = original.mention_id
        row.classified_at = now
        session.add(row)
        copied.append(dup.id)
    session.flush()
    return copied


def get_labels(session: Session, *, mention_id: int) -> Classification | None:
    """The stored labels of one mention, if any."""
    return session.exec(
        select(Classification).where(Classification.mention_id == mention_id)
    ).first()


def get_embedding(
    session: Session, *, mention_id: int
) -> tuple[str, npt.NDArray[np.float32]] | None:
    """(model version, vector) of a mention; a copied near-duplicate gives its original's."""
    row = session.get(MentionEmbedding, mention_id)
    if row is None:
        labels = get_labels(session, mention_id=mention_id)
        if labels is None or labels.copied_from_id is None:
            return None
        row = session.get(MentionEmbedding, labels.copied_from_id)
        if row is None:
            return None
    vector = np.frombuffer(row.vector, dtype="<f4").astype(np.float32)
    return row.model_version, vector


def label_counts(session: Session, *, model_version: str) -> dict[str, int]:
    """How many mentions have labels of `model_version`: classified, copied, unclassifiable."""
    base = select(func.count()).select_from(Classification)
    base = base.where(Classification.model_version == model_version)
    copied = session.exec(base.where(col(Classification.copied_from_id).is_not(None))).one()
    bad = session.exec(base.where(col(Classification.unclassifiable_reason).is_not(None))).one()
    total = session.exec(base).one()
    return {"classified": total - copied - bad, "copied": copied, "unclassifiable": bad}


def add_labelled_example(
    session: Session,
    *,
    text: str,
    task: str,
    label: dict[str, Any],
    created_by: str,
    lang: str | None = None,
    mention_id: int | None = None,
    note: str | None = None,
) -> LabelledExample:
    """Store a person's label for a text (e.g. a correction of the classifier)."""
    if task not in TASKS:
        raise ValueError(f"task {task!r}: expected one of {', '.join(TASKS)}")
    example = LabelledExample(
        text=text,
        task=task,
        label=label,
        created_by=created_by,
        lang=lang,
        mention_id=mention_id,
        note=note,
    )
    session.add(example)
    session.flush()
    return example


def list_labelled_examples(
    session: Session,
    *,
    task: str | None = None,
    since: datetime | None = None,
    mention_id: int | None = None,
    include_removed: bool = False,
    tasks: Sequence[str] | None = None,
) -> list[LabelledExample]:
    """Labelled examples, oldest first; undone or replaced ones only with `include_removed`."""
    query: Any = select(LabelledExample)
    if task is not None:
        query = query.where(LabelledExample.task == task)
    if tasks is not None:
        query = query.where(col(LabelledExample.task).in_(list(tasks)))
    if since is not None:
        query = query.where(col(LabelledExample.created_at) >= since)
    if mention_id is not None:
        query = query.where(LabelledExample.mention_id == mention_id)
    if not include_removed:
        query = query.where(col(LabelledExample.removed_at).is_(None))
    return list(session.exec(query.order_by(col(LabelledExample.id))).all())


# -- corrections ---------------------------------------------------------------------------


def correct_label(
    session: Session,
    *,
    mention_id: int,
    task: str,
    value: Any,
    text: str,
    created_by: str,
    lang: str | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> LabelledExample:
    """Store a person's label of one task for a mention and apply it to its labels at once.

    `value` must already be valid for the task (the caller checks it). An earlier
    correction of the same task is marked replaced. A mention never classified gets a
    Classification holding only the person's labels (model version `UNCLASSIFIED`), which
    classification completes later. `classified_at` moves to now, so readers that follow
    it (defect detection) read the mention again.
    """
    if task not in TASKS:
        raise ValueError(f"task {task!r}: expected one of {', '.join(TASKS)}")
    field_name = TASK_FIELDS[task]
    when = now or utcnow()
    row = get_labels(session, mention_id=mention_id)
    if row is None:
        mention = session.get(Mention, mention_id)
        if mention is None:
            raise LookupError(f"no mention with id {mention_id}")
        row = Classification(
            mention_id=mention_id,
            model_version=UNCLASSIFIED,
            content_hash=mention.content_hash,
        )
    for earlier in list_labelled_examples(session, task=task, mention_id=mention_id):
        earlier.removed_at = when
        earlier.removed_by = created_by
        session.add(earlier)
    example = add_labelled_example(
        session,
        text=text,
        task=task,
        label={field_name: value},
        created_by=created_by,
        lang=lang,
        mention_id=mention_id,
        note=note,
    )
    example.created_at = when
    corrected = dict(row.corrected or {})
    before = corrected.get(field_name)
    model_value = before["model"] if before else getattr(row, field_name)
    corrected[field_name] = {
        "value": value,
        "model": model_value,
        "by": created_by,
        "at": when.isoformat(),
        "example_id": example.id,
    }
    # A new dict, not a change in place: SQLAlchemy notices a JSON column only reassigned.
    row.corrected = corrected
    setattr(row, field_name, value)
    row.classified_at = when
    session.add(row)
    session.flush()
    return example


def undo_correction(
    session: Session, *, example_id: int, removed_by: str, now: datetime | None = None
) -> tuple[LabelledExample, Classification | None]:
    """Withdraw a person's label: the mention gets the model's label of that task back.

    Returns the example and the mention's labels; CorrectionNotFound when there is no such
    correction or it was already undone or replaced.
    """
    when = now or utcnow()
    example = session.get(LabelledExample, example_id)
    if example is None or example.removed_at is not None:
        state = "no" if example is None else "an undone or replaced"
        raise CorrectionNotFound(f"{state} correction with id {example_id}")
    example.removed_at = when
    example.removed_by = removed_by
    session.add(example)
    row = None
    if example.mention_id is not None:
        row = get_labels(session, mention_id=example.mention_id)
    field_name = TASK_FIELDS.get(example.task)
    if row is not None and field_name is not None:
        corrected = dict(row.corrected or {})
        applied = corrected.get(field_name)
        if applied is not None and applied.get("example_id") == example.id:
            del corrected[field_name]
            row.corrected = corrected
            setattr(row, field_name, applied["model"])
            row.classified_at = when
            session.add(row)
    session.flush()
    return example, row


def get_correction(session: Session, *, example_id: int) -> LabelledExample | None:
    """One labelled example by id."""
    return session.get(LabelledExample, example_id)


def _keep_corrections(row: Classification) -> None:
    """After the model wrote `row`'s labels: remember them as the model's, keep the person's."""
    if not row.corrected:
        return
    corrected = {}
    for field_name, applied in row.corrected.items():
        corrected[field_name] = {**applied, "model": getattr(row, field_name)}
        setattr(row, field_name, applied["value"])
    row.corrected = corrected


def get_mention(session: Session, *, mention_id: int) -> Mention | None:
    """One stored mention by id."""
    return session.get(Mention, mention_id)
