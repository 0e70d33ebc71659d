"""`ascolto outbox ...`: what is waiting to leave, what left, and what needs a person."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ascolto.cli.common import database
from ascolto.localization import gettext as _
from ascolto.localization import ngettext
from storage.outbox import STATUSES

app = typer.Typer(help="Messages leaving ascolto: alerts, replies, e-mails.", no_args_is_help=True)

EXIT_FAILED = 1


@app.command("list")
def list_command(
    status: Annotated[
        str | None, typer.Option(help=f"Only this status: {', '.join(STATUSES)}.")
    ] = None,
    channel: Annotated[str | None, typer.Option(help="Only this channel.")] = None,
    kind: Annotated[str | None, typer.Option(help="Only this kind, e.g. alert, reply.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 50,
) -> None:
    """Messages, newest first, with their status and last error."""
    from sqlmodel import Session

    from ascolto.cli.common import err, out
    from storage.outbox import count_by_status, list_messages

    if status is not None and status not in STATUSES:
        err.print(
            "[red]"
            + _("error:")
            + "[/] "
            + _("--status must be one of: %(statuses)s", statuses=", ".join(STATUSES))
        )
        raise typer.Exit(2)
    with Session(database()) as session:
        rows = list_messages(session, status=status, channel=channel, kind=kind, limit=limit)
        counts = count_by_status(session)
    summary = ", ".join(f"{counts[s]} {s}" for s in STATUSES if counts.get(s)) or _("empty")
    table = Table(title=_("outbox: %(summary)s", summary=summary))
    for column in (
        _("id"),
        _("status"),
        _("channel"),
        _("kind"),
        _("recipient"),
        _("attempts"),
        _("when"),
    ):
        table.add_column(column, no_wrap=True)
    table.add_column(_("subject / problem"), overflow="fold", ratio=1)
    for m in rows:
        when = m.sent_at if m.status == "sent" else m.next_attempt_at
        state = _("ready to post") if m.status == "sent" and m.channel == "manual" else m.status
        detail = m.last_error if m.status != "sent" and m.last_error else m.subject
        table.add_row(
            str(m.id),
            state,
            m.channel,
            m.kind,
            escape(m.recipient),
            str(m.attempts),
            when.strftime("%Y-%m-%d %H:%M UTC") if when else "",
            escape(detail or ""),
        )
    out.print(table)


@app.command("show")
def show(message_id: Annotated[int, typer.Argument(help="Message id.")]) -> None:
    """One message in full: where it goes, its text, and what happened to it."""
    from sqlmodel import Session

    from ascolto.cli.common import err, out
    from storage.outbox import get_message

    with Session(database()) as session:
        m = get_message(session, message_id)
    if m is None:
        err.print(
            "[red]" + _("error:") + "[/] " + _("no outbox message with id %(id)s", id=message_id)
        )
        raise typer.Exit(2)
    head = ngettext(
        "message %(id)s: %(status)s, %(num)s attempt",
        "message %(id)s: %(status)s, %(num)s attempts",
        m.attempts,
        id=m.id,
        status=m.status,
    )
    fields = [
        (_("key"), m.key),
        (_("channel"), f"{m.channel} ({m.kind})"),
        (_("recipient"), m.recipient),
        (_("subject"), m.subject),
        (_("created"), m.created_at.isoformat()),
    ]
    if m.sent_at:
        fields.append((_("sent"), m.sent_at.isoformat()))
    if m.remote_url:
        fields.append((_("post at") if m.channel == "manual" else _("posted"), m.remote_url))
    if m.last_error:
        fields.append((_("problem"), m.last_error))
    # Values line up after the longest label, whatever the language's words.
    width = max(len(label) for label, _value in fields) + 2
    lines = [head, *(f"{label + ':':<{width}}{value}" for label, value in fields)]
    out.print(escape("\n".join(lines)), highlight=False, soft_wrap=True)
    out.print()
    out.print(escape(m.text), highlight=False, soft_wrap=True)


@app.command("retry")
def retry_command(
    message_id: Annotated[int, typer.Argument(help="Message id.")],
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Also send an `uncertain` message again: only after checking that the "
            "recipient did not get it.",
        ),
    ] = False,
) -> None:
    """Send a failed, cancelled or uncertain message again at the next delivery pass."""
    from ascolto.cli.common import out
    from outreach.outbox import retry
    from storage.db import session_scope

    with session_scope(database()) as session:
        message = retry(session, message_id, force=force)
    out.print(
        _(
            "message %(id)s is pending again; it leaves at the next delivery pass",
            id=message.id,
        )
    )


@app.command("cancel")
def cancel_command(
    message_id: Annotated[int, typer.Argument(help="Message id.")],
    reason: Annotated[str | None, typer.Option(help="Why, for the audit trail.")] = None,
) -> None:
    """Never send a pending, failed or uncertain message."""
    from ascolto.cli.common import out
    from outreach.outbox import cancel
    from storage.db import session_scope

    with session_scope(database()) as session:
        message = cancel(session, message_id, reason=reason)
    out.print(_("message %(id)s is cancelled", id=message.id))


@app.command("deliver")
def deliver_command(
    limit: Annotated[int, typer.Option(min=1, help="Send at most this many messages.")] = 100,
) -> None:
    """One pass now: enqueue notifications of new alerts, then send every due message."""
    from ascolto.cli.common import out
    from ascolto.defects.alerting import notify_alerts
    from ascolto.settings import get_settings
    from outreach.outbox import deliver_due

    settings = get_settings()
    engine = database()
    notified = notify_alerts(settings, engine)
    report = deliver_due(settings, engine, limit=limit)
    parts = [
        _("sent %(count)s", count=report.sent),
        _("retrying %(count)s", count=report.retrying),
        _("failed %(count)s", count=report.failed),
        _("uncertain %(count)s", count=report.uncertain),
    ]
    if report.resumed:
        parts.append(_("resumed %(count)s interrupted", count=report.resumed))
    if notified.messages or notified.digests:
        parts.append(
            _(
                "alert notifications %(messages)s, digests %(digests)s",
                messages=notified.messages,
                digests=notified.digests,
            )
        )
    out.print("; ".join(parts), highlight=False)
    for channel, reason in sorted(report.waiting.items()):
        out.print(
            _("%(channel)s messages wait: %(reason)s", channel=channel, reason=escape(reason)),
            highlight=False,
        )
    for problem in report.problems:
        out.print(f"  {escape(problem)}", highlight=False, soft_wrap=True)
    if not report.ok:
        raise typer.Exit(EXIT_FAILED)
