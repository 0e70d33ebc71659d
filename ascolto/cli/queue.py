"""`ascolto queue ...`: the review queue from the command line, acting as a named user.

Exit codes: 0 done; 1 refused (e.g. the policy or the role does not allow it, with the
reason); 2 bad usage (unknown draft or user, a draft no longer open, no reason given).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from sqlmodel import Session

from ascolto.cli.common import acting_reviewer, database

if TYPE_CHECKING:
    from ascolto.review.queue import Decision

app = typer.Typer(
    help="Review drafts: list, show, approve, edit, reject, escalate.", no_args_is_help=True
)

DraftId = Annotated[int, typer.Argument(help="Id of the draft.")]
As = Annotated[
    str,
    typer.Option("--as", help="Username of the person acting (see `ascolto users list`)."),
]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why, in a few words.")]


def _act(username: str, action: Any) -> None:
    """Run a review action in one transaction and report its outcome."""
    from ascolto.cli.common import out
    from storage.db import session_scope

    engine = database()
    reviewer = acting_reviewer(engine, username)
    with session_scope(engine) as session:
        decision: Decision = action(session, reviewer)
    draft = decision.draft
    colour = "green" if decision.done else "red"
    out.print(
        f"draft {draft.id}: [{colour}]{escape(decision.message)}[/] "
        f"(status {draft.status}, verdict {draft.verdict})",
        highlight=False,
        soft_wrap=True,
    )
    if decision.verdict is not None and decision.verdict.findings:
        _print_findings(decision.verdict.details())
    if not decision.done:
        raise typer.Exit(1)


@app.command("list")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
    limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 200,
) -> None:
    """Open drafts, safety, legal and press first, then the longest waiting."""
    from ascolto.cli.common import out
    from ascolto.review.queue import queue

    with Session(database()) as session:
        items = queue(session, limit=limit)
    if as_json:
        rows = [
            {
                "id": i.draft.id,
                "status": i.draft.status,
                "verdict": i.draft.verdict,
                "urgency": i.urgency,
                "waiting_since": i.waiting_since.isoformat(),
                "source": i.source,
                "intent": i.draft.intent,
                "channel": i.draft.channel,
                "language": i.draft.language,
                "mention_id": i.draft.mention_id,
                "mention": i.mention.text if i.mention else None,
            }
            for i in items
        ]
        json.dump(rows, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return
    table = Table(title=f"{len(items)} draft(s) waiting")
    for column in ("id", "urgency", "waiting since", "source", "reply", "verdict", "status"):
        table.add_column(column, no_wrap=True)
    table.add_column("mention", overflow="fold", ratio=1)
    for i in items:
        table.add_row(
            str(i.draft.id),
            ", ".join(i.urgency) or "-",
            i.waiting_since.strftime("%Y-%m-%d %H:%M UTC"),
            escape(i.source or "-"),
            f"{i.draft.intent} · {i.draft.channel} · {i.draft.language}",
            i.draft.verdict,
            i.draft.status,
            escape((i.mention.text if i.mention else "")[:160]),
        )
    out.print(table)


@app.command("show")
def show_command(draft_id: DraftId) -> None:
    """A draft with its mention, labels, the customer's history and the verdict."""
    from ascolto.cli.common import out
    from ascolto.review.queue import show

    with Session(database()) as session:
        view = show(session, draft_id)
    item, draft = view.item, view.item.draft
    out.print(
        f"[bold]draft {draft.id}[/] ({draft.status}): {draft.intent} on {draft.channel}"
        f"{' (public)' if draft.public else ''}, {draft.language}, to "
        f"{escape(draft.recipient or '-')}",
        highlight=False,
    )
    if item.mention is not None:
        out.print(
            f"[bold]mention {item.mention.id}[/] from {escape(item.source or '?')} by "
            f"{escape(view.author_name or '?')}, {item.waiting_since:%Y-%m-%d %H:%M} UTC, "
            f"{escape(item.mention.url or 'no link')}",
            highlight=False,
            soft_wrap=True,
        )
        out.print(escape(item.mention.text), highlight=False, soft_wrap=True)
    if item.labels is not None:
        labels = item.labels
        out.print(
            f"labels: urgency {', '.join(item.urgency) or 'none'}; language "
            f"{labels.language or '?'}; sentiment {labels.sentiment or '?'}; complaint "
            f"{'yes' if labels.complaint else 'no'}; issues {', '.join(labels.issues) or 'none'}",
            highlight=False,
        )
    history = view.history
    if view.customer is not None:
        out.print(
            f"customer {view.customer.id}: {escape(view.customer.name or '?')}, "
            f"{len(history.orders)} order(s): "
            + ", ".join(f"{escape(o.external_id)} {o.status}" for o in history.orders[:5]),
            highlight=False,
            soft_wrap=True,
        )
    out.print(
        f"earlier: {len(history.mentions)} mention(s), {len(history.drafts)} other draft(s)",
        highlight=False,
    )
    for other in history.drafts[:5]:
        out.print(
            f"  draft {other.id} {other.created_at:%Y-%m-%d} {other.intent} {other.status}",
            highlight=False,
        )
    out.print("[bold]text[/]:")
    out.print(escape(draft.text), highlight=False, soft_wrap=True)
    out.print(f"[bold]verdict[/]: {view.verdict.outcome}", highlight=False)
    if view.verdict.findings:
        _print_findings(view.verdict.details())
    if draft.reason:
        out.print(f"reason: {escape(draft.reason)}", highlight=False, soft_wrap=True)


