"""Corrections: a person sets a mention's labels, and what was decided from them follows.

`correct` checks the new labels, stores each as a LabelledExample (who, when, why) applied
onto the mention's Classification (`storage.classifications.correct_label`), so drafting,
the review queue, the mentions list and defect detection read the person's label at once
and reclassification keeps it until `undo`. Then what the old labels decided follows:
an open reply draft whose intent no longer fits is withdrawn (the next drafting run writes
the reply the labels call for), and a mention that is no longer a complaint of a product
leaves that product's defect clusters (one that became a complaint is read by the next
detection run). Each correction and each undo leaves one AuditEvent. The command line and
the web app call these functions inside their own transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session

from ascolto.auth import CARE_ROLES, has_role
from ascolto.review.queue import OPEN, Reviewer, withdraw
from ascolto.settings import Settings
from classify.classifying import mention_text
from classify.datasets import ISSUE_TYPES, SENTIMENT_LABELS, URGENCY_TYPES
from storage.audit import record
from storage.classifications import (
    TASK_FIELDS,
    TASKS,
    CorrectionNotFound,
    correct_label,
    get_labels,
    get_mention,
    undo_correction,
)
from storage.defects import StaleWrite
from storage.errors import AscoltoError
from storage.models import AuditEvent, Classification, LabelledExample
from storage.types import utcnow

# Every ISO 639-1 code: a person may name a language the detector does not know.
_ISO_639_1 = """
    aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs cu cv
    cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho
    hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku
    kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn
    no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm
    sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi
    vo wa wo xh yi yo za zh zu
"""
ISO_639_1 = frozenset(_ISO_639_1.split())
LABEL_FIELDS = tuple(TASK_FIELDS.values())
"""The Classification columns a person can correct, in the order they are shown."""
MAX_NOTE = 2_000


class CorrectionError(AscoltoError):
    """A correction that cannot be made: an unknown mention, a bad label, nothing to change."""

    exit_code = 2


@dataclass(frozen=True)
class Outcome:
    """What a correction (or an undo) did."""

    mention_id: int
    before: dict[str, Any]
    after: dict[str, Any]
    corrected: dict[str, Any]
    """`Classification.corrected` after the change: which labels a person set, by whom."""
    examples: list[LabelledExample] = field(default_factory=list)
    withdrawn_drafts: list[int] = field(default_factory=list)
    left_clusters: list[int] = field(default_factory=list)
    event: AuditEvent | None = None

    @property
    def changed(self) -> list[str]:
        """The label fields whose value changed."""
        return [f for f in LABEL_FIELDS if self.before.get(f) != self.after.get(f)]


def labels_of(row: Classification | None) -> dict[str, Any]:
    """A mention's labels as every reader sees them (corrections applied)."""
    if row is None:
        return dict.fromkeys(LABEL_FIELDS)
    return {f: _copy(getattr(row, f)) for f in LABEL_FIELDS}


def check(settings: Settings, changes: Mapping[str, Any]) -> dict[str, Any]:
    """The changes (task -> value) cleaned up, or CorrectionError naming what is wrong."""
    unknown = sorted(set(changes) - set(TASKS))
    if unknown:
        raise CorrectionError(f"unknown label {unknown[0]!r}: expected one of {', '.join(TASKS)}")
    out: dict[str, Any] = {}
    for task, value in changes.items():
        if task == "sentiment":
            out[task] = _one_of("sentiment", value, SENTIMENT_LABELS)
        elif task == "complaint":
            if not isinstance(value, bool):
                raise CorrectionError(f"complaint {value!r}: expected yes or no")
            out[task] = value
        elif task == "issue":
            out[task] = _some_of("issue", value, ISSUE_TYPES)
        elif task == "urgency":
            out[task] = _some_of("urgency", value, URGENCY_TYPES)
        elif task == "language":
            code = str(value).strip().lower()
            if code not in ISO_639_1:
                raise CorrectionError(
                    f"language {value!r}: expected a two-letter ISO 639-1 code such as en or it"
                )
            out[task] = code
        else:
            names = [p.name for p in settings.products]
            if not names and value:
                raise CorrectionError("no products are configured ([[products]] in settings)")
            by_key = {n.casefold(): n for n in names}
            items = _items("product", value)
            wrong = [p for p in items if p.casefold() not in by_key]
            if wrong:
                raise CorrectionError(f"product {wrong[0]!r}: expected some of {', '.join(names)}")
            out[task] = list(dict.fromkeys(by_key[p.casefold()] for p in items))
    return out


