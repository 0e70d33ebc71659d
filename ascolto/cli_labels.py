"""`ascolto labels ...`: a mention's labels, and correcting them as a named user.

A correction overrides the model's label at once (drafts, the review queue and defect
clusters follow it), survives reclassification until undone, and is training data for
`ascolto train`. Exit codes: 0 done; 2 bad usage (unknown mention, user or correction, a
bad label, nothing to change).
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.engine import Engine
from sqlmodel import Session

if TYPE_CHECKING:
    from ascolto.corrections import Outcome
    from ascolto.review import Reviewer
    from storage.models import Classification

app = typer.Typer(
    help="A mention's labels: show, correct, list corrections, undo one.", no_args_is_help=True
)

MentionId = Annotated[int, typer.Argument(help="Id of the mention.")]
As = Annotated[
    str,
    typer.Option(
        "--as", "--by", help="Username of the person correcting (see `ascolto users list`)."
    ),
]


def _engine() -> Engine:
    from ascolto.database import prepare
    from ascolto.settings import get_settings

    return prepare(get_settings())


def _reviewer(engine: Engine, username: str) -> Reviewer:
    from ascolto.review import Reviewer

    with Session(engine) as session:
        return Reviewer.named(session, username)


def _show(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(value) or "none"
    return str(value)


def _labels_table(title: str, rows: list[tuple[str, Any, Any, str]], *, before: bool) -> Table:
    table = Table(title=title)
    for column in ("label", *(["before"] if before else []), "now", "set by"):
        table.add_column(column, overflow="fold")
    for name, old, new, who in rows:
        cells = [name, *([_show(old)] if before else []), _show(new), who]
        table.add_row(*(escape(c) for c in cells))
    return table


def _who(corrected: dict[str, Any], name: str) -> str:
    applied = corrected.get(name)
    if applied is None:
        return "model"
    return f"{applied['by']} ({applied['at'][:16].replace('T', ' ')} UTC, #{applied['example_id']})"


@app.command("show")
def show_command(mention_id: MentionId) -> None:
    """The mention's labels: the model's, or the person's who corrected them."""
    from ascolto.cli import out
    from ascolto.corrections import LABEL_FIELDS, CorrectionError, labels_of
    from storage.classifications import get_labels, get_mention

    with Session(_engine()) as session:
        if get_mention(session, mention_id=mention_id) is None:
            raise CorrectionError(f"no mention with id {mention_id}")
        row: Classification | None = get_labels(session, mention_id=mention_id)
    if row is None:
        out.print(f"mention {mention_id} is not classified yet")
        return
    labels = labels_of(row)
    corrected = dict(row.corrected)
    rows = [(f, None, labels[f], _who(corrected, f)) for f in LABEL_FIELDS]
    out.print(_labels_table(f"mention {mention_id}", rows, before=False))


