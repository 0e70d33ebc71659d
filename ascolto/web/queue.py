"""The review queue in the web app: the list, one draft, and the actions on it.

Each action is a plain form post answered with a redirect to the draft's page, which shows
what happened (read back from the audit trail) and the verdict as it now stands. The list
keeps itself current: /static/queue.js fetches /queue/rows every `[web]
queue_refresh_seconds` and swaps the rows in, without a reload.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.engine import Engine
from sqlmodel import Session

from ascolto.localization import N_
from ascolto.review.queue import (
    Decision,
    Reviewer,
    ReviewError,
    Reviewing,
    escalate,
    queue,
    reject,
    show,
)
from ascolto.runtime.jobs import deliver_soon
from ascolto.web.deps import AppEngine, AppSettings, Viewer, csrf_protect, require
from ascolto.web.links import safe_url
from ascolto.web.params import MAX_ID, Id
from ascolto.web.templating import render
from storage.db import session_scope
from storage.models import AuditEvent
from storage.review import draft_events

router = APIRouter(prefix="/queue", tags=["review queue"], dependencies=[Depends(csrf_protect)])
Agent = Annotated[Viewer, Depends(require("agent"))]
Reason = Annotated[str, Form(max_length=4000)]


def reviewer(viewer: Viewer) -> Reviewer:
    return Reviewer(username=viewer.username, role=viewer.role)


def reviewing(request: Request) -> Reviewing:
    """One Reviewing per app: the policy file is read once."""
    state = request.app.state
    if getattr(state, "reviewing", None) is None:
        state.reviewing = Reviewing(state.settings)
    found: Reviewing = state.reviewing
    return found


@router.get("", response_class=HTMLResponse, summary="Drafts waiting for review")
def queue_page(
    request: Request, engine: AppEngine, settings: AppSettings, viewer: Agent
) -> HTMLResponse:
    with Session(engine) as session:
        items = queue(session)
    return render(
        request,
        "queue.html",
        {"items": items, "refresh_seconds": settings.web.queue_refresh_seconds},
    )


@router.get("/rows", response_class=HTMLResponse, summary="The queue's rows, for live updates")
def queue_rows(request: Request, engine: AppEngine, viewer: Agent) -> HTMLResponse:
    with Session(engine) as session:
        items = queue(session)
    response = render(request, "queue_rows.html", {"items": items})
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/{draft_id}", response_class=HTMLResponse, summary="One draft and its context")
def draft_page(
    request: Request,
    draft_id: Id,
    engine: AppEngine,
    settings: AppSettings,
    viewer: Agent,
    event: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    from ascolto.web.labels import label_choices

    with Session(engine) as session:
        try:
            view = show(session, draft_id, reviewer=reviewer(viewer))
        except ReviewError as exc:
            return _problem(request, str(exc), 404)
        events = draft_events(session, draft_id)
    notice = next((e for e in events if e.id == event), None) if event else None
    return render(
        request,
        "draft.html",
        {
            "view": view,
            "events": events,
            "notice": notice,
            "safe_url": safe_url,
            "choices": label_choices(settings),
        },
    )


@router.post("/{draft_id}/approve", summary="Approve a draft and queue it for sending")
def approve_draft(request: Request, draft_id: Id, engine: AppEngine, viewer: Agent) -> Response:
    actions = reviewing(request)
    return _act(
        request,
        engine,
        draft_id,
        lambda s: actions.approve(s, draft_id, reviewer=reviewer(viewer)),
    )


@router.post("/{draft_id}/edit", summary="Replace a draft's text and check it again")
def edit_draft(
    request: Request,
    draft_id: Id,
    engine: AppEngine,
    viewer: Agent,
    text: Annotated[str, Form(max_length=40_000)],
) -> Response:
    actions = reviewing(request)
    return _act(
        request,
        engine,
        draft_id,
        lambda s: actions.edit(s, draft_id, reviewer=reviewer(viewer), text=text),
    )


@router.post("/{draft_id}/reject", summary="Reject a draft, saying why")
def reject_draft(
    request: Request, draft_id: Id, engine: AppEngine, viewer: Agent, reason: Reason
) -> Response:
    return _act(
        request,
        engine,
        draft_id,
        lambda s: reject(s, draft_id, reviewer=reviewer(viewer), reason=reason),
    )


@router.post("/{draft_id}/escalate", summary="Hand a draft to a supervisor, saying why")
def escalate_draft(
    request: Request, draft_id: Id, engine: AppEngine, viewer: Agent, reason: Reason
) -> Response:
    return _act(
        request,
        engine,
        draft_id,
        lambda s: escalate(s, draft_id, reviewer=reviewer(viewer), reason=reason),
    )


def _act(
    request: Request, engine: Engine, draft_id: int, action: Callable[[Session], Decision]
) -> Response:
    try:
        with session_scope(engine) as session:
            decision = action(session)
    except ReviewError as exc:
        return _problem(request, str(exc), 409, back=f"/queue/{draft_id}")
    # An approved reply should not wait for the next delivery interval.
    deliver_soon()
    event: AuditEvent | None = decision.event
    target = f"/queue/{draft_id}" + (f"?event={event.id}" if event is not None else "")
    return RedirectResponse(target, status_code=303)


def _problem(request: Request, message: str, status: int, back: str = "/queue") -> HTMLResponse:
    return render(
        request,
        "message.html",
        {"heading": N_("Cannot do that"), "message": message, "back": back},
        status_code=status,
    )
