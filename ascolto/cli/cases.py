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
    return f"{days}d {hours:02d}h{minutes:02d}" if days else f"{hours}h{minutes:02d}"


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
    table = Table(title=f"care cases since {found.since:%Y-%m-%d %H:%M} UTC")
    for column in ("cases", "responded", "resolved", "first response", "resolution"):
        table.add_column(column, no_wrap=True)
    table.add_row(
        str(found.cases),
        str(found.responded),
        str(found.resolved),
        f"median {_duration(found.first_response_median)}, "
        f"p90 {_duration(found.first_response_p90)}",
        f"median {_duration(found.resolution_median)}, p90 {_duration(found.resolution_p90)}",
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
            raise CaseError(f"mention {mention_id} has no care case (it has no draft)")
        times = case_times(case)
        by = case.resolved_by
    out.print(
        f"mention {mention_id}: resolved by {by}, "
        f"first response {_duration(times.first_response)}, "
        f"resolution {_duration(times.resolution)}",
        highlight=False,
    )
