"""Alert notifications: each alert once per escalation level to each target of the team
that owns its product (e-mail addresses, Slack, a signed webhook), or once a day in the
team's digest. Idempotency keys make a notification pass safe to repeat: `alert:<alert
id>:<level>:<target>` and `digest:<team>:<day>:<target>`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from ascolto.defects.detection import blind_line
from ascolto.defects.rates import rate_line
from ascolto.localization import gettext, ngettext, number, use_language
from ascolto.settings import Settings, TeamSettings
from outreach.channels.slack import escape_mrkdwn
from outreach.outbox import enqueue
from storage.db import session_scope
from storage.defects import list_alerts, product_names
from storage.models import Alert, DefectCluster, Mention, OutboxMessage
from storage.outbox import existing_keys, keys_for_alerts
from storage.types import utcnow

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "alert_templates"
COMMANDS = {
    "acknowledge": "ascolto alerts acknowledge {id}",
    "dismiss": "ascolto alerts dismiss {id}",
    "resolve": "ascolto alerts resolve {id}",
}
REPRESENTATIVES = 3
QUOTE_LIMIT = 280
# Alerts read per pass; open alerts are few (one per cluster and level).
SCAN_LIMIT = 1000

_ENV = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    extensions=["jinja2.ext.i18n"],
)
# Staff read alerts in `[language] default`; the words come from the app's catalogue.
_ENV.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
_ENV.filters["number"] = number
_ENV.globals["word"] = gettext


@dataclass(frozen=True)
class Target:
    """One place a team's notifications go."""

    channel: str
    recipient: str

    @property
    def label(self) -> str:
        """How the target appears in idempotency keys: `email:ops@acme.example`."""
        return f"{self.channel}:{self.recipient}"


@dataclass
class NotifyReport:
    """What one notification pass enqueued."""

    messages: int = 0
    digests: int = 0
    unrouted: int = 0
    """Open alerts of products with no team (stored and shown, not sent)."""
    superseded: int = 0
    """Open alerts not sent because their cluster has a higher level open."""
    snoozed: int = 0
    """Open alerts of snoozed clusters."""
    held: int = 0
    """Alerts held back by the per-product pace (sent by a later pass)."""


@dataclass(frozen=True)
class Rendered:
    """An alert or digest, ready for every channel."""

    subject: str
    text: str
    html: str
    blocks: list[dict[str, Any]]
    data: dict[str, Any]


def targets(team: TeamSettings) -> list[Target]:
    """Where `team`'s notifications go: each address, its Slack, its webhook."""
    found = [Target("email", address) for address in dict.fromkeys(team.emails)]
    if team.slack_webhook_secret:
        found.append(Target("slack", team.name))
    if team.webhook_url:
        found.append(Target("webhook", team.name))
    return found


def alert_key(alert: Alert, target: Target) -> str:
    """The idempotency key of one alert level's notification to one target."""
    return f"alert:{alert.id}:{alert.level}:{target.label}"


