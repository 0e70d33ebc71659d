"""Defect clusters and their alerts: growth over time, keywords, example mentions, and
acknowledge / dismiss / resolve through `ascolto.defects.detection` (audited there)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine
from sqlmodel import Session

from ascolto.defects.detection import TransitionError, act_on_alert, act_on_cluster
from ascolto.defects.lifecycle import LifecycleError, link_ticket, snooze
from ascolto.defects.page import LANGUAGES, cluster_page_data
from ascolto.localization import N_, gettext, short_day
from ascolto.web.charts import Series, line_chart, stacked_bars
from ascolto.web.deps import AppEngine, Viewer, csrf_protect, require
from ascolto.web.params import Id
from ascolto.web.templating import render
from storage.dashboard import ACTIVE_ALERTS
from storage.defects import get_alert, get_cluster, list_alerts, list_clusters, product_names
from storage.models import Alert, DefectCluster
from storage.types import utcnow

router = APIRouter(tags=["defect clusters"], dependencies=[Depends(csrf_protect)])
# Care sees known problems; product teams decide on them.
Watcher = Annotated[Viewer, Depends(require("product", "agent"))]
Decider = Annotated[Viewer, Depends(require("product"))]
AlertAction = Literal["acknowledge", "dismiss", "resolve"]
ClusterAction = Literal["dismiss", "resolve"]
Reason = Annotated[str, Form(max_length=2000)]


def daily_counts(cluster: DefectCluster) -> list[tuple[date, int]]:
    """Members counted per day from the first to the last, days without any included."""
    raw = cluster.growth.get("daily", {}) if isinstance(cluster.growth, dict) else {}
    counts: dict[date, int] = {}
    for key, value in raw.items():
        try:
            counts[date.fromisoformat(str(key))] = int(value)
        except (TypeError, ValueError):
            continue
    if not counts:
        return []
    first, last = min(counts), max(counts)
    return [
        (first + timedelta(days=i), counts.get(first + timedelta(days=i), 0))
        for i in range((last - first).days + 1)
    ]


def growth_chart(cluster: DefectCluster, *, small: bool = False) -> Markup:
    """The cluster's members over time: running total and new per day."""
    days = daily_counts(cluster)
    labels = [short_day(d) for d, _ in days]
    total, running = [], 0
    for _, n in days:
        running += n
        total.append(running)
    series = [
        Series(gettext("total"), total),
        Series(gettext("new that day"), [n for _, n in days]),
    ]
    return line_chart(
        f"growth-{cluster.id}",
        labels,
        series,
        title=gettext("Growth of cluster %(id)s: %(title)s", id=cluster.id, title=cluster.title),
        width=360 if small else 620,
        height=120 if small else 200,
    )


def rate_chart(cluster: DefectCluster, page: dict[str, Any]) -> Markup:
    """Complaints per 1,000 units delivered per day (per day, without delivered orders),
    the days a source was down shaded as unknown, the launch and batch starts marked."""
    timeline = page["timeline"]
    labels = [date.fromisoformat(d["day"]).strftime("%d %b") for d in timeline]
    unknown = [
        ", ".join(d["sources_down"]) + " down" if d["sources_down"] else "" for d in timeline
    ]
    if any(v is not None for v in page["per_day"]):
        values = [v or 0.0 for v in page["per_day"]]
        name, title = "per 1,000 units delivered", "Complaints per 1,000 units delivered"
    else:
        values = [float(d["count"] or 0) for d in timeline]
        name, title = "complaints", "Complaints per day (no delivered orders stored)"
    return stacked_bars(
        f"rate-{cluster.id}",
        labels,
        [Series(name, values)],
        title=f"{title}: {cluster.title}",
        unknown=unknown,
        marks=page["marks"],
    )


