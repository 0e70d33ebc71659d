"""Sources and their health: last run, errors, items stored per day."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from ascolto.localization import gettext, short_day
from ascolto.web.charts import day_series, stacked_bars
from ascolto.web.deps import AppEngine, AppSettings, CurrentViewer, csrf_protect
from ascolto.web.templating import render
from storage.dashboard import items_per_day, runs_with_errors
from storage.runs import SourceHealth, source_health
from storage.types import utcnow

router = APIRouter(tags=["sources"], dependencies=[Depends(csrf_protect)])
DAYS = 14


def health_json(health: SourceHealth, interval: int | None) -> dict[str, Any]:
    """A source's health as JSON; unknown figures stay null, never zero."""
    return {
        "name": health.name,
        "kind": health.kind,
        "enabled": health.enabled,
        "interval": interval,
        "working": health.working,
        "last_status": health.last_status,
        "last_started": health.last_started.isoformat() if health.last_started else None,
        "last_finished": health.last_finished.isoformat() if health.last_finished else None,
        "last_success": health.last_success.isoformat() if health.last_success else None,
        "last_new": health.last_new,
        "last_error": health.last_error,
        "consecutive_failures": health.consecutive_failures,
        "mentions": health.mentions,
        "orders": health.orders,
    }


def _since(now: datetime) -> datetime:
    first = now.date() - timedelta(days=DAYS - 1)
    return datetime.combine(first, datetime.min.time(), tzinfo=now.tzinfo)


@router.get("/sources", response_class=HTMLResponse, summary="Status of every source")
def sources_page(
    request: Request, engine: AppEngine, settings: AppSettings, viewer: CurrentViewer
) -> HTMLResponse:
    since = _since(utcnow())
    with Session(engine) as session:
        sources = source_health(session)
        per_day = items_per_day(session, since=since)
        errors = runs_with_errors(session, since=since)
    days = [since.date() + timedelta(days=i) for i in range(DAYS)]
    counts = {(c.day, c.group): c.count for c in per_day}
    names = sorted({c.group for c in per_day})
    chart = stacked_bars(
        "items-per-day",
        [short_day(d) for d in days],
        day_series(days, counts, names),
        title=gettext("New items stored per day, last %(days)s days", days=DAYS),
    )
    return render(
        request,
        "sources.html",
        {
            "sources": sources,
            "intervals": {s.name: s.interval for s in settings.sources},
            "errors": errors,
            "chart": chart if names else None,
            "days": DAYS,
        },
    )


@router.get("/api/v1/sources", summary="Health of every source")
def sources_api(
    engine: AppEngine, settings: AppSettings, viewer: CurrentViewer
) -> list[dict[str, Any]]:
    intervals = {s.name: s.interval for s in settings.sources}
    with Session(engine) as session:
        return [health_json(h, intervals.get(h.name)) for h in source_health(session)]