def _print_findings(findings: list[dict[str, str]]) -> None:
    from ascolto.cli.common import out

    table = Table()
    for column in ("rule", "outcome", "why"):
        table.add_column(column, overflow="fold", no_wrap=column != "why")
    for f in findings:
        table.add_row(f["rule"], f["outcome"], escape(f["reason"]))
    out.print(table)


@app.command("approve")
def approve_command(draft_id: DraftId, username: As) -> None:
    """Approve a draft: it is checked again for your role, then queued for sending once."""
    from ascolto.review.queue import Reviewing
    from ascolto.settings import get_settings

    reviewing = Reviewing(get_settings())
    _act(username, lambda s, r: reviewing.approve(s, draft_id, reviewer=r))


@app.command("edit")
def edit_command(
    draft_id: DraftId,
    username: As,
    text: Annotated[
        str | None, typer.Option("--text", help="The new text (or use --file).")
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", help="Read the new text from a file; - for stdin.")
    ] = None,
) -> None:
    """Replace a draft's text; it is checked again and the new verdict shown."""
    from ascolto.review.queue import Reviewing
    from ascolto.settings import get_settings

    if (text is None) == (file is None):
        raise typer.BadParameter("give the new text with --text or --file", param_hint="--text")
    if file is not None:
        new = sys.stdin.read() if str(file) == "-" else _read(file)
    else:
        new = text or ""
    reviewing = Reviewing(get_settings())
    _act(username, lambda s, r: reviewing.edit(s, draft_id, reviewer=r, text=new))


def _read(path: Path) -> str:
    from ascolto.review.queue import ReviewError

    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReviewError(f"cannot read {path}: {exc}") from None


@app.command("reject")
def reject_command(draft_id: DraftId, username: As, reason: ReasonOption) -> None:
    """Reject a draft, saying why; nothing is sent."""
    from ascolto.review.queue import reject

    _act(username, lambda s, r: reject(s, draft_id, reviewer=r, reason=reason))


@app.command("escalate")
def escalate_command(draft_id: DraftId, username: As, reason: ReasonOption) -> None:
    """Hand a draft to a supervisor, saying why."""
    from ascolto.review.queue import escalate

    _act(username, lambda s, r: escalate(s, draft_id, reviewer=r, reason=reason))
