"""Signing in and out of the web app."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ascolto.auth import Refused, has_role, new_token, sign_in, sign_out
from ascolto.localization import N_, gettext
from ascolto.web.deps import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    AppEngine,
    AppSettings,
    CurrentViewer,
    MaybeViewer,
    csrf_protect,
    login_csrf_protect,
)
from ascolto.web.templating import render
from storage.db import session_scope

router = APIRouter(tags=["sign-in"])
HOME = "/queue"
BAD_CREDENTIALS = N_("Unknown username or wrong password.")
FIRST_USER = N_(
    "No one can sign in yet. On the server, create the first administrator with "
    "`ascolto users add NAME --role admin` (it asks for the password)."
)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: only a path on this site, never another host."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return HOME
    return target


def _login_form(
    request: Request, *, next_path: str, error: str | None = None, status_code: int = 200
) -> HTMLResponse:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or new_token()
    response = render(
        request,
        "login.html",
        {"next": next_path, "error": error, "csrf_token": token, "hint": _sign_in_hint(request)},
        status_code=status_code,
    )
    if request.cookies.get(LOGIN_CSRF_COOKIE) != token:
        settings = request.app.state.settings
        response.set_cookie(
            LOGIN_CSRF_COOKIE,
            token,
            httponly=True,
            samesite="lax",
            secure=settings.web.secure_cookies,
            path="/",
        )
    return response


def _sign_in_hint(request: Request) -> str | None:
    """How to get a sign-in, where the page alone would leave a newcomer guessing."""
    from sqlmodel import Session

    from storage.users import has_users

    hint: str | None = getattr(request.app.state, "sign_in_hint", None)
    if hint:
        return hint
    with Session(request.app.state.engine) as session:
        return None if has_users(session) else gettext(FIRST_USER)


@router.get("/login", response_class=HTMLResponse, summary="Sign-in form")
def login_page(
    request: Request,
    found: MaybeViewer,
    next_path: Annotated[str | None, Query(alias="next", max_length=2000)] = None,
) -> Response:
    if found is not None:
        return RedirectResponse(safe_next(next_path), status_code=303)
    return _login_form(request, next_path=safe_next(next_path))


@router.post(
    "/login",
    response_class=HTMLResponse,
    summary="Sign in",
    dependencies=[Depends(login_csrf_protect)],
)
def login(
    request: Request,
    settings: AppSettings,
    engine: AppEngine,
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=2048)],
    next_path: Annotated[str, Form(alias="next", max_length=2000)] = HOME,
) -> Response:
    address = request.client.host if request.client else "unknown"
    old_token = request.cookies.get(SESSION_COOKIE)
    with session_scope(engine) as session:
        if old_token:
            sign_out(session, old_token)
        outcome = sign_in(
            session, settings.web, username=username, password=password, address=address
        )
    if isinstance(outcome, Refused):
        if outcome.reason == "throttled":
            error = gettext(
                "Too many failed sign-ins for this username from your address; "
                "try again in %(minutes)s minutes.",
                minutes=outcome.retry_minutes,
            )
            return _login_form(
                request, next_path=safe_next(next_path), error=error, status_code=429
            )
        return _login_form(
            request,
            next_path=safe_next(next_path),
            error=gettext(BAD_CREDENTIALS),
            status_code=401,
        )
    target = safe_next(next_path)
    if target == HOME and not has_role(outcome.user.role, "agent"):
        # Product people and marketers do not work the queue: they start on the overview.
        target = "/"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        outcome.token,
        max_age=settings.web.session_minutes * 60,
        httponly=True,
        samesite="lax",
        secure=settings.web.secure_cookies,
        path="/",
    )
    return response


@router.post("/logout", summary="Sign out", dependencies=[Depends(csrf_protect)])
def logout(request: Request, engine: AppEngine, _viewer: CurrentViewer) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        with session_scope(engine) as session:
            sign_out(session, token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
