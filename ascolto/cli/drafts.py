"""`ascolto drafts ...`: how drafts fare with the agents who send them.

Exit codes: 0 done; 2 bad usage.
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from typing import Annotated

import typer
from rich.table import Table
from sqlmodel import Session

app = typer.Typer(help="Draft quality: approval without edit, and what agents change.")


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    minutes = int(value // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}" if hours else f"{minutes}m{int(value % 60):02d}s"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}%"


@app.callback()
def drafts() -> None:
    """Draft quality: approval without edit, and what agents change."""


@app.command("quality")
def quality_command(
    days: Annotated[
        int, typer.Option(min=1, max=3660, help="Drafts decided in the last DAYS days.")
    ] = 30,
    by: Annotated[
        str,
        typer.Option(help="Group by intent, template, language, channel, agent or week."),
    ] = "intent",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the whole report as JSON.")
    ] = False,
) -> None:
    """Share of drafts sent unedited, lightly edited, rewritten or rejected, and time taken."""
    from ascolto.cli.common import out
    from ascolto.database import prepare
    from ascolto.settings import get_settings
    from outreach.approval import GROUPINGS, approval_report
    from storage.types import utcnow

    if by not in (*GROUPINGS, "week"):
        raise typer.BadParameter(f"one of {', '.join((*GROUPINGS, 'week'))}", param_hint="--by")
    now = utcnow()
    with Session(prepare(get_settings())) as session:
        report = approval_report(session, since=now - timedelta(days=days), until=now)
    if as_json:
        json.dump(report.as_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    rows = report.weeks if by == "week" else report.by[by]
    table = Table(title=f"drafts decided since {report.since:%Y-%m-%d %H:%M} UTC, by {by}")
    for column in (by, "decided", "unedited", "light edit", "rewritten", "rejected", "median"):
        table.add_column(column, no_wrap=True)
    for f in rows:
        table.add_row(
            f.group,
            str(f.decided),
            f"{f.unedited} ({_rate(f.rate('unedited'))})",
            f"{f.light} ({_rate(f.rate('light'))})",
            f"{f.rewritten} ({_rate(f.rate('rewritten'))})",
            f"{f.rejected} ({_rate(f.rate('rejected'))})",
            _seconds(f.median_seconds),
        )
    out.print(table)


@app.command("edits")
def edits_command(
    days: Annotated[
        int, typer.Option(min=1, max=3660, help="Drafts decided in the last DAYS days.")
    ] = 90,
    top: Annotated[int, typer.Option(min=1, max=50, help="Changes shown per template.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print the edits as JSON.")] = False,
) -> None:
    """What agents change most in each template's drafts (word-level changes, by drafts)."""
    from ascolto.cli.common import out
    from ascolto.database import prepare
    from ascolto.settings import get_settings
    from outreach.approval import common_edits
    from storage.draft_outcomes import decided_drafts
    from storage.types import utcnow

    with Session(prepare(get_settings())) as session:
        rows = decided_drafts(session, since=utcnow() - timedelta(days=days))
    found = common_edits(rows, top=top)
    if as_json:
        json.dump([t.as_dict() for t in found], sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return
    if not found:
        out.print("no edited drafts in this period")
        return
    for template in found:
        table = Table(title=f"{template.template}: {template.edited} edited draft(s)")
        table.add_column("change")
        table.add_column("drafts", justify="right")
        for change, count in template.changes:
            table.add_row(change, str(count))
        out.print(table)


@app.command("propose")
def propose_command(
    days: Annotated[
        int, typer.Option(min=1, max=3660, help="Edits of drafts decided in the last DAYS days.")
    ] = 90,
    accept: Annotated[
        str | None,
        typer.Option(
            help="Accept the revision of this template (e.g. en/question.public.txt.j2): "
            "written into [outreach] templates_dir."
        ),
    ] = None,
    username: Annotated[
        str | None, typer.Option("--as", help="The admin accepting (required with --accept).")
    ] = None,
) -> None:
    """Template revisions proposed from what agents change most; an admin accepts them."""
    from ascolto.auth import find_user, has_role
    from ascolto.cli.common import out
    from ascolto.database import prepare
    from ascolto.settings import get_settings
    from outreach import revisions
    from outreach.approval import common_edits
    from outreach.rendering import renderer
    from storage.audit import record
    from storage.db import session_scope
    from storage.draft_outcomes import decided_drafts
    from storage.types import utcnow

    settings = get_settings()
    engine = prepare(settings)
    with Session(engine) as session:
        rows = decided_drafts(session, since=utcnow() - timedelta(days=days))
    env = renderer(settings.outreach.templates_dir).env
    proposed = {}
    for edits in common_edits(rows, top=20):
        assert env.loader is not None
        source = env.loader.get_source(env, edits.template)[0]
        revision = revisions.propose(edits, source)
        if revision is not None:
            proposed[edits.template] = revision
    if accept is None:
        if not proposed:
            out.print("no revision to propose: no change is common enough")
        for revision in proposed.values():
            out.print(revision.diff(), highlight=False, markup=False)
        return
    if accept not in proposed:
        raise typer.BadParameter(f"no revision proposed for {accept}", param_hint="--accept")
    if settings.outreach.templates_dir is None:
        raise typer.BadParameter(
            "set [outreach] templates_dir to a folder for your own templates first",
            param_hint="--accept",
        )
    with session_scope(engine) as session:
        user = find_user(session, username or "")
        if not has_role(user.role, "admin"):
            raise typer.BadParameter(
                f"{user.username} is {user.role}: only an admin", param_hint="--as"
            )
        path = revisions.accept(proposed[accept], settings.outreach.templates_dir)
        record(
            session,
            actor=user.username,
            action="template.revised",
            subject_type="template",
            subject_id=accept,
            details={"changes": [list(c) for c in proposed[accept].changes], "path": str(path)},
        )
    out.print(f"{accept}: revision accepted, written to {path}", highlight=False)
