"""Check-in campaigns for marketers: list, create, edit, preview, pause, resume, reports.

Every change goes through `outreach.campaigns.definition` (validated there, audited
there); campaigns from the settings file are shown but changed only in the file.
"""

from __future__ import annotations

import io
from dataclasses import replace
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from sqlmodel import Session
from starlette.datastructures import FormData

from ascolto.settings import CampaignSettings, Settings
from ascolto.web.contact import shown_to
from ascolto.web.deps import AppEngine, AppSettings, Viewer, csrf_protect, require
from ascolto.web.templating import render
from outreach.campaigns.definition import (
    APP,
    ActiveCampaign,
    CampaignError,
    pause_campaign,
    save_campaign,
    sync_campaigns,
)
from outreach.campaigns.preview import Entry, preview
from outreach.campaigns.reports import By, figures, write_csv
from storage import campaigns as store
from storage.campaigns import report_rows
from storage.db import session_scope
from storage.errors import SettingsError

router = APIRouter(tags=["campaigns"], dependencies=[Depends(csrf_protect)])
Marketer = Annotated[Viewer, Depends(require("marketer"))]
CampaignName = Annotated[str, Path(max_length=200, pattern=r"^[A-Za-z0-9._-]+$")]
Grouping = Annotated[Literal["campaign", "product", "week"], Query()]
TRIGGERS = ("delivered", "shipped", "first_order", "repeat_order", "return")
LIST_FIELDS = ("countries", "languages")
NUMBER_FIELDS = ("min_total", "max_total")
INT_FIELDS = ("contact_gap_days", "late_days", "link_days")
TEXT_FIELDS = (
    "name",
    "trigger",
    "delay",
    "currency",
    "template",
    "send_from",
    "send_until",
    "timezone",
    "starts_on",
    "ends_on",
    "review_url",
)
BOOL_FIELDS = ("require_consent", "follow_up")


def definition_from_form(form: FormData) -> dict[str, Any]:
    """A `[[campaigns]]` table from the campaign form; validation is left to the model."""

    def text(name: str) -> str:
        value = form.get(name)
        return value.strip() if isinstance(value, str) else ""

    definition: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        if text(name):
            definition[name] = text(name)
    for name in NUMBER_FIELDS + INT_FIELDS:
        if text(name):
            definition[name] = text(name)
    for name in LIST_FIELDS:
        definition[name] = [p.strip() for p in text(name).replace(";", ",").split(",") if p.strip()]
    for name in BOOL_FIELDS:
        definition[name] = text(name) == "on"
    definition["products"] = [str(v) for v in form.getlist("products") if v]
    definition["survey"] = [str(v) for v in form.getlist("survey") if v]
    buyer = text("first_time_buyer")
    definition["first_time_buyer"] = {"first": True, "repeat": False}.get(buyer)
    return definition


def form_values(config: CampaignSettings | None) -> dict[str, Any]:
    """The form's fields for an existing campaign, or the defaults for a new one."""
    data = (config or CampaignSettings.model_construct(name="")).model_dump(mode="json")
    if config is None:
        defaults = {n: f.default for n, f in CampaignSettings.model_fields.items() if n != "name"}
        data = {**defaults, "name": "", "products": [], "countries": [], "languages": []}
        data["survey"] = ["csat"]
    data["countries"] = ", ".join(data.get("countries") or [])
    data["languages"] = ", ".join(data.get("languages") or [])
    buyer = data.get("first_time_buyer")
    data["first_time_buyer"] = "" if buyer is None else ("first" if buyer else "repeat")
    return {k: ("" if v is None else v) for k, v in data.items()}


def _campaigns(session: Session, settings: Settings) -> tuple[list[ActiveCampaign], str | None]:
    try:
        return sync_campaigns(session, settings), None
    except SettingsError as exc:
        rows = store.list_campaigns(session, active_only=True)
        return [ActiveCampaign.from_row(r) for r in rows], str(exc)


def _find(session: Session, settings: Settings, name: str) -> tuple[ActiveCampaign, str]:
    """The campaign and where it is defined (settings or app); 404 when unknown."""
    campaigns, _ = _campaigns(session, settings)
    found = next((c for c in campaigns if c.name == name), None)
    if found is None:
        raise HTTPException(404, f"no campaign named {name!r}")
    row = store.get_campaign(session, name)
    return found, row.origin if row else "settings"


def _form_page(
    request: Request,
    settings: Settings,
    values: dict[str, Any],
    *,
    editing: bool,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "campaign_form.html",
        {
            "values": values,
            "editing": editing,
            "error": error,
            "triggers": TRIGGERS,
            "products": [p.name for p in settings.products],
        },
        status_code=status_code,
    )


@router.get("/campaigns", response_class=HTMLResponse, summary="Campaigns and their reports")
def campaigns_page(
    request: Request, engine: AppEngine, settings: AppSettings, viewer: Marketer
) -> HTMLResponse:
    with session_scope(engine) as session:
        campaigns, problem = _campaigns(session, settings)
        origins = {r.name: r.origin for r in store.list_campaigns(session)}
        counts = {c.name: store.status_counts(session, campaign_id=c.id) for c in campaigns}
        table = figures(report_rows(session), by="campaign")
    return render(
        request,
        "campaigns.html",
        {
            "campaigns": campaigns,
            "origins": origins,
            "counts": counts,
            "table": table,
            "problem": problem,
        },
    )


@router.get("/campaigns/new", response_class=HTMLResponse, summary="Form for a new campaign")
def new_campaign(request: Request, settings: AppSettings, viewer: Marketer) -> HTMLResponse:
    return _form_page(request, settings, form_values(None), editing=False)


