"""The settings in force (secrets hidden) and the audit log."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from ascolto.web.deps import AppEngine, AppSettings, Viewer, csrf_protect, require
from ascolto.web.params import MAX_ID
from ascolto.web.templating import render
from storage.audit_search import audit_events
from storage.models import AuditEvent

router = APIRouter(tags=["administration"], dependencies=[Depends(csrf_protect)])
Admin = Annotated[Viewer, Depends(require("admin"))]
Supervisor = Annotated[Viewer, Depends(require("supervisor"))]
HIDDEN = "(hidden)"
SECRET_KEYS = ("password", "secret_key", "token", "api_key", "apikey")
# user:password@ in a URL (a database URL, say).
URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):[^@/\s]+@", re.I)
PAGE = 100
Text = Annotated[str | None, Query(max_length=200)]


def hide_secrets(value: Any, key: str = "") -> Any:
    """A copy of the settings with every secret replaced: secret-looking keys (a secret's
    *name*, such as `webhook_secret`, is not a secret), and passwords inside URLs."""
    if isinstance(value, dict):
        return {k: hide_secrets(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [hide_secrets(v, key) for v in value]
    lowered = key.lower()
    if value is not None and any(s in lowered for s in SECRET_KEYS):
        return HIDDEN
    if isinstance(value, str):
        return URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:{HIDDEN}@", value)
    return value


def settings_view(settings: Any) -> dict[str, Any]:
    """The settings as JSON, secrets hidden."""
    shown: dict[str, Any] = hide_secrets(settings.model_dump(mode="json"))
    return shown


@router.get("/settings", response_class=HTMLResponse, summary="The settings in force")
def settings_page(request: Request, settings: AppSettings, viewer: Admin) -> HTMLResponse:
    return render(request, "settings.html", {"sections": settings_view(settings)})


@router.get("/api/v1/settings", summary="The settings in force, secrets hidden")
def settings_api(settings: AppSettings, viewer: Admin) -> dict[str, Any]:
    return settings_view(settings)


def event_json(event: AuditEvent) -> dict[str, Any]:
    """An audit event as JSON."""
    return {
        "id": event.id,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "action": event.action,
        "subject_type": event.subject_type,
        "subject_id": event.subject_id,
        "details": event.details,
    }


def _events(
    engine: Any,
    actor: str | None,
    action: str | None,
    subject_type: str | None,
    before: int | None,
    limit: int,
) -> list[AuditEvent]:
    with Session(engine) as session:
        return list(
            audit_events(
                session,
                actor=actor or None,
                action=action or None,
                subject_type=subject_type or None,
                before_id=before,
                limit=limit,
            )
        )


Before = Annotated[int | None, Query(ge=1, le=MAX_ID)]


@router.get("/audit", response_class=HTMLResponse, summary="The audit log")
def audit_page(
    request: Request,
    engine: AppEngine,
    viewer: Supervisor,
    actor: Text = None,
    action: Text = None,
    subject_type: Text = None,
    before: Before = None,
) -> HTMLResponse:
    events = _events(engine, actor, action, subject_type, before, PAGE + 1)
    more = len(events) > PAGE
    events = events[:PAGE]
    return render(
        request,
        "audit.html",
        {
            "events": events,
            "filters": {
                "actor": actor or "",
                "action": action or "",
                "subject_type": subject_type or "",
            },
            "next_before": events[-1].id if more and events else None,
        },
    )


@router.get("/api/v1/audit", summary="The audit log, newest first")
def audit_api(
    engine: AppEngine,
    viewer: Supervisor,
    actor: Text = None,
    action: Text = None,
    subject_type: Text = None,
    before: Before = None,
    limit: Annotated[int, Query(ge=1, le=500)] = PAGE,
) -> list[dict[str, Any]]:
    return [event_json(e) for e in _events(engine, actor, action, subject_type, before, limit)]
