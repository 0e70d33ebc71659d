"""The admin's privacy page: find one person, download everything held about them, erase
them. Identifiers travel only in POST bodies (never in addresses, so never in access logs)."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ascolto.privacy.erasure import PrivacyError, erase, export, find, person_key
from ascolto.web.deps import AppEngine, AppSettings, Viewer, csrf_protect, require
from ascolto.web.templating import render
from storage.privacy import PersonKey

router = APIRouter(tags=["administration"], dependencies=[Depends(csrf_protect)])
Admin = Annotated[Viewer, Depends(require("admin"))]
Email = Annotated[str, Form(max_length=320)]
Customer = Annotated[str, Form(max_length=200)]
Handle = Annotated[str, Form(max_length=400)]
Confirm = Annotated[str, Form(max_length=20)]
PAGE = "/admin/privacy"


def _key(email: str, customer: str, handle: str) -> PersonKey:
    return person_key(email=email, customer=customer, handle=handle)


def _page(request: Request, *, status_code: int = 200, **context: object) -> HTMLResponse:
    values: dict[str, object] = {"found": None, "error": None, "done": None, "asked": {}}
    values.update(context)
    return render(request, "privacy.html", values, status_code=status_code)


@router.get(PAGE, response_class=HTMLResponse, summary="Find, export or erase one person")
def privacy_page(request: Request, viewer: Admin, done: int | None = None) -> HTMLResponse:
    return _page(request, done=done)


@router.post(PAGE, response_class=HTMLResponse, summary="Show what is held about one person")
def privacy_find(
    request: Request,
    engine: AppEngine,
    viewer: Admin,
    email: Email = "",
    customer: Customer = "",
    handle: Handle = "",
) -> HTMLResponse:
    asked = {"email": email, "customer": customer, "handle": handle}
    try:
        found = find(engine, _key(email, customer, handle))
    except PrivacyError as exc:
        return _page(request, error=str(exc), asked=asked, status_code=400)
    return _page(request, found=found, asked=asked)


@router.post(f"{PAGE}/export", summary="Everything held about one person, as a JSON download")
def privacy_export(
    request: Request,
    engine: AppEngine,
    viewer: Admin,
    email: Email = "",
    customer: Customer = "",
    handle: Handle = "",
) -> Response:
    try:
        document = export(engine, _key(email, customer, handle), actor=viewer.username)
    except PrivacyError as exc:
        return _page(request, error=str(exc), status_code=400)
    body = json.dumps(document, ensure_ascii=False, indent=2, default=str)
    return Response(
        body.encode("utf-8"),
        media_type="application/json; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="ascolto-personal-data.json"',
            "Cache-Control": "no-store",
        },
    )


@router.post(f"{PAGE}/erase", summary="Erase one person everywhere")
def privacy_erase(
    request: Request,
    engine: AppEngine,
    settings: AppSettings,
    viewer: Admin,
    email: Email = "",
    customer: Customer = "",
    handle: Handle = "",
    confirm: Confirm = "",
) -> Response:
    asked = {"email": email, "customer": customer, "handle": handle}
    try:
        key = _key(email, customer, handle)
    except PrivacyError as exc:
        return _page(request, error=str(exc), asked=asked, status_code=400)
    if confirm.strip().lower() != "erase":
        return _page(
            request,
            found=find(engine, key),
            asked=asked,
            error="Type ERASE in the confirmation box to erase this person.",
            status_code=400,
        )
    done = erase(settings, engine, key, actor=viewer.username)
    # The address carries how many rows, never whom.
    return RedirectResponse(f"{PAGE}?done={sum(done.counts.values())}", status_code=303)
