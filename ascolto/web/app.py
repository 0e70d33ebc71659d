"""Application factory: the pages and the JSON API over one database."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Lifespan

from ascolto import __version__
from ascolto.localization import N_, gettext
from ascolto.settings import Settings
from ascolto.web import (
    admin,
    campaigns,
    clusters,
    draft_quality,
    labels,
    mentions,
    overview,
    privacy,
    profile,
    queue,
    signin,
    sources,
    surveys,
    webhooks,
)
from ascolto.web.api import describe_api
from ascolto.web.deps import CsrfRejected, Forbidden, LoginRequired, viewer
from ascolto.web.middleware import (
    CONTENT_SECURITY_POLICY,
    BodyLimit,
    ClientAddress,
    SecurityHeaders,
    parse_networks,
)
from ascolto.web.templating import HERE, render, speak

__all__ = ["CONTENT_SECURITY_POLICY", "AscoltoApp", "create_app"]


class AscoltoApp(FastAPI):
    """FastAPI with the security headers, the client address and the body limit outside
    its error handling, so that a 500, an unknown path or a refused body gets them too."""

    def build_middleware_stack(self) -> ASGIApp:
        settings: Settings = self.state.settings
        inner = super().build_middleware_stack()
        proxies = parse_networks(settings.web.trusted_proxies)
        limited = BodyLimit(inner, settings.web.max_body_bytes)
        return SecurityHeaders(ClientAddress(limited, proxies))


def create_app(
    settings: Settings, engine: Engine, lifespan: Lifespan[Any] | None = None
) -> FastAPI:
    """A web app reading the given database; `lifespan` starts and stops background work."""
    # No /docs or /redoc: FastAPI's pages load Swagger UI and ReDoc from a CDN, which an
    # offline install cannot reach and the Content-Security-Policy refuses; the
    # description itself is served at /openapi.json for any OpenAPI tool.
    app = AscoltoApp(
        title="ascolto",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(speak)],
    )
    app.state.settings = settings
    app.state.engine = engine
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    # Webhooks are signed by their sender; /healthz and /static are public; the rest
    # needs a signed-in person.
    app.include_router(webhooks.router)
    app.include_router(signin.router)
    app.include_router(queue.router)
    app.include_router(surveys.router)
    for pages in (
        overview,
        mentions,
        labels,
        clusters,
        campaigns,
        sources,
        admin,
        privacy,
        profile,
        draft_quality,
    ):
        app.include_router(pages.router)
    add_error_pages(app)
    describe_api(app)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> RedirectResponse:
        # Browsers ask for it on pages that name no icon (the survey pages).
        return RedirectResponse("/static/favicon.svg", status_code=301)

    @app.get("/healthz", summary="Liveness probe")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def wants_json(request: Request) -> bool:
    """API paths and clients asking for JSON get JSON errors instead of pages."""
    accept = request.headers.get("accept", "")
    return request.url.path.startswith("/api/") or (
        "application/json" in accept and "text/html" not in accept
    )


def add_error_pages(app: FastAPI) -> None:
    """Answers for a missing sign-in, a forbidden action and a refused CSRF token."""

    @app.exception_handler(LoginRequired)
    def login_required(request: Request, _exc: LoginRequired) -> Response:
        if wants_json(request):
            return JSONResponse({"detail": "sign in first"}, status_code=401)
        target = "/login"
        if request.method == "GET":
            path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            target += "?next=" + quote(path, safe="")
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(Forbidden)
    def forbidden(request: Request, exc: Forbidden) -> Response:
        if wants_json(request):
            return JSONResponse({"detail": str(exc)}, status_code=403)
        return render(
            request,
            "message.html",
            {"heading": N_("Not allowed"), "message": str(exc), "back": "/queue"},
            status_code=403,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_problem(request: Request, exc: StarletteHTTPException) -> Response:
        # Pages get a page saying what went wrong; the API and scripts get JSON.
        if wants_json(request) or exc.status_code < 400:
            return await http_exception_handler(request, exc)
        # An unknown path ran no dependency: find the viewer, for their menu and language.
        await run_in_threadpool(viewer, request)
        return render(
            request,
            "message.html",
            {"heading": N_("Cannot do that"), "message": str(exc.detail), "back": None},
            status_code=exc.status_code,
        )

    @app.exception_handler(CsrfRejected)
    def csrf_rejected(request: Request, _exc: CsrfRejected) -> Response:
        message = gettext(
            "This form has expired or did not come from this site. Reload the page and try again."
        )
        if wants_json(request):
            return JSONResponse({"detail": message}, status_code=403)
        return render(
            request,
            "message.html",
            {"heading": N_("Request refused"), "message": message, "back": None},
            status_code=403,
        )