def notify_alerts(
    settings: Settings, engine: Engine, *, now: datetime | None = None
) -> NotifyReport:
    """Enqueue the notifications that are due: one per open alert level and target, and
    the digests whose hour has passed. Repeating a pass enqueues nothing new."""
    now = now or utcnow()
    report = NotifyReport()
    owners = {p.name: settings.team(p.team) for p in settings.products if p.team}
    with session_scope(engine) as session:
        names = product_names(session)
        alerts = list_alerts(session, statuses=["open"], limit=SCAN_LIMIT)
        known = keys_for_alerts(session, [a.id for a in alerts if a.id is not None])
        top: dict[int, Alert] = {}
        for alert in alerts:
            if alert.cluster_id not in top or alert.level > top[alert.cluster_id].level:
                top[alert.cluster_id] = alert
        report.superseded = len(alerts) - len(top)
        pace = timedelta(hours=settings.defect_notices.min_hours_per_product)
        base = settings.web.public_url
        for alert in sorted(top.values(), key=lambda a: a.id or 0):
            team = owners.get(names.get(alert.product_id, ""))
            if team is None:
                report.unrouted += 1
                continue
            if team.digest:
                continue
            cluster = session.get(DefectCluster, alert.cluster_id)
            if cluster is not None and cluster.snoozed_until and cluster.snoozed_until > now:
                report.snoozed += 1
                continue
            due = [t for t in targets(team) if alert_key(alert, t) not in known]
            if not due:
                continue
            last = _last_notice(session, alert.product_id, but=alert.cluster_id)
            if last is not None and now - last < pace:
                report.held += 1
                continue
            rendered = render_alert(
                session,
                alert,
                names.get(alert.product_id, "?"),
                base,
                language=settings.language.default,
            )
            for target in due:
                _enqueue(session, alert_key(alert, target), target, rendered, "alert", alert)
                report.messages += 1
            session.flush()
        for team in settings.teams:
            if team.digest:
                report.digests += _digest(session, settings, team, names, now)
    if report.messages or report.digests:
        log.info(
            "enqueued %d alert notification(s) and %d digest(s)",
            report.messages,
            report.digests,
        )
    return report


def _last_notice(session: Session, product_id: int, *, but: int) -> datetime | None:
    """When the latest notice about another cluster of the product was enqueued (a
    cluster's own escalation is never held back by its earlier notice)."""
    found = session.exec(
        select(func.max(OutboxMessage.created_at))
        .join(Alert, col(Alert.id) == OutboxMessage.alert_id)
        .where(Alert.product_id == product_id)
        .where(Alert.cluster_id != but)
        .where(OutboxMessage.kind == "alert")
    ).one()
    return found if isinstance(found, datetime) else None


def render_alert(
    session: Session,
    alert: Alert,
    product: str,
    base_url: str | None = None,
    *,
    language: str = "en",
) -> Rendered:
    """Text, HTML (escaped) and Slack blocks of one alert, in `language`."""
    view = _view(session, alert, product, base_url)
    with use_language(language):
        return Rendered(
            subject=_one_line(f"[ascolto] {view['title']}"),
            text=_ENV.get_template("alert.txt.j2").render(alert=view, language=language),
            html=_ENV.get_template("alert.html.j2").render(alert=view, language=language),
            blocks=_alert_blocks(view),
            data={"alert": view},
        )


def render_digest(
    team: str, day: str, views: list[dict[str, Any]], *, language: str = "en"
) -> Rendered:
    """Text, HTML (escaped) and Slack blocks of a team's daily digest, in `language`."""
    with use_language(language):
        heading = gettext(
            "Defect alerts for %(team)s on %(day)s: %(count)s",
            team=team,
            day=day,
            count=len(views),
        )
        blocks: list[dict[str, Any]] = [_header(heading)]
        for view in views:
            blocks += _alert_blocks(view)[1:]
            blocks.append({"type": "divider"})
        values = {"team": team, "day": day, "alerts": views, "language": language}
        subject = ngettext(
            "[ascolto] %(num)s defect alert for %(team)s on %(day)s",
            "[ascolto] %(num)s defect alerts for %(team)s on %(day)s",
            len(views),
            team=team,
            day=day,
        )
        return Rendered(
            subject=_one_line(subject),
            text=_ENV.get_template("digest.txt.j2").render(**values),
            html=_ENV.get_template("digest.html.j2").render(**values),
            blocks=blocks[:50],
            data={"team": team, "day": day, "alerts": views},
        )


