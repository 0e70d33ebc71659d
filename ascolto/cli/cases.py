"""`ascolto cases ...`: care cases, their first response and resolution times.

Exit codes: 0 done; 2 bad usage (unknown mention, user or a mention with no case).
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from typing import Annotated

import typer
from rich.table import Table
from sqlmodel import Session

from ascolto.cli.common import database
from ascolto.localization import gettext as _
from ascolto.localization import pgettext
from storage.errors import AscoltoError

app = typer.Typer(
    help="Care cases: response metrics, and marking a mention resolved.", no_args_is_help=True
)


class CaseError(AscoltoError):
    """A mention that has no care case (it was never drafted)."""

    exit_code = 2


def _duration(value: timedelta | None) -> str:
    if value is None:
        return "-"
    minutes = int(value.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return _(
            "%(days)sd %(hours)sh%(minutes)s",
            days=days,
            hours=f"{hours:02d}",
            minutes=f"{minutes:02d}",
        )
    return _("%(hours)sh%(minutes)s", hours=hours, minutes=f"{minutes:02d}")


@app.command("metrics")
def metrics_command(
    days: Annotated[
        int, typer.Option(min=1, help="Cases of mentions written in the last DAYS days.")
    ] = 30,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
) -> None:
    """First response time and time to resolution (median and 90th percentile)."""
    from ascolto.cli.common import out
    from outreach.metrics import response_metrics
    from storage.types import utcnow

    with Session(database()) as session:
        found = response_metrics(session, utcnow() - timedelta(days=days))
    if as_json:
        json.dump(found.as_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    table = Table(title=_("care cases since %(since)s UTC", since=f"{found.since:%Y-%m-%d %H:%M}"))
    for column in (
        _("cases"),
        _("responded"),
        pgettext("cases", "resolved"),
        _("first response"),
        _("resolution"),
    ):
        table.add_column(column, no_wrap=True)
    table.add_row(
        str(found.cases),
        str(found.responded),
        str(found.resolved),
        _(
            "median %(median)s, p90 %(p90)s",
            median=_duration(found.first_response_median),
            p90=_duration(found.first_response_p90),
        ),
        _(
            "median %(median)s, p90 %(p90)s",
            median=_duration(found.resolution_median),
            p90=_duration(found.resolution_p90),
        ),
    )
    out.print(table)


@app.command("resolve")
def resolve_command(
    mention_id: Annotated[int, typer.Argument(help="Id of the mention whose case is resolved.")],
    username: Annotated[
        str, typer.Option("--as", help="Username of the person acting (see `ascolto user list`).")
    ],
    note: Annotated[str | None, typer.Option("--note", help="How it was resolved.")] = None,
) -> None:
    """Mark a mention's case resolved (its time to resolution stops now)."""
    from ascolto.auth import find_user
    from ascolto.cli.common import out
    from outreach.metrics import case_times, mark_resolved
    from storage.db import session_scope

    engine = database()
    with session_scope(engine) as session:
        user = find_user(session, username)
        case = mark_resolved(session, mention_id=mention_id, by=user.username, resolution=note)
        if case is None:
            raise CaseError(_("mention %(id)s has no care case (it has no draft)", id=mention_id))
        times = case_times(case)
        by = case.resolved_by
    out.print(
        _(
            "mention %(id)s: resolved by %(by)s, first response %(first)s, "
            "resolution %(resolution)s",
            id=mention_id,
            by=by,
            first=_duration(times.first_response),
            resolution=_duration(times.resolution),
        ),
        highlight=False,
    )
