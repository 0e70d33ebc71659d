"""The overview: the numbers of customer care at a glance, for every signed-in role."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from ascolto.localization import gettext, short_day
from ascolto.settings import Settings
from ascolto.web.charts import Series, day_series, stacked_bars, target_bars
from ascolto.web.deps import AppEngine, AppSettings, CurrentViewer, csrf_protect
from ascolto.web.templating import render
from outreach.campaigns.reports import Figures, figures
from outreach.metrics import ResponseMetrics
from storage.blind_spots import blind_windows, unknown_days
from storage.campaigns import report_rows
from storage.dashboard import (
    DayCount,
    active_alerts,
    case_times,
    mentions_per_day,
    open_complaints,
)
from storage.defects import product_names
from storage.models import Alert
from storage.types import utcnow

router = APIRouter(tags=["overview"], dependencies=[Depends(csrf_protect)])
SENTIMENTS = ("negative", "neutral", "positive", "unlabelled")
WINDOWS = (7, 30, 90)
Days = Annotated[int, Query(ge=1, le=366, description="How many days back the figures go.")]


@dataclass(frozen=True)
class Overview:
    """Everything the overview shows, for `days` days up to `now`."""

    days: int
    since: datetime
    day_list: list[date]
    by_sentiment: list[DayCount]
    by_source: list[DayCount]
    open_complaints: int
    response: ResponseMetrics
    target_minutes: int
    surveys: Figures
    alert_count: int
    alerts: list[Alert]
    products: dict[int, str]
    unknown_days: dict[str, list[str]] = field(default_factory=dict)
    """UTC day (ISO) -> sources down that day: its counts are unknown, not zero."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "days": self.days,
            "since": self.since.isoformat(),
            "unknown_days": self.unknown_days,
            "mentions_by_sentiment": [
                {"day": c.day.isoformat(), "sentiment": c.group, "count": c.count}
                for c in self.by_sentiment
            ],
            "mentions_by_source": [
                {"day": c.day.isoformat(), "source": c.group, "count": c.count}
                for c in self.by_source
            ],
            "open_complaints": self.open_complaints,
            "response": self.response.as_dict(),
            "first_response_target_s": self.target_minutes * 60,
            "surveys": {
                "sent": self.surveys.sent,
                "answered": self.surveys.answered,
                "response_rate": self.surveys.response_rate,
                "csat": self.surveys.csat,
                "csat_answers": self.surveys.csat_answers,
                "nps": self.surveys.nps,
                "nps_answers": self.surveys.nps_answers,
            },
            "active_alerts": self.alert_count,
            "alerts": [
                {
                    "id": a.id,
                    "title": a.title,
                    "status": a.status,
                    "level": a.level,
                    "product": self.products.get(a.product_id),
                    "created_at": a.created_at.isoformat(),
                }
                for a in self.alerts
            ],
        }


def overview(session: Session, settings: Settings, *, days: int, now: datetime) -> Overview:
    """The overview's figures over the last `days` days (UTC, today included)."""
    first = now.date() - timedelta(days=days - 1)
    since = datetime.combine(first, datetime.min.time(), tzinfo=now.tzinfo)
    count, alerts = active_alerts(session)
    return Overview(
        days=days,
        since=since,
        day_list=[first + timedelta(days=i) for i in range(days)],
        by_sentiment=mentions_per_day(session, since=since, by="sentiment"),
        by_source=mentions_per_day(session, since=since, by="source"),
        open_complaints=open_complaints(session),
        response=_response(session, since),
        target_minutes=settings.outreach.first_response_target_minutes,
        surveys=figures(report_rows(session, since=since), by="campaign")[-1],
        alert_count=count,
        alerts=alerts,
        products=product_names(session) if alerts else {},
        unknown_days=unknown_days(blind_windows(session, since=since, until=now), since, now),
    )