def correct(
    session: Session,
    settings: Settings,
    mention_id: int,
    changes: Mapping[str, Any],
    *,
    reviewer: Reviewer,
    note: str | None = None,
    now: datetime | None = None,
) -> Outcome:
    """Set the labels in `changes` (task -> value, see `check`) as `reviewer`'s.

    A label already corrected to the same value is left as it is; giving the model's own
    value pins it (reclassification will not change it) and confirms it for training.
    """
    _may_correct(reviewer)
    when = now or utcnow()
    wanted = check(settings, changes)
    if not wanted:
        raise CorrectionError("nothing to correct: give at least one label")
    note = _clean_note(note)
    mention = get_mention(session, mention_id=mention_id)
    if mention is None:
        raise CorrectionError(f"no mention with id {mention_id}")
    row = get_labels(session, mention_id=mention_id)
    if row is not None and row.unclassifiable_reason:
        raise CorrectionError(
            f"mention {mention_id} is unclassifiable ({row.unclassifiable_reason}): "
            "its labels are not used"
        )
    before = labels_of(row)
    already = dict(row.corrected) if row is not None else {}
    todo = {
        task: value
        for task, value in wanted.items()
        if already.get(TASK_FIELDS[task], {}).get("value", object()) != value
    }
    if not todo:
        raise CorrectionError(f"nothing to correct: mention {mention_id} already has these labels")
    lang = todo.get("language") or before["language"] or mention.lang
    text = mention_text(mention.title, mention.text)
    examples = [
        correct_label(
            session,
            mention_id=mention_id,
            task=task,
            value=value,
            text=text,
            created_by=reviewer.username,
            lang=lang,
            note=note,
            now=when,
        )
        for task, value in todo.items()
    ]
    row = get_labels(session, mention_id=mention_id)
    assert row is not None  # correct_label made one
    withdrawn, left = _follow(session, settings, row, before, reviewer, when)
    after = labels_of(row)
    event = record(
        session,
        actor=reviewer.username,
        action="labels.corrected",
        subject_type="mention",
        subject_id=mention_id,
        details={
            "role": reviewer.role,
            "changes": {
                TASK_FIELDS[t]: {"from": before[TASK_FIELDS[t]], "to": v} for t, v in todo.items()
            },
            "examples": [e.id for e in examples],
            "note": note,
            "withdrawn_drafts": withdrawn,
            "left_clusters": left,
        },
    )
    session.flush()
    return Outcome(mention_id, before, after, dict(row.corrected), examples, withdrawn, left, event)


def undo(
    session: Session,
    settings: Settings,
    example_id: int,
    *,
    reviewer: Reviewer,
    now: datetime | None = None,
) -> Outcome:
    """Withdraw a correction: the mention gets the model's label of that task back."""
    _may_correct(reviewer)
    when = now or utcnow()
    found = session.get(LabelledExample, example_id)
    if found is None or found.mention_id is None:
        raise CorrectionError(f"no correction with id {example_id}")
    mention_id = found.mention_id
    before = labels_of(get_labels(session, mention_id=mention_id))
    try:
        example, row = undo_correction(
            session, example_id=example_id, removed_by=reviewer.username, now=when
        )
    except CorrectionNotFound as exc:
        raise CorrectionError(str(exc)) from None
    withdrawn: list[int] = []
    left: list[int] = []
    if row is not None and not row.unclassifiable_reason:
        withdrawn, left = _follow(session, settings, row, before, reviewer, when)
    after = labels_of(row)
    event = record(
        session,
        actor=reviewer.username,
        action="labels.correction_undone",
        subject_type="mention",
        subject_id=mention_id,
        details={
            "role": reviewer.role,
            "example": example.id,
            "task": example.task,
            "label": example.label,
            "corrected_by": example.created_by,
            "changes": {
                f: {"from": before[f], "to": after[f]}
                for f in LABEL_FIELDS
                if before[f] != after[f]
            },
            "withdrawn_drafts": withdrawn,
            "left_clusters": left,
        },
    )
    session.flush()
    corrected = dict(row.corrected) if row is not None else {}
    return Outcome(mention_id, before, after, corrected, [example], withdrawn, left, event)


