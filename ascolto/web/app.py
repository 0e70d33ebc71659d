"""Application factory: the pages and the JSON API over one database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.types import Lifespan

from ascolto import __version__
from ascolto.settings import Settings
from ascolto.web import webhooks
from storage.runs import SourceHealth, source_health

HERE = Path(__file__).parent
templates = Jinja2Templates(
    env=Environment(
        loader=FileSystemLoader(HERE / "templates"), autoescape=True, undefined=StrictUndefined
    )
)


def create_app(
    settings: Settings, engine: Engine, lifespan: Lifespan[Any] | None = None
) -> FastAPI:
    """A web app reading the given database; `lifespan` starts and stops background work."""
    app = FastAPI(title="ascolto", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(webhooks.router)
    intervals = {s.name: s.interval for s in settings.sources}

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none'"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        return response

    @app.get("/", response_class=HTMLResponse, summary="Status of every source")
    def status_page(request: Request) -> HTMLResponse:
        with Session(engine) as session:
            sources = source_health(session)
        return templates.TemplateResponse(
            request,
            "sources.html",
            {"sources": sources, "intervals": intervals, "version": __version__},
        )

    @app.get("/api/v1/sources", summary="Health of every source")
    def sources_api() -> list[dict[str, Any]]:
        with Session(engine) as session:
            return [health_json(h, intervals.get(h.name)) for h in source_health(session)]

    @app.get("/healthz", summary="Liveness probe")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def health_json(health: SourceHealth, interval: int | None) -> dict[str, Any]:
    """A source's health as JSON; unknown figures stay null, never zero."""
    return {
        "name": health.name,
        "kind": health.kind,
        "enabled": health.enabled,
        "interval": interval,
        "working": health.working,
        "last_status": health.last_status,
        "last_started": health.last_started.isoformat() if health.last_started else None,
        "last_finished": health.last_finished.isoformat() if health.last_finished else None,
        "last_success": health.last_success.isoformat() if health.last_success else None,
        "last_new": health.last_new,
        "last_error": health.last_error,
        "consecutive_failures": health.consecutive_failures,
        "mentions": health.mentions,
        "orders": health.orders,
    }
