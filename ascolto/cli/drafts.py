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

from ascolto.localization import N_, ngettext, number, pgettext
from ascolto.localization import gettext as _

# Groupings that reach the table's title and header as data, kept in the catalogue.
SHOWN_WORDS = (N_("intent"), N_("template"), N_("week"))

app = typer.Typer(help="Draft quality: approval without edit, and what agents change.")


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    minutes = int(value // 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return _("%(hours)sh%(minutes)s", hours=hours, minutes=f"{minutes:02d}")
    return _("%(minutes)sm%(seconds)ss", minutes=minutes, seconds=f"{int(value % 60):02d}")


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{number(value, 1)}%"


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
        raise typer.BadParameter(
            _("one of %(choices)s", choices=", ".join((*GROUPINGS, "week"))), param_hint="--by"
        )
    now = utcnow()
    with Session(prepare(get_settings())) as session:
        report = approval_report(session, since=now - timedelta(days=days), until=now)
    if as_json:
        json.dump(report.as_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    rows = report.weeks if by == "week" else report.by[by]
    table = Table(
        title=_(
            "drafts decided since %(since)s UTC, by %(by)s",
            since=f"{report.since:%Y-%m-%d %H:%M}",
            by=_(by),
        )
    )
    headers = (
        _("decided"),
        _("unedited"),
        _("light edit"),
        _("rewritten"),
        pgettext("drafts", "rejected"),
        _("median"),
    )
    for column in (_(by), *headers):
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
        out.print(_("no edited drafts in this period"))
        return
    for template in found:
        table = Table(
            title=ngettext(
                "%(template)s: %(num)s edited draft",
                "%(template)s: %(num)s edited drafts",
                template.edited,
                template=template.template,
            )
        )
        table.add_column(_("change"))
        table.add_column(_("drafts"), justify="right")
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
            out.print(_("no revision to propose: no change is common enough"))
        for revision in proposed.values():
            out.print(revision.diff(), highlight=False, markup=False)
        return
    if accept not in proposed:
        raise typer.BadParameter(
            _("no revision proposed for %(template)s", template=accept), param_hint="--accept"
        )
    if settings.outreach.templates_dir is None:
        raise typer.BadParameter(
            _("set [outreach] templates_dir to a folder for your own templates first"),
            param_hint="--accept",
        )
    with session_scope(engine) as session:
        user = find_user(session, username or "")
        if not has_role(user.role, "admin"):
            raise typer.BadParameter(
                _("%(name)s is %(role)s: only an admin", name=user.username, role=user.role),
                param_hint="--as",
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
    out.print(
        _("%(template)s: revision accepted, written to %(path)s", template=accept, path=path),
        highlight=False,
    )