# -- what follows a label ------------------------------------------------------------------------


def _follow(
    session: Session,
    settings: Settings,
    row: Classification,
    before: dict[str, Any],
    reviewer: Reviewer,
    now: datetime,
) -> tuple[list[int], list[int]]:
    """Withdraw drafts and leave clusters the new labels no longer call for."""
    from ascolto.defects.detection import leaves, withdraw_complaint
    from outreach.drafting import reply_key
    from outreach.intents import choose_intent
    from storage.outreach import draft_by_key

    withdrawn = []
    draft = draft_by_key(session, reply_key(row.mention_id))
    if draft is not None and draft.status in OPEN:
        # The open alert that made it a `known_issue` reply is no concern of the labels.
        wanted = choose_intent(row, known_issue=draft.intent == "known_issue")
        if wanted != draft.intent:
            reason = f"labels corrected by {reviewer.username}: the mention now calls for " + (
                f"a {wanted} reply" if wanted else "no reply"
            )
            withdraw(session, draft.id or 0, reviewer=reviewer, reason=reason, now=now)
            withdrawn.append(draft.id or 0)
    left: list[int] = []
    after = labels_of(row)
    if any(before[f] != after[f] for f in ("complaint", "issues", "products", "sentiment")):
        mention = get_mention(session, mention_id=row.mention_id)

        def leave(product: str) -> bool:
            # The test detection applies to every relabelled member (`ascolto.defects.leaves`).
            return leaves(
                complaint=row.complaint,
                issues=row.issues,
                products=row.products,
                sentiment=row.sentiment,
                title=mention.title if mention else None,
                text=mention.text if mention else "",
                product=product,
            )

        try:
            left = withdraw_complaint(
                session, settings, row.mention_id, leave=leave, by=reviewer.username, now=now
            )
        except StaleWrite:
            raise CorrectionError(
                "defect detection updated this mention's cluster meanwhile: try again"
            ) from None
    return withdrawn, left


# -- checks ----------------------------------------------------------------------------------


def _may_correct(reviewer: Reviewer) -> None:
    if not has_role(reviewer.role, "agent"):
        raise CorrectionError(
            f"{reviewer.username} is {reviewer.role}: only {', '.join(CARE_ROLES)} correct labels"
        )


def _one_of(name: str, value: Any, allowed: Sequence[str]) -> str:
    text = str(value).strip().lower()
    if text not in allowed:
        raise CorrectionError(f"{name} {value!r}: expected one of {', '.join(allowed)}")
    return text


def _items(name: str, value: Any) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise CorrectionError(f"{name}: expected a list of labels, got {value!r}")
    return [str(v).strip() for v in value if str(v).strip()]


def _some_of(name: str, value: Any, allowed: Sequence[str]) -> list[str]:
    items = [v.lower() for v in _items(name, value)]
    wrong = [v for v in items if v not in allowed]
    if wrong:
        raise CorrectionError(f"{name} {wrong[0]!r}: expected some of {', '.join(allowed)}")
    # In the classifier's order, each once, so equal sets compare equal.
    return [a for a in allowed if a in items]


def _clean_note(note: str | None) -> str | None:
    if note is None:
        return None
    note = " ".join(note.split())
    if len(note) > MAX_NOTE:
        raise CorrectionError(f"the note has {len(note)} characters; at most {MAX_NOTE}")
    return note or None


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value