def cluster_json(cluster: DefectCluster, product: str | None) -> dict[str, Any]:
    """A cluster as the API shows it."""
    return {
        "id": cluster.id,
        "product": product,
        "title": cluster.title,
        "status": cluster.status,
        "level": cluster.level,
        "size": cluster.size,
        "authors": cluster.authors,
        "keywords": list(cluster.keywords),
        "sources": dict(cluster.sources),
        "daily": {d.isoformat(): n for d, n in daily_counts(cluster)},
        "representatives": list(cluster.representatives),
        "first_at": cluster.first_at.isoformat(),
        "last_at": cluster.last_at.isoformat(),
    }


def alert_json(alert: Alert, product: str | None) -> dict[str, Any]:
    """An alert as the API shows it."""
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
    }


@router.get("/clusters", response_class=HTMLResponse, summary="Defect clusters and alerts")
def clusters_page(request: Request, engine: AppEngine, viewer: Watcher) -> HTMLResponse:
    with Session(engine) as session:
        clusters = list_clusters(session, limit=50)
        alerts = list_alerts(session, statuses=ACTIVE_ALERTS, limit=50)
        products = product_names(session)
    return render(
        request,
        "clusters.html",
        {
            "clusters": clusters,
            "alerts": alerts,
            "products": products,
            "charts": {c.id: growth_chart(c, small=True) for c in clusters},
            "may_decide": viewer.can("product"),
        },
    )


@router.get("/clusters/{cluster_id}", response_class=HTMLResponse, summary="One defect cluster")
def cluster_page(
    request: Request, cluster_id: Id, engine: AppEngine, viewer: Watcher
) -> HTMLResponse:
    with Session(engine) as session:
        cluster = get_cluster(session, cluster_id)
        if cluster is None:
            return _problem(request, f"There is no defect cluster {cluster_id}.", 404)
        alerts = list_alerts(session, cluster_id=cluster_id, limit=100)
        product = product_names(session).get(cluster.product_id, "?")
        page = cluster_page_data(session, cluster, utcnow())
    return render(
        request,
        "cluster.html",
        {
            "cluster": cluster,
            "alerts": alerts,
            "product": product,
            "page": page,
            "rate_chart": rate_chart(cluster, page),
            "languages": LANGUAGES,
            "chart": growth_chart(cluster),
            "days": daily_counts(cluster),
            "may_decide": viewer.can("product"),
            "done": request.query_params.get("done"),
        },
    )


def _problem(request: Request, message: str, status: int) -> HTMLResponse:
    return render(
        request,
        "message.html",
        {"heading": N_("Cannot do that"), "message": message, "back": "/clusters"},
        status_code=status,
    )


def _alert_action(
    engine: Engine, alert_id: Id, action: AlertAction, viewer: Viewer, reason: str | None
) -> Alert:
    try:
        changed = act_on_alert(engine, alert_id, action, by=viewer.username, reason=reason)
    except LookupError:
        raise HTTPException(404, f"no alert {alert_id}") from None
    except TransitionError as exc:
        raise HTTPException(409, str(exc)) from None
    if changed:
        return changed[0]
    with Session(engine) as session:
        found = get_alert(session, alert_id)
    assert found is not None
    return found


@router.post("/alerts/{alert_id}/{action}", summary="Acknowledge, dismiss or resolve an alert")
def alert_form(
    request: Request,
    alert_id: Id,
    action: AlertAction,
    engine: AppEngine,
    viewer: Decider,
    reason: Reason = "",
) -> Response:
    try:
        alert = _alert_action(engine, alert_id, action, viewer, reason.strip() or None)
    except HTTPException as exc:
        return _problem(request, str(exc.detail), exc.status_code)
    return RedirectResponse(
        f"/clusters/{alert.cluster_id}?done={action}-alert-{alert_id}", status_code=303
    )


