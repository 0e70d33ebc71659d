"""Draft quality: the share of drafts agents send as drafted, over time and per group."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from ascolto.web.charts import Series, stacked_bars
from ascolto.web.deps import AppEngine, CurrentViewer, csrf_protect
from ascolto.web.templating import render
from outreach.approval import GROUPINGS, LIGHT_EDIT, OUTCOMES, ApprovalReport, approval_report
from storage.types import utcnow

router = APIRouter(tags=["drafts"], dependencies=[Depends(csrf_protect)])
WINDOWS = (30, 90, 365)
Days = Annotated[int, Query(ge=7, le=3660, description="How many days back the figures go.")]
# How each outcome is named on the page, in the order the bars stack.
OUTCOME_NAMES = {
    "unedited": "sent unedited",
    "light": "lightly edited",
    "rewritten": "rewritten",
    "rejected": "rejected",
}


def _report(engine: Any, days: int) -> ApprovalReport:
    now = utcnow()
    with Session(engine) as session:
        return approval_report(session, since=now - timedelta(days=days), until=now)


def chart(report: ApprovalReport) -> Any:
    """Decided drafts per week, stacked by what became of them."""
    labels = [w.group[5:] for w in report.weeks]
    series = [Series(OUTCOME_NAMES[o], [getattr(w, o) for w in report.weeks]) for o in OUTCOMES]
    return stacked_bars(
        "approval-weeks", labels, series, title="Drafts decided per week, by what agents did"
    )


@router.get("/drafts/quality", response_class=HTMLResponse, summary="Draft quality")
def quality_page(
    request: Request, engine: AppEngine, viewer: CurrentViewer, days: Days = 90
) -> HTMLResponse:
    report = _report(engine, days)
    return render(
        request,
        "draft_quality.html",
        {
            "report": report,
            "days": days,
            "windows": WINDOWS,
            "chart": chart(report),
            "groupings": GROUPINGS,
            "outcomes": OUTCOME_NAMES,
            "light_edit": round(LIGHT_EDIT * 100),
        },
    )


@router.get("/api/v1/drafts/quality", summary="Approval without edit, per group and week")
def quality_api(engine: AppEngine, viewer: CurrentViewer, days: Days = 90) -> dict[str, Any]:
    return _report(engine, days).as_dict()
