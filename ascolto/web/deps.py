"""Who is asking: the signed-in viewer, role checks and CSRF checks, as FastAPI dependencies.

Every router of pages and actions is built with `csrf_protect` as a router dependency, so
no unsafe request (POST, PUT, PATCH, DELETE) reaches a handler without the session's
CSRF token, sent as the form field `csrf_token` or the `X-CSRF-Token` header.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from ascolto.api_tokens import authenticate
from ascolto.auth import csrf_matches, has_role, resume
from ascolto.localization import gettext
from ascolto.settings import Settings
from storage.db import session_scope

SESSION_COOKIE = "ascolto_session"
# Before signing in there is no session: the login form's token is double-submitted,
# once in this cookie and once in the form.
LOGIN_CSRF_COOKIE = "ascolto_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
# Sent by a page refreshing itself (the queue's live updates): not a person's activity, so
# an unattended open tab still signs out after `[web] idle_minutes`.
REFRESH_HEADER = "X-Ascolto-Refresh"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


@dataclass(frozen=True)
class Viewer:
    """The signed-in person behind a request."""

    user_id: int
    username: str
    role: str
    csrf_token: str
    session_id: int
    # Signed in with an API token (a script): no cookie, so no CSRF to check.
    via_token: bool = False
    # The language they chose for the web app; None: their browser decides.
    language: str | None = None

    def can(self, role: str) -> bool:
        """Whether this person may do what `role` may (see `ascolto.auth.has_role`)."""
        return has_role(self.role, role)


class LoginRequired(Exception):
    """The request needs a signed-in person and has none."""


class Forbidden(Exception):
    """The signed-in person's role does not allow this."""


class CsrfRejected(Exception):
    """An unsafe request came without the right CSRF token."""


def app_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


def app_engine(request: Request) -> Engine:
    """The app's database engine."""
    engine: Engine = request.app.state.engine
    return engine


def viewer(request: Request) -> Viewer | None:
    """The signed-in person, or None; looked up once per request."""
    if hasattr(request.state, "viewer"):
        found: Viewer | None = request.state.viewer
        return found
    found = None
    token = request.cookies.get(SESSION_COOKIE)
    bearer = _bearer(request)
    if bearer is not None:
        found = _token_viewer(request, bearer)
    elif token:
        with session_scope(app_engine(request)) as session:
            resumed = resume(
                session,
                app_settings(request).web,
                token,
                touch=REFRESH_HEADER.lower() not in request.headers,
            )
            if resumed is not None:
                user, web_session = resumed
                found = Viewer(
                    user_id=user.id or 0,
                    username=user.username,
                    role=user.role,
                    csrf_token=web_session.csrf_token,
                    session_id=web_session.id or 0,
                    language=user.language,
                )
    request.state.viewer = found
    return found


def _bearer(request: Request) -> str | None:
    """The API token of a script's request to /api/, if it sent one."""
    header = request.headers.get("authorization", "")
    if not request.url.path.startswith("/api/") or not header.lower().startswith("bearer "):
        return None
    return header[7:].strip()


def _token_viewer(request: Request, secret: str) -> Viewer | None:
    with session_scope(app_engine(request)) as session:
        found = authenticate(session, secret)
        if found is None:
            return None
        _token, user = found
        return Viewer(
            user_id=user.id or 0,
            username=user.username,
            role=user.role,
            csrf_token="",
            session_id=0,
            via_token=True,
        )


def signed_in(found: Annotated[Viewer | None, Depends(viewer)]) -> Viewer:
    """The signed-in person; without one, the page redirects to the login form."""
    if found is None:
        raise LoginRequired
    return found


def require(*roles: str) -> Callable[[Viewer], Viewer]:
    """A dependency admitting only people who have one of `roles` (see `has_role`)."""
    if not roles:
        raise ValueError("require() needs at least one role")

    def check(found: Annotated[Viewer, Depends(signed_in)]) -> Viewer:
        if not any(found.can(role) for role in roles):
            raise Forbidden(
                gettext(
                    "this needs the %(needed)s role; you are signed in as %(role)s",
                    needed=" / ".join(gettext(role) for role in roles),
                    role=gettext(found.role),
                )
            )
        return found

    return check


async def submitted_csrf(request: Request) -> str | None:
    """The CSRF token sent with a request: the header, else the form field."""
    given = request.headers.get(CSRF_HEADER)
    if given is not None:
        return given
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


async def csrf_protect(request: Request) -> None:
    """Refuse an unsafe request whose CSRF token is not the session's (or the login form's)."""
    if request.method in SAFE_METHODS:
        return
    found = await run_in_threadpool(viewer, request)
    if found is not None and found.via_token:
        return
    expected = found.csrf_token if found else request.cookies.get(LOGIN_CSRF_COOKIE)
    if not csrf_matches(expected, await submitted_csrf(request)):
        raise CsrfRejected


async def login_csrf_protect(request: Request) -> None:
    """The login form's check: its double-submitted token, whether signed in or not."""
    if request.method in SAFE_METHODS:
        return
    if not csrf_matches(request.cookies.get(LOGIN_CSRF_COOKIE), await submitted_csrf(request)):
        raise CsrfRejected


CurrentViewer = Annotated[Viewer, Depends(signed_in)]
MaybeViewer = Annotated[Viewer | None, Depends(viewer)]
AppSettings = Annotated[Settings, Depends(app_settings)]
AppEngine = Annotated[Engine, Depends(app_engine)]