@router.post("/clusters/{cluster_id}/snooze", summary="Snooze a defect cluster's notices")
def snooze_form(
    request: Request,
    cluster_id: Id,
    engine: AppEngine,
    viewer: Decider,
    until: Annotated[str, Form(max_length=40)] = "",
    reason: Reason = "",
) -> Response:
    moment = None
    if until.strip():
        try:
            moment = datetime.fromisoformat(until.strip())
        except ValueError:
            return _problem(request, f"{until!r} is no date: use YYYY-MM-DD.", 422)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
    try:
        snooze(engine, cluster_id, moment, by=viewer.username, reason=reason.strip() or None)
    except LookupError:
        return _problem(request, f"There is no defect cluster {cluster_id}.", 404)
    except LifecycleError as exc:
        return _problem(request, str(exc), 422)
    done = "snooze" if moment else "wake"
    return RedirectResponse(f"/clusters/{cluster_id}?done={done}-cluster", status_code=303)


@router.post("/clusters/{cluster_id}/ticket", summary="Link a defect cluster to a ticket")
def ticket_form(
    request: Request,
    cluster_id: Id,
    engine: AppEngine,
    viewer: Decider,
    url: Annotated[str, Form(max_length=2100)] = "",
) -> Response:
    try:
        link_ticket(engine, cluster_id, url, by=viewer.username)
    except LookupError:
        return _problem(request, f"There is no defect cluster {cluster_id}.", 404)
    except LifecycleError as exc:
        return _problem(request, str(exc), 422)
    return RedirectResponse(f"/clusters/{cluster_id}?done=ticket-linked", status_code=303)


@router.post("/clusters/{cluster_id}/{action}", summary="Dismiss or resolve a defect cluster")
def cluster_form(
    request: Request,
    cluster_id: Id,
    action: ClusterAction,
    engine: AppEngine,
    viewer: Decider,
    reason: Reason = "",
) -> Response:
    try:
        act_on_cluster(
            engine, cluster_id, action, by=viewer.username, reason=reason.strip() or None
        )
    except LookupError:
        return _problem(request, f"There is no defect cluster {cluster_id}.", 404)
    except TransitionError as exc:
        return _problem(request, str(exc), 409)
    return RedirectResponse(f"/clusters/{cluster_id}?done={action}-cluster", status_code=303)


# -- JSON API --------------------------------------------------------------------------------


class ActionBody(BaseModel):
    """Why, in a few words (kept in the audit trail)."""

    reason: str | None = Field(None, max_length=2000)


@router.get("/api/v1/clusters", summary="Live defect clusters, most serious first")
def clusters_api(engine: AppEngine, viewer: Watcher) -> list[dict[str, Any]]:
    with Session(engine) as session:
        products = product_names(session)
        return [cluster_json(c, products.get(c.product_id)) for c in list_clusters(session)]


@router.get("/api/v1/clusters/{cluster_id}", summary="One defect cluster")
def cluster_api(cluster_id: Id, engine: AppEngine, viewer: Watcher) -> dict[str, Any]:
    with Session(engine) as session:
        cluster = get_cluster(session, cluster_id)
        if cluster is None:
            raise HTTPException(404, f"no defect cluster {cluster_id}")
        return cluster_json(cluster, product_names(session).get(cluster.product_id))


@router.get("/api/v1/alerts", summary="Open and acknowledged alerts, newest first")
def alerts_api(engine: AppEngine, viewer: Watcher) -> list[dict[str, Any]]:
    with Session(engine) as session:
        products = product_names(session)
        return [
            alert_json(a, products.get(a.product_id))
            for a in list_alerts(session, statuses=ACTIVE_ALERTS)
        ]


@router.post(
    "/api/v1/alerts/{alert_id}/{action}", summary="Acknowledge, dismiss or resolve an alert"
)
def alert_api(
    alert_id: Id,
    action: AlertAction,
    engine: AppEngine,
    viewer: Decider,
    body: Annotated[ActionBody | None, Body()] = None,
) -> dict[str, Any]:
    alert = _alert_action(engine, alert_id, action, viewer, body.reason if body else None)
    with Session(engine) as session:
        return alert_json(alert, product_names(session).get(alert.product_id))