@app.command("correct")
def correct_command(
    mention_id: MentionId,
    username: As,
    sentiment: Annotated[
        str | None, typer.Option(help="negative, neutral or positive.", show_default=False)
    ] = None,
    complaint: Annotated[
        bool | None,
        typer.Option(
            "--complaint/--not-complaint", help="A complaint, or not.", show_default=False
        ),
    ] = None,
    issue: Annotated[
        list[str] | None,
        typer.Option(
            help="Issue type (repeat for several): defect, delivery, billing, service, "
            "question, praise, other.",
            show_default=False,
        ),
    ] = None,
    no_issues: Annotated[bool, typer.Option("--no-issues", help="No issue type at all.")] = False,
    urgency: Annotated[
        list[str] | None,
        typer.Option(
            help="Urgency (repeat for several): safety, legal, churn, press.", show_default=False
        ),
    ] = None,
    no_urgency: Annotated[bool, typer.Option("--no-urgency", help="Not urgent at all.")] = False,
    language: Annotated[
        str | None, typer.Option(help="ISO 639-1 code, e.g. it.", show_default=False)
    ] = None,
    product: Annotated[
        list[str] | None,
        typer.Option(help="A configured product (repeat for several).", show_default=False),
    ] = None,
    no_products: Annotated[
        bool, typer.Option("--no-products", help="About no configured product.")
    ] = False,
    note: Annotated[str | None, typer.Option(help="Why, in a few words.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
) -> None:
    """Correct a mention's labels; prints them before and after."""
    from ascolto.corrections import CorrectionError, correct
    from ascolto.settings import get_settings
    from storage.db import session_scope

    changes: dict[str, Any] = {}
    for task, given, none, flag in (
        ("issue", issue, no_issues, "--no-issues"),
        ("urgency", urgency, no_urgency, "--no-urgency"),
        ("product", product, no_products, "--no-products"),
    ):
        if given and none:
            raise CorrectionError(f"--{task} and {flag} contradict each other")
        if given or none:
            changes[task] = list(given or [])
    if sentiment is not None:
        changes["sentiment"] = sentiment
    if complaint is not None:
        changes["complaint"] = complaint
    if language is not None:
        changes["language"] = language
    engine = _engine()
    reviewer = _reviewer(engine, username)
    with session_scope(engine) as session:
        outcome = correct(
            session, get_settings(), mention_id, changes, reviewer=reviewer, note=note
        )
    _cluster_again(engine, outcome)
    _print_outcome(outcome, as_json=as_json, verb="corrected")


@app.command("corrections")
def corrections_command(
    mention_id: Annotated[
        int | None, typer.Option("--mention", help="Only this mention's.", show_default=False)
    ] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Undone and replaced corrections too.")
    ] = False,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """Labels people set on mentions, newest first."""
    from ascolto.cli import out
    from storage.classifications import list_labelled_examples

    with Session(_engine()) as session:
        found = list_labelled_examples(session, mention_id=mention_id, include_removed=every)
    rows = [e for e in reversed(found) if e.mention_id is not None][:limit]
    if as_json:
        json.dump(
            [
                {
                    "id": e.id,
                    "mention_id": e.mention_id,
                    "task": e.task,
                    "label": e.label,
                    "by": e.created_by,
                    "at": e.created_at.isoformat(),
                    "note": e.note,
                    "removed_at": e.removed_at.isoformat() if e.removed_at else None,
                    "removed_by": e.removed_by,
                }
                for e in rows
            ],
            sys.stdout,
            ensure_ascii=False,
            indent=2,
        )
        sys.stdout.write("\n")
        return
    table = Table(title=f"{len(rows)} correction(s)")
    for column in ("id", "mention", "label", "by", "at", "state", "note"):
        table.add_column(column, overflow="fold")
    for e in rows:
        ((_, value),) = e.label.items()
        state = f"undone by {e.removed_by}" if e.removed_at else "applied"
        table.add_row(
            str(e.id),
            str(e.mention_id),
            escape(f"{e.task}: {_show(value)}"),
            escape(e.created_by),
            e.created_at.strftime("%Y-%m-%d %H:%M UTC"),
            escape(state),
            escape(e.note or ""),
        )
    out.print(table)


@app.command("undo")
def undo_command(
    correction_id: Annotated[int, typer.Argument(help="Id of the correction (see `corrections`).")],
    username: As,
) -> None:
    """Undo a correction: the mention gets the model's label of that task back."""
    from ascolto.corrections import undo
    from ascolto.settings import get_settings
    from storage.db import session_scope

    engine = _engine()
    reviewer = _reviewer(engine, username)
    with session_scope(engine) as session:
        outcome = undo(session, get_settings(), correction_id, reviewer=reviewer)
    _cluster_again(engine, outcome)
    _print_outcome(outcome, as_json=False, verb=f"correction {correction_id} undone")


def _cluster_again(engine: Engine, outcome: Outcome) -> None:
    """A complaint label changed: defect clusters follow now, as after any classification."""
    from ascolto.defects import labels_changed
    from ascolto.settings import get_settings

    if {"complaint", "issues", "products", "sentiment"} & set(outcome.changed):
        labels_changed(get_settings(), engine, here=True)


def _print_outcome(outcome: Outcome, *, as_json: bool, verb: str) -> None:
    from ascolto.cli import out
    from ascolto.corrections import LABEL_FIELDS

    if as_json:
        document = {
            "mention_id": outcome.mention_id,
            "before": outcome.before,
            "after": outcome.after,
            "corrected": outcome.corrected,
            "corrections": [e.id for e in outcome.examples],
            "withdrawn_drafts": outcome.withdrawn_drafts,
            "left_clusters": outcome.left_clusters,
        }
        json.dump(document, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return
    rows = [
        (f, outcome.before[f], outcome.after[f], _who(outcome.corrected, f)) for f in LABEL_FIELDS
    ]
    out.print(_labels_table(f"mention {outcome.mention_id}: {verb}", rows, before=True))
    for draft_id in outcome.withdrawn_drafts:
        out.print(f"draft {draft_id} withdrawn: the labels call for another reply now")
    for cluster_id in outcome.left_clusters:
        out.print(f"left defect cluster {cluster_id}")
