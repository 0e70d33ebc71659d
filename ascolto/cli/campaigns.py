"""`ascolto campaigns ...`: list, preview, pause and resume check-in campaigns; reports."""

from __future__ import annotations

import getpass
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.engine import Engine

from ascolto.cli.common import database
from ascolto.localization import N_, number, pgettext
from ascolto.localization import gettext as _
from ascolto.settings import Settings, get_settings

app = typer.Typer(
    help="Post-purchase check-ins: campaigns, previews, reports.", no_args_is_help=True
)

out = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 200)

EXIT_USAGE = 2
# Words that reach the tables as data (a grouping, an outcome), kept in the catalogue.
SHOWN_WORDS = (N_("campaign"), N_("week"), N_("error"))

NameArgument = Annotated[str, typer.Argument(help="Campaign name, as in `[[campaigns]]`.")]
AsOption = Annotated[
    str | None, typer.Option("--as", help="Who is acting, for the audit trail (default: you).")
]


def _sync(settings: Settings, engine: Engine) -> None:
    from outreach.campaigns.definition import sync_campaigns
    from storage.db import session_scope

    with session_scope(engine) as session:
        sync_campaigns(session, settings)


def _actor(given: str | None) -> str:
    if given:
        return given
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@app.command("list")
def list_command() -> None:
    """Every configured campaign with its state and its check-ins per status."""
    from outreach.campaigns.definition import ActiveCampaign
    from outreach.campaigns.links import readiness
    from storage import campaigns as store
    from storage.db import session_scope

    settings = get_settings()
    engine = database(settings)
    _sync(settings, engine)
    table = Table(
        _("name"), _("trigger"), _("delay"), _("window"), _("survey"), _("state"), _("check-ins")
    )
    with session_scope(engine) as session:
        for row in store.list_campaigns(session, active_only=True):
            campaign = ActiveCampaign.from_row(row)
            c = campaign.config
            counts = store.status_counts(session, campaign_id=campaign.id)
            state = _("active")
            if c.paused:
                state = _("paused (definition)")
            elif campaign.paused_at is not None:
                state = _(
                    "paused by %(who)s %(when)s UTC",
                    who=campaign.paused_by,
                    when=f"{campaign.paused_at:%Y-%m-%d %H:%M}",
                )
            table.add_row(
                escape(campaign.name),
                c.trigger,
                c.delay,
                f"{c.send_from}-{c.send_until}",
                ", ".join(c.survey),
                escape(state),
                ", ".join(f"{_(s)} {counts[s]}" for s in store.STATUSES if counts.get(s))
                or _("none"),
            )
    if not table.row_count:
        out.print(escape(_("no campaigns: add a [[campaigns]] table to the settings")))
        return
    out.print(table)
    for problem in readiness(settings):
        err.print("[yellow]" + _("not sending:") + "[/] " + escape(problem), highlight=False)


@app.command("preview")
def preview_command(
    name: NameArgument,
    limit: Annotated[int, typer.Option(help="Most rows listed (the counts cover all).")] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="Every row as JSON lines.")] = False,
    at: Annotated[
        str | None,
        typer.Option(help="Judge as of this time, e.g. 2026-12-01T09:00 (UTC); default: now."),
    ] = None,
) -> None:
    """Who would get which check-in and when, and who would not and why. Writes nothing."""
    from outreach.campaigns.definition import CampaignError
    from outreach.campaigns.preview import preview

    settings = get_settings()
    engine = database(settings)
    try:
        shown = preview(settings, engine, name, now=_day(at))
    except CampaignError as exc:
        err.print(str(exc), highlight=False)
        raise typer.Exit(EXIT_USAGE) from None
    if as_json:
        for entry in shown.entries:
            print(json.dumps(_entry_json(entry), ensure_ascii=False))
        return
    would_send = shown.count("send")
    would_skip = shown.count("skip")
    head = _(
        "campaign %(name)s%(paused)s: %(send)s would get a check-in, %(skip)s would not",
        name=name,
        paused=" (" + _("paused") + ")" if shown.paused else "",
        send=would_send,
        skip=would_skip,
    )
    done = {k: shown.count(k) for k in ("sent", "answered", "skipped", "error")}
    done_text = ", ".join(f"{_(k)} {v}" for k, v in done.items() if v)
    so_far = "; " + _("so far %(done)s", done=done_text) if done_text else ""
    out.print(escape(head + so_far), highlight=False)
    reasons = shown.reasons()
    if reasons:
        out.print(
            _(
                "not sent, by reason: %(reasons)s",
                reasons=", ".join(f"{r} {n}" for r, n in reasons.most_common()),
            ),
            highlight=False,
        )
    if shown.outside:
        out.print(
            _(
                "orders outside the segment: %(reasons)s",
                reasons=", ".join(f"{r} {n}" for r, n in shown.outside.most_common()),
            ),
            highlight=False,
        )
    table = Table(
        _("due (customer's time)"),
        _("customer"),
        _("order"),
        _("lang"),
        _("outcome"),
        _("why / what"),
    )
    for entry in shown.entries[:limit]:
        what = entry.details if entry.outcome in ("skip", "skipped", "error") else entry.subject
        table.add_row(
            escape(entry.local_due),
            escape(entry.customer),
            escape(entry.order),
            entry.language,
            _(entry.outcome),
            escape(what or ""),
        )
    out.print(table)
    if len(shown.entries) > limit:
        out.print(_("... and %(count)s more (--limit)", count=len(shown.entries) - limit))
    for problem in shown.problems:
        err.print("[yellow]" + _("not sending:") + "[/] " + escape(problem), highlight=False)


