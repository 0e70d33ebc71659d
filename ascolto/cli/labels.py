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
from sqlmodel import Session

from ascolto.cli.common import acting_reviewer, database
from ascolto.localization import gettext as _
from ascolto.localization import ngettext, number

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from ascolto.review.corrections import Outcome
    from storage.models import Classification

app = typer.Typer(
    help="A mention's labels: show, correct, list corrections, undo one, list those to check.",
    no_args_is_help=True,
)

MentionId = Annotated[int, typer.Argument(help="Id of the mention.")]
As = Annotated[
    str,
    typer.Option(
        "--as", "--by", help="Username of the person correcting (see `ascolto users list`)."
    ),
]


# Label values that are words of ours (translated); products and language codes are names.
WORDS = frozenset({"sentiment", "issue", "issues", "urgency"})


def _show(value: Any, task: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    word = _ if task in WORDS else str
    if isinstance(value, list):
        return ", ".join(word(v) for v in value) or _("none")
    return word(str(value))


def _labels_table(title: str, rows: list[tuple[str, Any, Any, str]], *, before: bool) -> Table:
    table = Table(title=title)
    for column in (_("label"), *([_("before")] if before else []), _("now"), _("set by")):
        table.add_column(column, overflow="fold")
    for name, old, new, who in rows:
        cells = [_(name), *([_show(old, name)] if before else []), _show(new, name), who]
        table.add_row(*(escape(c) for c in cells))
    return table


def _who(corrected: dict[str, Any], name: str) -> str:
    applied = corrected.get(name)
    if applied is None:
        return _("model")
    return f"{applied['by']} ({applied['at'][:16].replace('T', ' ')} UTC, #{applied['example_id']})"


@app.command("show")
def show_command(mention_id: MentionId) -> None:
    """The mention's labels: the model's, or the person's who corrected them."""
    from ascolto.cli.common import out
    from ascolto.review.corrections import LABEL_FIELDS, CorrectionError, labels_of
    from storage.classifications import get_labels, get_mention

    with Session(database()) as session:
        if get_mention(session, mention_id=mention_id) is None:
            raise CorrectionError(_("no mention with id %(id)s", id=mention_id))
        row: Classification | None = get_labels(session, mention_id=mention_id)
    if row is None:
        out.print(_("mention %(id)s is not classified yet", id=mention_id))
        return
    labels = labels_of(row)
    corrected = dict(row.corrected)
    rows = [(f, None, labels[f], _who(corrected, f)) for f in LABEL_FIELDS]
    out.print(_labels_table(_("mention %(id)s", id=mention_id), rows, before=False))


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
    from ascolto.review.corrections import CorrectionError, correct
    from ascolto.settings import get_settings
    from storage.db import session_scope

    changes: dict[str, Any] = {}
    for task, given, none, flag in (
        ("issue", issue, no_issues, "--no-issues"),
        ("urgency", urgency, no_urgency, "--no-urgency"),
        ("product", product, no_products, "--no-products"),
    ):
        if given and none:
            raise CorrectionError(
                _("%(option)s and %(flag)s contradict each other", option=f"--{task}", flag=flag)
            )
        if given or none:
            changes[task] = list(given or [])
    if sentiment is not None:
        changes["sentiment"] = sentiment
    if complaint is not None:
        changes["complaint"] = complaint
    if language is not None:
        changes["language"] = language
    engine = database()
    reviewer = acting_reviewer(engine, username)
    with session_scope(engine) as session:
        outcome = correct(
            session, get_settings(), mention_id, changes, reviewer=reviewer, note=note
        )
    _cluster_again(engine, outcome)
    _print_outcome(outcome, as_json=as_json, verb=_("corrected"))


@app.command("check")
def check_command(
    limit: Annotated[int, typer.Option(min=1, help="At most this many, least sure first.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """Mentions whose labels wait for a person (less sure than `[classify] min_confidence`).

    Confirm a mention's labels with `ascolto labels correct ID sentiment=... complaint=...
    --as USER` (the model's own values confirm them); it is then drafted and clustered.
    """
    from ascolto.cli.common import out
    from ascolto.settings import get_settings
    from storage.classifications import to_check

    floor = get_settings().classify.min_confidence
    if floor <= 0 and not as_json:
        out.print(escape(_("[classify] min_confidence is 0: every label is acted on, none waits")))
    with Session(database()) as session:
        found = to_check(session, min_confidence=floor, limit=limit)
    if as_json:
        json.dump(
            [
                {
                    "mention_id": m.id,
                    "confidence": c.confidence,
                    "language": c.language,
                    "sentiment": c.sentiment,
                    "complaint": c.complaint,
                    "text": m.text,
                }
                for m, c in found
            ],
            sys.stdout,
            ensure_ascii=False,
            indent=2,
        )
        sys.stdout.write("\n")
        return
    table = Table(
        title=ngettext(
            "%(num)s mention to check (confidence below %(floor)s)",
            "%(num)s mentions to check (confidence below %(floor)s)",
            len(found),
            floor=number(floor, 2),
        )
    )
    for column in (
        _("mention"),
        _("confidence"),
        _("lang"),
        _("sentiment"),
        _("complaint"),
        _("text"),
    ):
        table.add_column(column, overflow="fold")
    for m, c in found:
        table.add_row(
            str(m.id),
            number(c.confidence, 2) if c.confidence is not None else "-",
            escape(c.language or "-"),
            escape(_(c.sentiment) if c.sentiment else "-"),
            _show(c.complaint),
            escape(m.text[:140]),
        )
    out.print(table)


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
    from ascolto.cli.common import out
    from storage.classifications import list_labelled_examples

    with Session(database()) as session:
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
    table = Table(title=ngettext("%(num)s correction", "%(num)s corrections", len(rows)))
    for column in (_("id"), _("mention"), _("label"), _("by"), _("at"), _("state"), _("note")):
        table.add_column(column, overflow="fold")
    for e in rows:
        ((_key, value),) = e.label.items()
        state = _("undone by %(who)s", who=e.removed_by) if e.removed_at else _("applied")
        table.add_row(
            str(e.id),
            str(e.mention_id),
            escape(f"{_(e.task)}: {_show(value, e.task)}"),
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
    from ascolto.review.corrections import undo
    from ascolto.settings import get_settings
    from storage.db import session_scope

    engine = database()
    reviewer = acting_reviewer(engine, username)
    with session_scope(engine) as session:
        outcome = undo(session, get_settings(), correction_id, reviewer=reviewer)
    _cluster_again(engine, outcome)
    _print_outcome(outcome, as_json=False, verb=_("correction %(id)s undone", id=correction_id))


def _cluster_again(engine: Engine, outcome: Outcome) -> None:
    """A complaint label changed: defect clusters follow now, as after any classification."""
    from ascolto.defects.detection import labels_changed
    from ascolto.settings import get_settings

    if {"complaint", "issues", "products", "sentiment"} & set(outcome.changed):
        labels_changed(get_settings(), engine)


def _print_outcome(outcome: Outcome, *, as_json: bool, verb: str) -> None:
    from ascolto.cli.common import out
    from ascolto.review.corrections import LABEL_FIELDS

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
    title = _("mention %(id)s: %(verb)s", id=outcome.mention_id, verb=verb)
    out.print(_labels_table(title, rows, before=True))
    for draft_id in outcome.withdrawn_drafts:
        out.print(_("draft %(id)s withdrawn: the labels call for another reply now", id=draft_id))
    for cluster_id in outcome.left_clusters:
        out.print(_("left defect cluster %(id)s", id=cluster_id))