@router.post("/campaigns", summary="Create or update a campaign from the form")
async def save_campaign_form(
    request: Request, engine: AppEngine, settings: AppSettings, viewer: Marketer
) -> Response:
    form = await request.form()
    definition = definition_from_form(form)
    editing = form.get("editing") == "1"
    try:
        with session_scope(engine) as session:
            if not editing and store.get_campaign(session, str(definition.get("name"))):
                raise CampaignError(f"a campaign named {definition.get('name')!r} already exists")
            saved = save_campaign(session, settings, definition, by=viewer.username)
    except CampaignError as exc:
        values = {**form_values(None), **{k: v for k, v in form.items() if k != "csrf_token"}}
        values["products"] = definition["products"]
        values["survey"] = definition["survey"]
        for name in BOOL_FIELDS:
            values[name] = definition[name]
        return _form_page(
            request, settings, values, editing=editing, error=str(exc), status_code=422
        )
    return RedirectResponse(f"/campaigns/{saved.name}?saved=1", status_code=303)


@router.get("/campaigns/report.csv", summary="Campaign reports as CSV")
def report_csv(engine: AppEngine, viewer: Marketer, by: Grouping = "campaign") -> Response:
    with Session(engine) as session:
        table = figures(report_rows(session), by=by)
    handle = io.StringIO()
    write_csv(handle, table, by=by)
    return PlainTextResponse(
        handle.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="checkins-by-{by}.csv"'},
    )


@router.get(
    "/campaigns/{name}", response_class=HTMLResponse, summary="One campaign and its preview"
)
def campaign_page(
    request: Request, name: CampaignName, engine: AppEngine, settings: AppSettings, viewer: Marketer
) -> HTMLResponse:
    with session_scope(engine) as session:
        campaign, origin = _find(session, settings, name)
        counts = store.status_counts(session, campaign_id=campaign.id)
        weeks = figures(report_rows(session, campaigns=[name]), by="week")
    shown = preview(settings, engine, name)
    return render(
        request,
        "campaign.html",
        {
            "campaign": campaign,
            "origin": origin,
            "counts": counts,
            "weeks": weeks,
            "preview": shown,
            "entries": [_as_seen(viewer, e) for e in shown.entries[:200]],
            "saved": request.query_params.get("saved"),
            "changed": request.query_params.get("changed"),
        },
    )


@router.get(
    "/campaigns/{name}/edit", response_class=HTMLResponse, summary="Form to edit a campaign"
)
def edit_campaign(
    request: Request, name: CampaignName, engine: AppEngine, settings: AppSettings, viewer: Marketer
) -> HTMLResponse:
    with session_scope(engine) as session:
        campaign, origin = _find(session, settings, name)
    if origin != APP:
        raise HTTPException(
            409, f"campaign {name!r} is defined in the settings file; change it there"
        )
    return _form_page(request, settings, form_values(campaign.config), editing=True)


@router.post("/campaigns/{name}/{action}", summary="Pause or resume a campaign")
def pause_form(
    name: CampaignName,
    action: Literal["pause", "resume"],
    engine: AppEngine,
    settings: AppSettings,
    viewer: Marketer,
) -> Response:
    try:
        with session_scope(engine) as session:
            pause_campaign(session, settings, name, paused=action == "pause", by=viewer.username)
    except CampaignError as exc:
        raise HTTPException(404, str(exc)) from None
    return RedirectResponse(f"/campaigns/{name}?changed={action}", status_code=303)


# -- JSON API --------------------------------------------------------------------------------


def _campaign_json(campaign: ActiveCampaign, counts: dict[str, int]) -> dict[str, Any]:
    return {
        "name": campaign.name,
        "paused": campaign.paused,
        "definition": campaign.config.model_dump(mode="json"),
        "checkins": counts,
    }


@router.get("/api/v1/campaigns", summary="Campaigns with their check-ins per status")
def campaigns_api(
    engine: AppEngine, settings: AppSettings, viewer: Marketer
) -> list[dict[str, Any]]:
    with session_scope(engine) as session:
        campaigns, _ = _campaigns(session, settings)
        return [
            _campaign_json(c, store.status_counts(session, campaign_id=c.id)) for c in campaigns
        ]


@router.get("/api/v1/campaigns/report", summary="CSAT, NPS and response rate by group")
def report_api(
    engine: AppEngine, viewer: Marketer, by: Grouping = "campaign"
) -> list[dict[str, Any]]:
    grouping: By = by
    with Session(engine) as session:
        return [f.row() for f in figures(report_rows(session), by=grouping)]


@router.get("/api/v1/campaigns/{name}/preview", summary="Who would get which check-in, and when")
def preview_api(
    name: CampaignName, engine: AppEngine, settings: AppSettings, viewer: Marketer
) -> dict[str, Any]:
    with session_scope(engine) as session:
        _find(session, settings, name)
    shown = preview(settings, engine, name)
    return {
        "campaign": shown.campaign,
        "paused": shown.paused,
        "problems": shown.problems,
        "outside_segment": dict(shown.outside),
        "entries": [
            {
                "order": e.order,
                "customer": shown_to(viewer, e.customer),
                "language": e.language,
                "due_at": e.due_at.isoformat(),
                "timezone": e.timezone,
                "outcome": e.outcome,
                "reason": e.reason,
                "details": shown_to(viewer, e.details) if e.details else e.details,
                "subject": e.subject,
            }
            for e in shown.entries
        ],
    }


def _as_seen(viewer: Viewer, entry: Entry) -> Entry:
    """A preview entry with contact details masked for roles that do not write to people."""
    details = shown_to(viewer, entry.details) if entry.details else entry.details
    return replace(entry, customer=shown_to(viewer, entry.customer), details=details)