def _digest(
    session: Session,
    settings: Settings,
    team: TeamSettings,
    names: dict[int, str],
    now: datetime,
) -> int:
    """The team's latest digest, if its hour has passed and it has not been enqueued."""
    zone = ZoneInfo(team.timezone)
    local = now.astimezone(zone)
    day = local.date() if local.hour >= team.digest_hour else local.date() - timedelta(days=1)
    end = datetime.combine(day, time(team.digest_hour), zone)
    start = end - timedelta(days=1)
    keys = {t: _digest_key(team, day.isoformat(), t) for t in targets(team)}
    taken = existing_keys(session, list(keys.values()))
    due = [t for t, key in keys.items() if key not in taken]
    if not due:
        return 0
    products = {p.name for p in settings.products if p.team == team.name}
    alerts = [
        a
        for a in list_alerts(session, limit=SCAN_LIMIT)
        if names.get(a.product_id) in products and start <= a.created_at < end
    ]
    if not alerts:
        return 0
    base = settings.web.public_url
    views = [_view(session, a, names.get(a.product_id, "?"), base) for a in reversed(alerts)]
    rendered = render_digest(team.name, day.isoformat(), views, language=settings.language.default)
    for target in due:
        _enqueue(session, keys[target], target, rendered, "digest")
    return 1


def _digest_key(team: TeamSettings, day: str, target: Target) -> str:
    return f"digest:{team.name}:{day}:{target.label}"


def _enqueue(
    session: Session,
    key: str,
    target: Target,
    rendered: Rendered,
    kind: str,
    alert: Alert | None = None,
) -> None:
    payload: dict[str, Any] = (
        {"blocks": rendered.blocks} if target.channel == "slack" else dict(rendered.data)
    )
    enqueue(
        session,
        key=key,
        channel=target.channel,
        recipient=target.recipient,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html if target.channel == "email" else None,
        payload=payload,
        kind=kind,
        alert_id=alert.id if alert is not None else None,
    )


def _view(
    session: Session, alert: Alert, product: str, base_url: str | None = None
) -> dict[str, Any]:
    """What the templates and the webhook show of an alert (plain JSON-able values)."""
    evidence = alert.evidence or {}
    cluster = session.get(DefectCluster, alert.cluster_id)
    growth = _mapping(evidence.get("growth"))
    sources = _mapping(evidence.get("sources"))
    mentions = []
    for sample in (evidence.get("representatives") or [])[:REPRESENTATIVES]:
        if not isinstance(sample, dict):
            continue
        mention_id = sample.get("mention_id")
        row = session.get(Mention, mention_id) if isinstance(mention_id, int) else None
        text = str(sample.get("text") or (row.text if row else ""))
        mentions.append(
            {
                "id": mention_id,
                "text": _quote(text),
                "url": _safe_url(row.url if row else None),
            }
        )
    ratio = growth.get("ratio")
    return {
        "id": alert.id,
        "cluster_id": alert.cluster_id,
        "title": alert.title,
        "product": product,
        "level": alert.level,
        "status": alert.status,
        "summary": alert.summary,
        "created_at": alert.created_at.isoformat(),
        "size": _int(evidence.get("size")),
        "authors": _int(evidence.get("authors")),
        "growth": {
            "recent": _int(growth.get("recent")),
            "previous": _int(growth.get("previous")),
            "ratio": float(ratio) if isinstance(ratio, int | float) else None,
            "daily": _mapping(growth.get("daily")),
        },
        "sources": [
            {"name": str(name), "count": _int(count)}
            for name, count in sorted(sources.items(), key=lambda kv: -_int(kv[1]))
        ],
        "keywords": [str(k) for k in evidence.get("keywords") or []][:10],
        "mentions": mentions,
        "commands": {name: command.format(id=alert.id) for name, command in COMMANDS.items()},
        "url": f"{base_url.rstrip('/')}/clusters/{alert.cluster_id}" if base_url else None,
        "ticket_url": _safe_url(cluster.ticket_url) if cluster is not None else None,
        "changes": _changes(session, alert),
        "rate": rate_line(_mapping(evidence.get("rates")) or None),
        "blind": blind_line(evidence.get("blind") or []),
    }


