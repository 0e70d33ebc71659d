"""Survey and unsubscribe pages for customers: no sign-in, no JavaScript, plain forms.

A survey page is reached only through its signed link (outreach.campaigns.links): a
tampered link gets a page saying so (400), an expired one a page saying that (410). One
answer per link: submitting again replaces the answer. The unsubscribe page shows a
confirm button on GET (mail scanners follow links; they must not unsubscribe anyone) and
accepts RFC 8058 one-click POSTs from mail clients, which need no page at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from ascolto.localization import negotiate
from ascolto.runtime import jobs
from ascolto.settings import CampaignSettings, Settings
from ascolto.web.templating import render
from outreach.campaigns.answers import (
    AnswerError,
    kind_of,
    mark_review_invited,
    parse_score,
    record_answer,
    unsubscribe,
)
from outreach.campaigns.links import LinkError, LinkExpired, LinkInvalid, read_survey_token
from outreach.unsubscribe import read_token
from storage import campaigns as store
from storage.db import session_scope
from storage.models import Campaign, CheckIn, SurveyAnswer
from storage.types import utcnow, whole_number

log = logging.getLogger("ascolto.surveys")

router = APIRouter(include_in_schema=False)

# Check-ins whose survey may be answered: sent, or already answered (to change it).
OPEN = ("sent", "answered")
MAX_FORM = 20_000


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def _now(request: Request) -> datetime:
    """The current time; `app.state.clock` replaces the clock (tests, demos)."""
    clock: Callable[[], datetime] = getattr(request.app.state, "clock", utcnow)
    return clock()


def _page(
    request: Request, name: str, language: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    settings = _settings(request)
    values = {"brand": settings.brand.name, **context}
    # The customer's language, not the staff's: these pages are the brand speaking.
    response = render(request, name, values, status_code=status, language=language)
    response.headers["Cache-Control"] = "no-store"
    # A survey link in the address bar must not travel to other sites in Referer headers.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def pick_language(preferred: str | None, accept_language: str | None) -> str:
    """The customer's language when we speak it, else their browser's, else English."""
    return negotiate(preferred, accept_language, "en")


def _problem(request: Request, kind: str, language: str | None, status: int) -> HTMLResponse:
    chosen = pick_language(language, request.headers.get("accept-language"))
    return _page(request, "survey/problem.html", chosen, {"kind": kind}, status)


def _open_checkin(
    request: Request, token: str
) -> tuple[CheckIn, CampaignSettings, SurveyAnswer | None] | HTMLResponse:
    """The check-in a token opens, or the page explaining why it does not."""
    settings = _settings(request)
    try:
        checkin_id = read_survey_token(settings, token, now=_now(request))
    except LinkExpired as exc:
        with session_scope(_engine(request)) as session:
            expired = session.get(CheckIn, exc.checkin_id)
            language = expired.language if expired else None
        return _problem(request, "expired", language, 410)
    except LinkInvalid:
        return _problem(request, "invalid", None, 400)
    except LinkError as exc:
        # The server cannot check links at all (no secret_key): the operator's problem,
        # said in the log; the customer gets a page, not a crash.
        log.error("survey link refused: %s", exc)
        return _problem(request, "unavailable", None, 503)
    with session_scope(_engine(request)) as session:
        checkin = session.get(CheckIn, checkin_id)
        campaign = session.get(Campaign, checkin.campaign_id) if checkin else None
        if checkin is None or campaign is None or checkin.status not in OPEN:
            return _problem(request, "invalid", None, 404)
        answer = store.get_answer(session, checkin_id=checkin_id)
        return checkin, CampaignSettings.model_validate(campaign.definition), answer


def _form_values(
    request: Request, answer: SurveyAnswer | None, questions: list[str]
) -> dict[str, str]:
    """Scores to show selected: the stored answer, else a score clicked in the e-mail."""
    values = dict.fromkeys(questions, "")
    if answer is not None:
        values |= {
            "csat": "" if answer.csat is None else str(answer.csat),
            "nps": "" if answer.nps is None else str(answer.nps),
        }
    for question in questions:
        clicked = request.query_params.get(question, "")
        if answer is None and whole_number(clicked, high=10) is not None:
            values[question] = clicked
    values["comment"] = answer.comment or "" if answer else ""
    return values


@router.get("/survey/{token}", response_class=HTMLResponse)
def survey_page(request: Request, token: str) -> Response:
    """The survey form of one check-in, filled with the answer given so far."""
    opened = _open_checkin(request, token)
    if isinstance(opened, Response):
        return opened
    checkin, config, answer = opened
    language = pick_language(checkin.language, None)
    saved = request.query_params.get("saved") == "1" and answer is not None
    invite = None
    if (
        saved
        and answer is not None
        and config.review_url
        and kind_of(answer.csat, answer.nps).promoter
    ):
        invite = config.review_url
        with session_scope(_engine(request)) as session:
            stored = session.get(SurveyAnswer, answer.id)
            if stored is not None:
                mark_review_invited(session, stored, now=_now(request))
    return _page(
        request,
        "survey/form.html",
        language,
        {
            "action": f"/survey/{token}",
            "questions": list(config.survey),
            "values": _form_values(request, answer, list(config.survey)),
            "answered": answer is not None,
            "saved": saved,
            "review_url": invite,
            "error": None,
        },
    )


@router.post("/survey/{token}", response_class=HTMLResponse)
async def survey_answer(request: Request, token: str) -> Response:
    """Store the answer (or replace it), then show the page again (POST, redirect, GET)."""
    body = await request.body()
    if len(body) > MAX_FORM:
        return _problem(request, "invalid", None, 413)
    form = await request.form()
    return await run_in_threadpool(_answer, request, token, {k: str(v) for k, v in form.items()})


def _answer(request: Request, token: str, form: dict[str, str]) -> Response:
    opened = _open_checkin(request, token)
    if isinstance(opened, Response):
        return opened
    checkin, config, _ = opened
    language = pick_language(checkin.language, None)
    questions = list(config.survey)
    try:
        scores = {q: parse_score(q, form.get(q)) for q in ("csat", "nps")}
        for attempt in range(2):
            try:
                with session_scope(_engine(request)) as session:
                    stored = session.get(CheckIn, checkin.id)
                    assert stored is not None
                    record_answer(
                        session,
                        stored,
                        csat=scores["csat"],
                        nps=scores["nps"],
                        comment=form.get("comment"),
                        questions=questions,
                        now=_now(request),
                    )
                break
            except IntegrityError:
                # The same link submitted twice at once: the other one is now the answer
                # to replace.
                if attempt:
                    raise
    except AnswerError:
        values = {q: form.get(q, "") for q in questions} | {"comment": form.get("comment", "")}
        return _page(
            request,
            "survey/form.html",
            language,
            {
                "action": f"/survey/{token}",
                "questions": questions,
                "values": values,
                "answered": False,
                "saved": False,
                "review_url": None,
                "error": True,
            },
            400,
        )
    jobs.campaigns_soon()
    return RedirectResponse(f"/survey/{token}?saved=1", status_code=303)


def _unsubscribe_target(request: Request) -> tuple[str, str] | HTMLResponse:
    """(address, page language) of the token in the query, or the problem page."""
    settings = _settings(request)
    token = request.query_params.get("token", "")
    secret = settings.secret_key.get_secret_value() if settings.secret_key else None
    address = read_token(secret, token) if secret and token else None
    if address is None:
        return _problem(request, "invalid", None, 400)
    with session_scope(_engine(request)) as session:
        customer = store.customer_by_email(session, address)
        language = customer.language if customer else None
    primary = (language or "").split("-")[0].split("_")[0].lower() or None
    return address, pick_language(primary, request.headers.get("accept-language"))


@router.get("/unsubscribe", response_class=HTMLResponse)
def unsubscribe_page(request: Request) -> Response:
    """A confirm button: following the link alone unsubscribes nobody."""
    target = _unsubscribe_target(request)
    if isinstance(target, Response):
        return target
    address, language = target
    action = f"/unsubscribe?token={request.query_params['token']}"
    return _page(
        request,
        "survey/unsubscribe.html",
        language,
        {"email": address, "action": action, "done": False},
    )


@router.post("/unsubscribe", response_class=HTMLResponse)
async def unsubscribe_post(request: Request) -> Response:
    """Unsubscribe: the page's button, or a mail client's RFC 8058 one-click POST."""
    body = await request.body()
    one_click = b"List-Unsubscribe=One-Click" in body[:1000]
    return await run_in_threadpool(_unsubscribe, request, one_click)


def _unsubscribe(request: Request, one_click: bool) -> Response:
    target = _unsubscribe_target(request)
    if isinstance(target, Response):
        return target
    address, language = target
    with session_scope(_engine(request)) as session:
        unsubscribe(session, email=address, via="one-click" if one_click else "link")
    log.info("unsubscribed from check-ins (%s)", "one-click" if one_click else "page")
    return _page(
        request,
        "survey/unsubscribe.html",
        language,
        {"email": address, "action": "", "done": True},
    )