def _entry_json(entry: Any) -> dict[str, Any]:
    return {
        "order": entry.order,
        "customer": entry.customer,
        "language": entry.language,
        "due_at": entry.due_at.isoformat(),
        "due_local": entry.local_due,
        "outcome": entry.outcome,
        "reason": entry.reason,
        "details": entry.details,
        "subject": entry.subject,
        "checkin_id": entry.checkin_id,
    }


def _set_paused(name: str, paused: bool, actor: str | None) -> None:
    from outreach.campaigns.definition import CampaignError, find_campaign, pause_campaign
    from storage.db import session_scope

    settings = get_settings()
    engine = database(settings)
    try:
        with session_scope(engine) as session:
            changed = pause_campaign(session, settings, name, paused=paused, by=_actor(actor))
            still_paused = find_campaign(session, settings, name).config.paused
    except CampaignError as exc:
        err.print(str(exc), highlight=False)
        raise typer.Exit(EXIT_USAGE) from None
    if changed:
        message = _("campaign %(name)s paused") if paused else _("campaign %(name)s resumed")
    elif paused:
        message = _("campaign %(name)s was already paused")
    else:
        message = _("campaign %(name)s was already resumed")
    out.print(message % {"name": name})
    if not paused and still_paused:
        err.print(
            _("campaign %(name)s is still paused by `paused = true` in its definition", name=name),
            highlight=False,
        )
        raise typer.Exit(EXIT_USAGE)


@app.command("pause")
def pause_command(name: NameArgument, actor: AsOption = None) -> None:
    """Stop sending a campaign's check-ins (they are still planned)."""
    _set_paused(name, True, actor)


@app.command("resume")
def resume_command(name: NameArgument, actor: AsOption = None) -> None:
    """Send a paused campaign's check-ins again; those late by now are skipped as late."""
    _set_paused(name, False, actor)


def _day(value: str | None) -> datetime | None:
    """A date or time from the command line; UTC unless it says otherwise."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        err.print(
            _("%(value)s: expected a date such as 2026-11-01", value=repr(value)), highlight=False
        )
        raise typer.Exit(EXIT_USAGE) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@app.command("report")
def report_command(
    by: Annotated[
        str, typer.Option("--by", help="Group by `campaign`, `product` or `week`.")
    ] = "campaign",
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Also write the table to this CSV file.")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Check-ins sent on or after this day (UTC).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Check-ins sent before this day (UTC).")] = None,
    campaign: Annotated[
        list[str] | None, typer.Option("--campaign", help="Only these campaigns (repeatable).")
    ] = None,
) -> None:
    """Response rate, CSAT (% of 4-5) and NPS (% 9-10 minus % 0-6), with their counts."""
    from outreach.campaigns.reports import figures, write_csv
    from storage.campaigns import report_rows
    from storage.db import session_scope

    if by not in ("campaign", "product", "week"):
        err.print(
            _("--by %(value)s: expected campaign, product or week", value=repr(by)),
            highlight=False,
        )
        raise typer.Exit(EXIT_USAGE)
    settings = get_settings()
    engine = database(settings)
    with session_scope(engine) as session:
        rows = report_rows(session, since=_day(since), until=_day(until), campaigns=campaign or [])
    table_rows = figures(rows, by=by)  # type: ignore[arg-type]
    table = Table(
        _(by),
        pgettext("check-ins", "sent"),
        _("queued/failed/uncertain"),
        _("answered"),
        _("response"),
        "CSAT",
        _("CSAT n"),
        "NPS",
        _("NPS n"),
        "9-10/7-8/0-6",
    )
    for item in table_rows:
        table.add_row(
            escape(item.group),
            str(item.sent),
            f"{item.queued}/{item.failed}/{item.uncertain}",
            str(item.answered),
            _pct(item.response_rate),
            _pct(item.csat),
            str(item.csat_answers),
            _signed(item.nps),
            str(item.nps_answers),
            f"{item.promoters}/{item.passives}/{item.detractors}",
        )
    out.print(table)
    if csv_file is not None:
        with csv_file.open("w", encoding="utf-8", newline="") as handle:
            write_csv(handle, table_rows, by=by)  # type: ignore[arg-type]
        out.print(_("wrote %(path)s", path=csv_file))


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{number(value, 1)}%"


def _signed(value: float | None) -> str:
    if value is None:
        return "-"
    return ("+" if value >= 0 else "-") + number(abs(value), 1)


@app.command("run")
def run_command() -> None:
    """One pass now: plan, send what is due, act on answers (as the scheduler does)."""
    from outreach.campaigns.job import run_campaigns

    settings = get_settings()
    engine = database(settings)
    result = run_campaigns(settings, engine)
    skipped: dict[str, int] = {}
    for report in result.sent.values():
        for reason, count in report.skipped.items():
            skipped[reason] = skipped.get(reason, 0) + count
    why = f" ({', '.join(f'{k} {v}' for k, v in sorted(skipped.items()))})" if skipped else ""
    out.print(
        _(
            "planned %(planned)s, sent %(sent)s, skipped %(skipped)s%(why)s, "
            "answers judged %(answers)s, follow-up drafts %(follow_ups)s",
            planned=sum(result.planned.values()),
            sent=result.sent_total,
            skipped=sum(skipped.values()),
            why=why,
            answers=result.acted.answers,
            follow_ups=result.acted.follow_ups,
        ),
        highlight=False,
    )
    problems = result.problems + [e for r in result.sent.values() for e in r.errors]
    problems += result.acted.errors
    for problem in problems:
        err.print("[yellow]" + _("problem:") + "[/] " + escape(problem), highlight=False)
    if result.problems:
        raise typer.Exit(1)
