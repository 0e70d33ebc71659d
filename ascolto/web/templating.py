"""The web app's one Jinja2 environment: autoescaped, strict about missing names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.responses import HTMLResponse

from ascolto import __version__

HERE = Path(__file__).parent
templates = Jinja2Templates(
    env=Environment(
        loader=FileSystemLoader(HERE / "templates"), autoescape=True, undefined=StrictUndefined
    )
)


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    """Render a page; every page gets the signed-in viewer (or None) and the version."""
    values: dict[str, Any] = {
        "viewer": getattr(request.state, "viewer", None),
        "version": __version__,
    }
    values.update(context or {})
    return templates.TemplateResponse(request, name, values, status_code=status_code)