def _changes(session: Session, alert: Alert) -> str:
    """What changed since the cluster's last notified alert ("" for the first notice)."""
    earlier = [
        a
        for a in list_alerts(session, cluster_id=alert.cluster_id, limit=100)
        if (a.id or 0) < (alert.id or 0)
    ]
    sent = keys_for_alerts(session, [a.id for a in earlier if a.id is not None])
    notified = [a for a in earlier if any(k.startswith(f"alert:{a.id}:") for k in sent)]
    if not notified:
        return ""
    last = max(notified, key=lambda a: a.id or 0)
    was, now = last.evidence or {}, alert.evidence or {}
    parts = [
        f"level {last.level} to {alert.level}",
        f"mentions {_int(was.get('size'))} to {_int(now.get('size'))}",
        f"authors {_int(was.get('authors'))} to {_int(now.get('authors'))}",
    ]
    old_rate = _mapping(was.get("rates")).get("per_1000")
    new_rate = _mapping(now.get("rates")).get("per_1000")
    if isinstance(old_rate, int | float) and isinstance(new_rate, int | float):
        parts.append(f"rate {old_rate:.2f} to {new_rate:.2f} per 1,000 units")
    when = last.created_at.strftime("%Y-%m-%d %H:%M")
    return f"Since the last notice (alert {last.id}, {when} UTC): " + ", ".join(parts) + "."


def _alert_blocks(view: dict[str, Any]) -> list[dict[str, Any]]:
    growth = view["growth"]
    ratio = f" ({growth['ratio']:.1f}x)" if growth["ratio"] is not None else ""
    size = gettext(
        "%(size)s from %(authors)s author(s)", size=view["size"], authors=view["authors"]
    )
    grew = gettext(
        "%(recent)s recently vs %(previous)s before",
        recent=growth["recent"],
        previous=growth["previous"],
    )
    facts = [
        f"*{gettext('Product')}:* {escape_mrkdwn(view['product'])}",
        f"*{gettext('Level')}:* {view['level']}",
        f"*{gettext('Mentions')}:* {size}",
        f"*{gettext('Growth')}:* {grew}{ratio}",
    ]
    if view["sources"]:
        listed = ", ".join(f"{escape_mrkdwn(s['name'])} {s['count']}" for s in view["sources"])
        facts.append(f"*{gettext('Sources')}:* {listed}")
    if view["keywords"]:
        facts.append(f"*{gettext('Keywords')}:* {escape_mrkdwn(', '.join(view['keywords']))}")
    for line in (view.get("changes"), view.get("rate"), view.get("blind")):
        if line:
            facts.append(escape_mrkdwn(line))
    if view.get("url"):
        page = gettext("Open the cluster's page")
        facts.append(f"<{_slack_url(view['url'])}|{page}>")
    if view.get("ticket_url"):
        ticket = gettext("Ticket")
        facts.append(
            f"*{ticket}:* <{_slack_url(view['ticket_url'])}|{escape_mrkdwn(view['ticket_url'])}>"
        )
    blocks: list[dict[str, Any]] = [
        _header(view["title"]),
        {"type": "section", "text": {"type": "mrkdwn", "text": _cap("\n".join(facts))}},
    ]
    for mention in view["mentions"]:
        link = (
            f" <{_slack_url(mention['url'])}|{gettext('open the original')}>"
            if mention["url"]
            else ""
        )
        quoted = f"> {escape_mrkdwn(mention['text'])}{link}"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _cap(quoted)}})
    commands = view["commands"]
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"`{commands['acknowledge']}` · `{commands['dismiss']}`",
                }
            ],
        }
    )
    return blocks


def _header(text: str) -> dict[str, Any]:
    # plain_text is never parsed for links or mentions; Slack caps headers at 150.
    return {"type": "header", "text": {"type": "plain_text", "text": _one_line(text)[:150]}}


def _cap(text: str, limit: int = 2900) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= QUOTE_LIMIT else text[: QUOTE_LIMIT - 1] + "…"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _safe_url(url: str | None) -> str | None:
    """Only web links become links: a `javascript:` URL from a hostile source never does."""
    if not url or urlsplit(url).scheme.lower() not in ("http", "https"):
        return None
    return url


def _slack_url(url: str) -> str:
    # `|` and `>` would end Slack's <url|label> early.
    return quote(url, safe=":/?#[]@!$&'()*+,;=%~")


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) else 0


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
