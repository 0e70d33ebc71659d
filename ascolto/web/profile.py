"""A person's own page: who they are signed in as, and the language the app speaks to them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from ascolto.localization import LANGUAGES, gettext, negotiate, use_language
from ascolto.web.deps import AppEngine, AppSettings, CurrentViewer, csrf_protect
from ascolto.web.templating import render
from storage.db import session_scope
from storage.users import set_language

router = APIRouter(tags=["profile"], dependencies=[Depends(csrf_protect)])
# The form's value for "no choice of my own: follow the browser".
BROWSER = "browser"


@router.get("/profile", response_class=HTMLResponse, summary="Your profile and language")
def profile_page(
    request: Request,
    viewer: CurrentViewer,
    settings: AppSettings,
    saved: Annotated[bool, Query()] = False,
) -> HTMLResponse:
    browser_language = negotiate(
        None, request.headers.get("accept-language"), settings.language.default
    )
    return render(
        request,
        "profile.html",
        {
            "chosen": viewer.language or BROWSER,
            "browser_language": browser_language,
            "languages": LANGUAGES,
            "saved": saved,
        },
    )


@router.post("/profile/language", summary="Choose the language of the web app")
def choose_language(
    request: Request,
    engine: AppEngine,
    viewer: CurrentViewer,
    language: Annotated[str, Form(max_length=20)],
) -> RedirectResponse:
    if language != BROWSER and language not in LANGUAGES:
        with use_language(viewer.language or "en"):
            detail = gettext(
                "Unknown language %(language)s: choose one of %(choices)s.",
                language=language[:20],
                choices=", ".join((BROWSER, *LANGUAGES)),
            )
        raise HTTPException(status_code=422, detail=detail)
    with session_scope(engine) as session:
        set_language(session, viewer.user_id, None if language == BROWSER else language)
    return RedirectResponse("/profile?saved=true", status_code=303)