def _response(session: Session, since: datetime) -> ResponseMetrics:
    """The same figures as `outreach.metrics.response_metrics`, computed in the database."""
    times = case_times(session, since=since)

    def pair(found: tuple[float, float] | None) -> tuple[timedelta | None, timedelta | None]:
        if found is None:
            return None, None
        return timedelta(seconds=found[0]), timedelta(seconds=found[1])

    frt_median, frt_p90 = pair(times.first_response)
    ttr_median, ttr_p90 = pair(times.resolution)
    return ResponseMetrics(
        since=since,
        cases=times.cases,
        responded=times.responded,
        resolved=times.resolved,
        first_response_median=frt_median,
        first_response_p90=frt_p90,
        resolution_median=ttr_median,
        resolution_p90=ttr_p90,
    )


def charts(view: Overview) -> dict[str, Any]:
    """The overview's charts as inline SVG."""
    labels = [short_day(d) for d in view.day_list]
    sentiment = {(c.day, c.group): c.count for c in view.by_sentiment}
    groups = [s for s in SENTIMENTS if any(c.group == s for c in view.by_sentiment)]
    source = {(c.day, c.group): c.count for c in view.by_source}
    totals: dict[str, int] = {}
    for c in view.by_source:
        totals[c.group] = totals.get(c.group, 0) + c.count
    sources = sorted(totals, key=lambda name: -totals[name])
    if len(sources) > 7:
        # The smaller sources share one series, so the legend stays readable.
        kept, rest = sources[:6], set(sources[6:])
        merged: dict[tuple[date, str], int] = {}
        for (day, name), n in source.items():
            key = (day, name if name not in rest else gettext("other sources"))
            merged[key] = merged.get(key, 0) + n
        source, sources = merged, [*kept, gettext("other sources")]
    minutes = [
        (gettext("median"), _minutes(view.response.first_response_median)),
        (gettext("90th percentile"), _minutes(view.response.first_response_p90)),
    ]
    unknown = [
        ", ".join(view.unknown_days.get(d.isoformat(), [])) + " down"
        if view.unknown_days.get(d.isoformat())
        else ""
        for d in view.day_list
    ]
    return {
        "sentiment_chart": stacked_bars(
            "by-sentiment",
            labels,
            [
                Series(gettext(s.name), s.values)
                for s in day_series(view.day_list, sentiment, groups)
            ],
            title=gettext("Mentions per day by sentiment"),
            unknown=unknown,
        ),
        "source_chart": stacked_bars(
            "by-source",
            labels,
            day_series(view.day_list, source, sources),
            title=gettext("Mentions per day by source"),
            unknown=unknown,
        ),
        "frt_chart": target_bars(
            "frt",
            minutes,
            target=view.target_minutes,
            unit=gettext("min"),
            title=gettext("First response time against the target"),
        ),
        "day_labels": [d.isoformat() for d in view.day_list],
        "series_tables": {
            "sentiment": day_series(view.day_list, sentiment, groups),
            "source": day_series(view.day_list, source, sources),
        },
    }


def _minutes(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / 60, 1)


@router.get("/", response_class=HTMLResponse, summary="Overview of customer care")
def overview_page(
    request: Request,
    engine: AppEngine,
    settings: AppSettings,
    viewer: CurrentViewer,
    days: Days = 30,
) -> HTMLResponse:
    with Session(engine) as session:
        view = overview(session, settings, days=days, now=utcnow())
    return render(
        request,
        "overview.html",
        {"view": view, "windows": WINDOWS, "minutes": _minutes, **charts(view)},
    )


@router.get("/api/v1/overview", summary="The overview's figures")
def overview_api(
    engine: AppEngine, settings: AppSettings, viewer: CurrentViewer, days: Days = 30
) -> dict[str, Any]:
    with Session(engine) as session:
        return overview(session, settings, days=days, now=utcnow()).as_dict()


__all__ = ["Overview", "Series", "overview", "router"]
