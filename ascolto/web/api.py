"""The OpenAPI description (/openapi.json): the JSON API under /api/v1, the pages
and their form posts, and how scripts sign in.

Scripts send `Authorization: Bearer <token>` with a token made by `ascolto tokens
create`; a browser signed in to the app may call the API with its session cookie (and
the `X-CSRF-Token` header for changes). Each API route lives beside its pages.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

API_PREFIX = "/api/v1"
SCHEME = "apiToken"


def describe_api(app: FastAPI) -> None:
    """Add the bearer-token scheme to the app's OpenAPI description."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title="ascolto", version=app.version, description=__doc__ or "", routes=app.routes
        )
        schema.setdefault("components", {}).setdefault("securitySchemes", {})[SCHEME] = {
            "type": "http",
            "scheme": "bearer",
            "description": "A token from `ascolto tokens create USER`.",
        }
        for path, operations in schema.get("paths", {}).items():
            if path.startswith(API_PREFIX):
                for operation in operations.values():
                    operation["security"] = [{SCHEME: []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
