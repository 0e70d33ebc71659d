"""`ascolto defects ...` and `ascolto alerts ...`: defect clusters and the alerts they raised."""

from __future__ import annotations

import getpass
import json
import sys
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ascolto.cli.common import database
from ascolto.localization import current_language, ngettext, number, pgettext
from ascolto.localization import gettext as _
from storage.models import Alert, DefectCluster, OutboxMessage

defects_app = typer.Typer(
    help="Defect clusters: similar complaints about a product after its launch.",
    no_args_is_help=True,
)
alerts_app = typer.Typer(
    help="Alerts raised by defect clusters: list, acknowledge, dismiss, resolve.",
    no_args_is_help=True,
)

ALERT_STATES = ("open", "acknowledged", "dismissed", "resolved")

ById = Annotated[str | None, typer.Option("--by", help="Who acts (default: your login name).")]
Reason = Annotated[str | None, typer.Option("--reason", help="Why, kept in the audit trail.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _who(by: str | None) -> str:
    if by and by.strip():
        return by.strip()
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def _fail(message: str, code: int = 2) -> typer.Exit:
    from ascolto.cli.common import err

    err.print("[red]" + _("error:") + "[/] " + escape(message), highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


def _growth(cluster: DefectCluster) -> str:
    growth = cluster.growth or {}
    if "recent" not in growth:
        return ""
    return _(
        "%(recent)s recent / %(previous)s before",
        recent=growth.get("recent", 0),
        previous=growth.get("previous", 0),
    )


def _per_1000(rates: dict[str, Any] | None) -> str:
    if not rates or rates.get("per_1000") is None:
        return _("unknown")
    low, high = rates["interval"]
    return f"{number(rates['per_1000'], 2)} ({number(low, 2)}-{number(high, 2)})"


def _cluster_status(status: str) -> str:
    """A cluster's status in the current language (a cluster is masculine in Italian, an
    alert feminine: the words differ)."""
    words = {
        "new": pgettext("cluster", "new"),
        "growing": pgettext("cluster", "growing"),
        "stable": pgettext("cluster", "stable"),
        "resolved": pgettext("cluster", "resolved"),
        "dismissed": pgettext("cluster", "dismissed"),
    }
    return words.get(status, status)


def _day_count(day: dict[str, Any]) -> str:
    """A day's complaints; with sources down that day, a floor or unknown, and which."""
    down = ", ".join(day["sources_down"])
    if day["count"] is None:
        return _("unknown (%(sources)s down)", sources=down)
    if day["partial"]:
        return _("%(count)s+ (%(sources)s down)", count=day["count"], sources=down)
    return str(day["count"])


def cluster_json(
    cluster: DefectCluster, product: str, rates: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A cluster as the command line prints it with --json."""
    return {
        "rates": rates,
        "snoozed_until": cluster.snoozed_until.isoformat() if cluster.snoozed_until else None,
        "ticket_url": cluster.ticket_url,
        "id": cluster.id,
        "product": product,
        "status": cluster.status,
        "live": cluster.live,
        "merged_into_id": cluster.merged_into_id,
        "level": cluster.level,
        "title": cluster.title,
        "keywords": cluster.keywords,
        "size": cluster.size,
        "authors": cluster.authors,
        "growth": cluster.growth,
        "sources": cluster.sources,
        "representatives": cluster.representatives,
        "reasons": cluster.reasons,
        "first_at": cluster.first_at.isoformat(),
        "last_at": cluster.last_at.isoformat(),
        "updated_at": cluster.updated_at.isoformat(),
    }


def delivery_json(message: OutboxMessage) -> dict[str, Any]:
    """One notification of an alert, as `--json` shows it."""
    return {
        "outbox_id": message.id,
        "channel": message.channel,
        "recipient": message.recipient,
        "status": message.status,
        "attempts": message.attempts,
        "next_attempt_at": message.next_attempt_at.isoformat()
        if message.status == "pending"
        else None,
        "sent_at": message.sent_at.isoformat() if message.sent_at else None,
        "last_error": message.last_error,
    }


def delivery_summary(messages: list[OutboxMessage]) -> str:
    """`sent 2, retrying 1`: where an alert's notifications stand, problems first."""
    if not messages:
        return ""
    counts: dict[str, int] = {}
    for message in messages:
        status = message.status
        if status == "pending" and message.attempts:
            status = "retrying"
        counts[status] = counts.get(status, 0) + 1
    order = ("failed", "uncertain", "retrying", "pending", "sending", "sent", "cancelled")
    return ", ".join(f"{s} {counts[s]}" for s in order if s in counts)


def alert_json(
    alert: Alert, product: str, deliveries: list[OutboxMessage] | None = None
) -> dict[str, Any]:
    """An alert as the command line prints it with --json."""
    return {
        "id": alert.id,
        "cluster_id": alert.cluster_id,
        "product": product,
        "level": alert.level,
        "status": alert.status,
        "title": alert.title,
        "summary": alert.summary,
        "created_at": alert.created_at.isoformat(),
        "acted_by": alert.acted_by,
        "acted_at": alert.acted_at.isoformat() if alert.acted_at else None,
        "evidence": alert.evidence,
        "deliveries": [delivery_json(m) for m in deliveries or []],
    }


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


# -- ascolto defects --------------------------------------------------------------------------


@defects_app.command("list")
def list_clusters_command(
    product: Annotated[str | None, typer.Option(help="Only this product's clusters.")] = None,
    every: Annotated[
        bool,
        typer.Option("--all", help="Also resolved, dismissed and merged clusters."),
    ] = False,
    limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 50,
    as_json: AsJson = False,
) -> None:
    """Defect clusters, highest alert level first, then largest."""
    from sqlmodel import Session

    from ascolto.cli.common import out
    from ascolto.defects.rates import cluster_rates
    from storage.defects import list_clusters, product_names
    from storage.types import utcnow

    with Session(database()) as session:
        names = product_names(session)
        product_id = None
        if product is not None:
            ids = {name: pid for pid, name in names.items()}
            if product not in ids:
                known = ", ".join(sorted(ids)) or _("none configured")
                raise _fail(
                    _(
                        "no product named %(name)s (known: %(known)s)",
                        name=repr(product),
                        known=known,
                    )
                )
            product_id = ids[product]
        statuses = None if every else ["new", "growing", "stable"]
        rows = list_clusters(
            session, product_id=product_id, statuses=statuses, live_only=not every, limit=limit
        )
        rates = cluster_rates(session, now=utcnow())
    # Worst rate per delivered unit first: five complaints on 40 units before twenty on
    # 50,000; clusters of products without delivered orders after, by level and size.
    rows.sort(key=lambda c: -((rates.get(c.id or 0) or {}).get("per_1000") or -1.0))
    if as_json:
        _print_json(
            [cluster_json(c, names.get(c.product_id, ""), rates.get(c.id or 0)) for c in rows]
        )
        return
    table = Table(title=ngettext("%(num)s defect cluster", "%(num)s defect clusters", len(rows)))
    for column in (
        _("id"),
        _("product"),
        _("status"),
        _("level"),
        _("size"),
        _("authors"),
        _("per 1,000 units"),
        _("growth"),
        _("last"),
    ):
        table.add_column(column, no_wrap=True)
    table.add_column(_("title / keywords"), overflow="fold", ratio=1)
    for c in rows:
        status = (
            _cluster_status(c.status)
            if c.live
            else _(
                "%(status)s (merged into %(id)s)",
                status=_cluster_status(c.status),
                id=c.merged_into_id,
            )
        )
        table.add_row(
            str(c.id),
            escape(names.get(c.product_id, "?")),
            status,
            str(c.level or ""),
            str(c.size),
            str(c.authors),
            _per_1000(rates.get(c.id or 0)),
            _growth(c),
            _when(c.last_at),
            escape(f"{c.title}\n{', '.join(c.keywords)}"),
        )
    out.print(table)


@defects_app.command("show")
def show_cluster(
    cluster_id: Annotated[int, typer.Argument(help="Id of a defect cluster.")],
    as_json: AsJson = False,
) -> None:
    """One cluster: keywords, title, size, authors, growth, sources, status, examples."""
    from sqlmodel import Session

    from ascolto.cli.common import out
    from ascolto.defects.detection import cluster_timeline
    from ascolto.defects.rates import cluster_rates, rate_line
    from storage.defects import (
        alert_deliveries,
        get_cluster,
        list_alerts,
        member_ids,
        product_names,
    )
    from storage.types import utcnow

    with Session(database()) as session:
        cluster = get_cluster(session, cluster_id)
        if cluster is None:
            raise _fail(_("no defect cluster %(id)s", id=cluster_id))
        product = product_names(session).get(cluster.product_id, "?")
        alerts = list_alerts(session, cluster_id=cluster_id, limit=100)
        sent = alert_deliveries(session, [a.id for a in alerts if a.id is not None])
        members = member_ids(session, cluster_id, limit=20)
        rates = cluster_rates(session, now=utcnow(), product_ids=[cluster.product_id]).get(
            cluster_id
        )
        timeline = cluster_timeline(session, cluster)
    if as_json:
        _print_json(
            {
                **cluster_json(cluster, product, rates),
                "timeline": timeline,
                "alerts": [alert_json(a, product, sent.get(a.id or 0)) for a in alerts],
                "recent_member_ids": members,
            }
        )
        return
    live = "" if cluster.live else ", " + _("merged into %(id)s", id=cluster.merged_into_id)
    out.print(
        "[bold]"
        + _("defect cluster %(id)s", id=cluster.id)
        + "[/] "
        + _("of %(product)s: %(title)s", product=escape(product), title=escape(cluster.title)),
        highlight=False,
    )
    out.print(
        _(
            "status %(status)s%(live)s; alert level %(level)s; %(size)s mention(s) "
            "from %(authors)s author(s); first %(first)s, last %(last)s",
            status=_cluster_status(cluster.status),
            live=live,
            level=cluster.level,
            size=cluster.size,
            authors=cluster.authors,
            first=_when(cluster.first_at),
            last=_when(cluster.last_at),
        ),
        highlight=False,
    )
    if cluster.snoozed_until:
        out.print(_("snoozed until %(when)s", when=_when(cluster.snoozed_until)), highlight=False)
    if cluster.ticket_url:
        out.print(_("ticket: %(url)s", url=escape(cluster.ticket_url)), highlight=False)
    out.print(
        _("keywords: %(keywords)s", keywords=escape(", ".join(cluster.keywords))),
        highlight=False,
    )
    out.print(escape(rate_line(rates, current_language())), highlight=False)
    for split, label in (
        ("by_sku", _("per SKU: %(rates)s")),
        ("by_batch", _("per batch: %(rates)s")),
        ("by_ship_week", _("per ship week: %(rates)s")),
    ):
        rows = (rates or {}).get(split) or []
        if rows:
            shown = "; ".join(
                _(
                    "%(key)s %(rate)s of %(units)s",
                    key=escape(str(r["key"])),
                    rate=_per_1000(r),
                    units=r["units"],
                )
                for r in rows
            )
            out.print(label % {"rates": shown}, highlight=False)
    sources = ", ".join(f"{name} {n}" for name, n in cluster.sources.items())
    out.print(_("sources: %(sources)s", sources=escape(sources)), highlight=False)
    growth = cluster.growth or {}
    if growth:
        out.print(
            _(
                "growth: %(recent)s in the recent window, %(previous)s in the one before "
                "(%(ratio)sx)",
                recent=growth.get("recent", 0),
                previous=growth.get("previous", 0),
                ratio=number(growth.get("ratio", 0), 1),
            ),
            highlight=False,
        )
    if timeline:
        out.print(
            _(
                "per day: %(days)s",
                days=", ".join(f"{d['day']} {_day_count(d)}" for d in timeline),
            ),
            highlight=False,
        )
    for reason in cluster.reasons:
        out.print(f"  - {escape(reason)}", highlight=False)
    table = Table(title=_("representative mentions"))
    for column in (_("mention"), _("at")):
        table.add_column(column, no_wrap=True)
    table.add_column(_("text"), overflow="fold", ratio=1)
    for sample in cluster.representatives:
        table.add_row(
            str(sample.get("mention_id", "")),
            str(sample.get("at", ""))[:16],
            escape(str(sample.get("text", ""))[:300]),
        )
    out.print(table)
    if alerts:
        out.print(
            _(
                "alerts: %(alerts)s",
                alerts=", ".join(
                    _(
                        "%(id)s (level %(level)s, %(status)s)",
                        id=a.id,
                        level=a.level,
                        status=_(a.status),
                    )
                    for a in alerts
                ),
            ),
            highlight=False,
        )


@defects_app.command("dismiss")
def dismiss_cluster(
    cluster_id: Annotated[int, typer.Argument(help="Id of a defect cluster.")],
    by: ById = None,
    reason: Reason = None,
) -> None:
    """Not a defect: the cluster and its open alerts are dismissed."""
    _act_on_cluster(cluster_id, "dismiss", by, reason)


@defects_app.command("resolve")
def resolve_cluster(
    cluster_id: Annotated[int, typer.Argument(help="Id of a defect cluster.")],
    by: ById = None,
    reason: Reason = None,
) -> None:
    """Fixed: the cluster and its open alerts are resolved (it re-opens if complaints resume)."""
    _act_on_cluster(cluster_id, "resolve", by, reason)


@defects_app.command("snooze")
def snooze_cluster(
    cluster_id: Annotated[int, typer.Argument(help="Id of a defect cluster.")],
    until: Annotated[
        str, typer.Option("--until", help="Date (YYYY-MM-DD, UTC midnight) or ISO date-time.")
    ],
    by: ById = None,
    reason: Reason = None,
) -> None:
    """Hold the cluster's notifications until a date (detection goes on meanwhile)."""
    from ascolto.cli.common import out
    from ascolto.defects.lifecycle import LifecycleError, snooze

    try:
        moment = datetime.fromisoformat(until)
    except ValueError:
        raise _fail(
            _("--until %(value)s: expected YYYY-MM-DD or an ISO date-time", value=repr(until))
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        cluster = snooze(database(), cluster_id, moment, by=_who(by), reason=reason)
    except (LookupError, LifecycleError) as exc:
        raise _fail(str(exc.args[0])) from None
    out.print(
        _(
            "defect cluster %(id)s is snoozed until %(when)s",
            id=cluster.id,
            when=_when(moment),
        ),
        highlight=False,
    )


@defects_app.command("wake")
def wake_cluster(
    cluster_id: Annotated[int, typer.Argument(help="Id of a defect cluster.")],
    by: ById = None,
) -> None:
    """End a snooze now: the cluster's pending notifications go out."""
    from ascolto.cli.common import out
    from ascolto.defects.lifecycle import snooze

    try:
        snooze(database(), cluster_id, None, by=_who(by))
    except LookupError as exc:
        raise _fail(str(exc.args[0])) from None
    out.print(_("defect cluster %(id)s is awake", id=cluster_id), highlight=False)


@defects_app.command("ticket")
def ticket_cluster(
    cluster_id: Annotated[int, typer.Argument(help="Id of a defect cluster.")],
    url: Annotated[str, typer.Argument(help='The ticket\'s address; "" unlinks it.')],
    by: ById = None,
) -> None:
    """Link the cluster to the ticket where its fix is tracked."""
    from ascolto.cli.common import out
    from ascolto.defects.lifecycle import LifecycleError, link_ticket

    try:
        cluster = link_ticket(database(), cluster_id, url, by=_who(by))
    except (LookupError, LifecycleError) as exc:
        raise _fail(str(exc.args[0])) from None
    out.print(
        _(
            "defect cluster %(id)s: ticket %(url)s",
            id=cluster.id,
            url=cluster.ticket_url or _("none"),
        ),
        highlight=False,
    )


def _act_on_cluster(cluster_id: int, action: Any, by: str | None, reason: str | None) -> None:
    from ascolto.cli.common import out
    from ascolto.defects.detection import act_on_cluster

    try:
        cluster = act_on_cluster(database(), cluster_id, action, by=_who(by), reason=reason)
    except LookupError as exc:
        raise _fail(str(exc.args[0])) from None
    out.print(
        _(
            "defect cluster %(id)s is %(status)s",
            id=cluster.id,
            status=_cluster_status(cluster.status),
        ),
        highlight=False,
    )


@defects_app.command("detect")
def detect() -> None:
    """Run defect detection now over the complaints classified since the last run."""
    from ascolto.cli.common import EXIT_FAILED, out
    from ascolto.defects.detection import detect_defects
    from ascolto.settings import get_settings

    report = detect_defects(get_settings(), database())
    out.print(
        _(
            "%(products)s product(s) watched, %(complaints)s new complaint(s), "
            "%(clusters)s cluster(s) written, %(alerts)s alert(s) raised",
            products=len(report.products),
            complaints=report.complaints,
            clusters=report.clusters_written,
            alerts=len(report.alerts),
        ),
        highlight=False,
    )
    for product, problem in report.failed.items():
        out.print(f"[red]{escape(product)}:[/] {escape(problem)}", highlight=False)
    if report.error:
        out.print("[red]" + _("error:") + "[/] " + escape(report.error), highlight=False)
    if not report.ok:
        raise typer.Exit(EXIT_FAILED)


# -- ascolto alerts ---------------------------------------------------------------------------


@alerts_app.command("list")
def list_alerts_command(
    status: Annotated[
        list[str] | None,
        typer.Option(
            help="Only alerts in this status (repeatable): open, acknowledged, dismissed, "
            "resolved; default: open and acknowledged."
        ),
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Alerts in every status.")] = False,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 50,
    as_json: AsJson = False,
) -> None:
    """Alerts, newest first."""
    from sqlmodel import Session

    from ascolto.cli.common import out
    from storage.defects import alert_deliveries, list_alerts, product_names

    wanted = list(status or ["open", "acknowledged"])
    unknown = [s for s in wanted if s not in ALERT_STATES]
    if unknown:
        raise _fail(
            _(
                "status %(value)s: expected one of %(states)s",
                value=repr(unknown[0]),
                states=", ".join(ALERT_STATES),
            )
        )
    with Session(database()) as session:
        names = product_names(session)
        rows = list_alerts(session, statuses=None if every else wanted, limit=limit)
        sent = alert_deliveries(session, [a.id for a in rows if a.id is not None])
    if as_json:
        _print_json([alert_json(a, names.get(a.product_id, ""), sent.get(a.id or 0)) for a in rows])
        return
    table = Table(title=ngettext("%(num)s alert", "%(num)s alerts", len(rows)))
    columns = (
        "id",
        _("cluster"),
        _("product"),
        _("level"),
        _("status"),
        _("raised"),
        _("acted"),
        _("delivery"),
    )
    for column in columns:
        table.add_column(column, no_wrap=True)
    table.add_column(_("title"), overflow="fold", ratio=1)
    troubled = []
    for a in rows:
        acted = f"{a.acted_by} {_when(a.acted_at)}" if a.acted_by else ""
        messages = sent.get(a.id or 0, [])
        summary = delivery_summary(messages)
        if any(m.status in ("failed", "uncertain") or m.last_error for m in messages):
            troubled.append(a.id)
            summary = f"[red]{summary}[/]"
        table.add_row(
            str(a.id),
            str(a.cluster_id),
            escape(names.get(a.product_id, "?")),
            str(a.level),
            _(a.status),
            _when(a.created_at),
            escape(acted),
            summary,
            escape(a.title),
        )
    out.print(table)
    if troubled:
        out.print(
            _(
                "delivery problems for alert(s) %(ids)s: `ascolto alerts show ID` says why; "
                "`ascolto outbox retry OUTBOX_ID` tries again",
                ids=", ".join(map(str, troubled)),
            ),
            highlight=False,
        )


@alerts_app.command("show")
def show_alert(
    alert_id: Annotated[int, typer.Argument(help="Id of an alert.")],
    as_json: AsJson = False,
) -> None:
    """One alert: its summary, who acted on it, and where each notification stands."""
    from sqlmodel import Session

    from ascolto.cli.common import out
    from storage.defects import alert_deliveries, get_alert, product_names

    with Session(database()) as session:
        alert = get_alert(session, alert_id)
        if alert is None:
            raise _fail(_("no alert %(id)s", id=alert_id))
        product = product_names(session).get(alert.product_id, "?")
        messages = alert_deliveries(session, [alert_id]).get(alert_id, [])
    if as_json:
        _print_json(alert_json(alert, product, messages))
        return
    heading = _("alert %(id)s", id=alert.id)
    out.print(f"[bold]{heading}[/]: {escape(alert.title)}", highlight=False)
    acted = (
        "; "
        + _(
            "%(status)s by %(who)s %(when)s",
            status=_(alert.status),
            who=alert.acted_by,
            when=_when(alert.acted_at),
        )
        if alert.acted_by
        else ""
    )
    out.print(
        _(
            "%(product)s, cluster %(cluster)s, level %(level)s, raised %(when)s, %(status)s",
            product=escape(product),
            cluster=alert.cluster_id,
            level=alert.level,
            when=_when(alert.created_at),
            status=_(alert.status),
        )
        + escape(acted),
        highlight=False,
    )
    out.print(escape(alert.summary), highlight=False)
    if not messages:
        out.print(
            _("no notification: the product has no team, or none is due yet"), highlight=False
        )
        return
    table = Table(title=_("notifications"))
    columns = ("outbox", _("channel"), _("recipient"), _("status"), _("attempts"), _("when"))
    for column in columns:
        table.add_column(column, no_wrap=True)
    table.add_column(_("problem"), overflow="fold", ratio=1)
    for m in messages:
        when = m.sent_at if m.status == "sent" else m.next_attempt_at
        table.add_row(
            str(m.id),
            m.channel,
            escape(m.recipient),
            _(m.status),
            str(m.attempts),
            _when(when) if m.status in ("sent", "pending") else "",
            escape(m.last_error or ""),
        )
    out.print(table)


@alerts_app.command("acknowledge")
def acknowledge(
    alert_id: Annotated[int, typer.Argument(help="Id of an alert.")],
    by: ById = None,
    reason: Reason = None,
) -> None:
    """Seen and being handled: no further alert for this cluster unless it escalates."""
    _act_on_alert(alert_id, "acknowledge", by, reason)


@alerts_app.command("ack", hidden=True)
def ack(
    alert_id: Annotated[int, typer.Argument(help="Id of an alert.")],
    by: ById = None,
    reason: Reason = None,
) -> None:
    """Short for `acknowledge`."""
    _act_on_alert(alert_id, "acknowledge", by, reason)


@alerts_app.command("dismiss")
def dismiss(
    alert_id: Annotated[int, typer.Argument(help="Id of an alert.")],
    by: ById = None,
    reason: Reason = None,
) -> None:
    """Not a defect: the alert and its cluster are dismissed."""
    _act_on_alert(alert_id, "dismiss", by, reason)


@alerts_app.command("resolve")
def resolve(
    alert_id: Annotated[int, typer.Argument(help="Id of an alert.")],
    by: ById = None,
    reason: Reason = None,
) -> None:
    """Fixed: the alert and its cluster are resolved."""
    _act_on_alert(alert_id, "resolve", by, reason)


def _act_on_alert(alert_id: int, action: Any, by: str | None, reason: str | None) -> None:
    from ascolto.cli.common import out
    from ascolto.defects.detection import TransitionError, act_on_alert

    try:
        changed = act_on_alert(database(), alert_id, action, by=_who(by), reason=reason)
    except LookupError as exc:
        raise _fail(str(exc.args[0])) from None
    except TransitionError as exc:
        raise _fail(str(exc)) from None
    if not changed:
        done = {"acknowledge": "acknowledged", "dismiss": "dismissed", "resolve": "resolved"}
        out.print(
            _("alert %(id)s is already %(status)s", id=alert_id, status=_(done[action])),
            highlight=False,
        )
        return
    for alert in changed:
        out.print(
            _(
                "alert %(id)s is %(status)s (by %(who)s)",
                id=alert.id,
                status=_(alert.status),
                who=escape(alert.acted_by or ""),
            )
        )
