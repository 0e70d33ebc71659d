"""One mention's labels in the web app, and correcting them (see `ascolto.review.corrections`).

The page `/mentions/{id}` shows the labels, each marked with who corrected it; the form
posts to `/mentions/{id}/labels` from that page and from the draft page (its `back` field
says where to return). Only the labels that differ from the current ones are corrected:
the form always carries all of them. A bad label is a 422 page saying which and why.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.datastructures import FormData

from ascolto.localization import N_
from ascolto.review.corrections import CorrectionError, Outcome, correct, labels_of, undo
from ascolto.review.queue import Reviewer
from ascolto.settings import Settings
from ascolto.web.deps import AppEngine, AppSettings, CurrentViewer, Viewer, csrf_protect, require
from ascolto.web.links import safe_url
from ascolto.web.templating import render
from classify.datasets import ISSUE_TYPES, SENTIMENT_LABELS, URGENCY_TYPES
from storage.classifications import get_labels, get_mention, list_labelled_examples
from storage.db import session_scope

router = APIRouter(tags=["labels"], dependencies=[Depends(csrf_protect)])
Agent = Annotated[Viewer, Depends(require("agent"))]
MentionId = Annotated[int, Path(ge=1)]
# The form's list fields, named as the tasks they correct; an empty list is a label too.
LIST_TASKS = {"issue": "issues", "urgency": "urgency", "product": "products"}


def label_choices(settings: Settings) -> dict[str, Any]:
    """What the correction form offers for each label."""
    return {
        "sentiments": SENTIMENT_LABELS,
        "issues": ISSUE_TYPES,
        "urgency": URGENCY_TYPES,
        "products": [p.name for p in settings.products],
    }


@router.get(
    "/mentions/{mention_id}", response_class=HTMLResponse, summary="One mention and its labels"
)
def mention_page(
    request: Request,
    mention_id: MentionId,
    engine: AppEngine,
    settings: AppSettings,
    viewer: CurrentViewer,
) -> Response:
    with Session(engine) as session:
        mention = get_mention(session, mention_id=mention_id)
        if mention is None:
            return _problem(request, f"no mention with id {mention_id}", 404, "/mentions")
        labels = get_labels(session, mention_id=mention_id)
        history = list_labelled_examples(session, mention_id=mention_id, include_removed=True)
    return render(
        request,
        "mention.html",
        {
            "mention": mention,
            "labels": labels,
            "history": list(reversed(history)),
            "choices": label_choices(settings),
            "safe_url": safe_url,
        },
    )


@router.post("/mentions/{mention_id}/labels", summary="Correct a mention's labels")
async def correct_labels(
    request: Request,
    mention_id: MentionId,
    engine: AppEngine,
    settings: AppSettings,
    viewer: Agent,
) -> Response:
    form = await request.form()
    back = _back(form, mention_id)
    try:
        with session_scope(engine) as session:
            current = labels_of(get_labels(session, mention_id=mention_id))
            changes = changes_from_form(form, current)
            outcome = correct(
                session,
                settings,
                mention_id,
                changes,
                reviewer=_reviewer(viewer),
                note=str(form.get("note") or "") or None,
            )
    except CorrectionError as exc:
        status = 404 if str(exc).startswith("no mention") else 422
        return _problem(request, str(exc), status, back)
    _cluster_again(settings, engine, outcome)
    return RedirectResponse(back, status_code=303)


@router.post(
    "/mentions/{mention_id}/corrections/{correction_id}/undo",
    summary="Undo a correction of a mention's label",
)
async def undo_correction(
    request: Request,
    mention_id: MentionId,
    correction_id: Annotated[int, Path(ge=1)],
    engine: AppEngine,
    settings: AppSettings,
    viewer: Agent,
) -> Response:
    back = _back(await request.form(), mention_id)
    try:
        with session_scope(engine) as session:
            outcome = undo(session, settings, correction_id, reviewer=_reviewer(viewer))
            if outcome.mention_id != mention_id:
                raise CorrectionError(
                    f"correction {correction_id} is not one of mention {mention_id}"
                )
    except CorrectionError as exc:
        return _problem(request, str(exc), 409, back)
    _cluster_again(settings, engine, outcome)
    return RedirectResponse(back, status_code=303)


def _cluster_again(settings: Settings, engine: Engine, outcome: Outcome) -> None:
    """A complaint label changed: the scheduler's next detection run is moved to now (the
    same detection reads every changed label, so relabelled members leave their cluster)."""
    from ascolto.runtime.jobs import defects_soon

    if settings.defects.enabled and {"complaint", "issues", "products", "sentiment"} & set(
        outcome.changed
    ):
        defects_soon()


def changes_from_form(form: FormData, current: dict[str, Any]) -> dict[str, Any]:
    """The labels the form sets that differ from `current` (task -> value, unchecked)."""
    changes: dict[str, Any] = {}
    sentiment = str(form.get("sentiment") or "").strip()
    if sentiment and sentiment != current["sentiment"]:
        changes["sentiment"] = sentiment
    complaint = str(form.get("complaint") or "").strip()
    if complaint:
        if complaint not in ("yes", "no"):
            raise CorrectionError(f"complaint {complaint!r}: expected yes or no")
        if (complaint == "yes") != (current["complaint"] is True):
            changes["complaint"] = complaint == "yes"
    language = str(form.get("language") or "").strip().lower()
    if language and language != current["language"]:
        changes["language"] = language
    # A list the form carries (its hidden `fields` entry) is set even when left empty.
    carried = {str(v) for v in form.getlist("fields")}
    for task, field_name in LIST_TASKS.items():
        if task not in carried:
            continue
        chosen = [str(v) for v in form.getlist(task) if str(v).strip()]
        if sorted(chosen) != sorted(current[field_name] or []):
            changes[task] = chosen
    return changes


def _reviewer(viewer: Viewer) -> Reviewer:
    return Reviewer(username=viewer.username, role=viewer.role)


def _back(form: FormData, mention_id: int) -> str:
    """Where to go after the post: the draft page it came from, else the mention's page."""
    wanted = str(form.get("back") or "")
    # Only this app's own pages: never an address a form could point elsewhere.
    if wanted.startswith(("/queue/", "/mentions/")) and "//" not in wanted and "\\" not in wanted:
        return wanted
    return f"/mentions/{mention_id}"


def _problem(request: Request, message: str, status: int, back: str) -> HTMLResponse:
    return render(
        request,
        "message.html",
        {"heading": N_("Labels not corrected"), "message": message, "back": back},
        status_code=status,
    )
