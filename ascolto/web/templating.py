"""The web app's one Jinja2 environment: autoescaped, strict about missing names, and
speaking the language of the person asking (Jinja2's i18n extension over our catalogues)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse

from ascolto import __version__
from ascolto.localization import (
    LANGUAGE_NAMES,
    current_language,
    day,
    gettext,
    money,
    negotiate,
    ngettext,
    number,
    percent,
    set_language,
    translations,
    use_language,
    when,
)

HERE = Path(__file__).parent


def word(value: object) -> str:
    """`value` in the current language if the catalogue has it, else as it is; plain text,
    so autoescaping applies (never Markup, which `_()` returns for literal strings)."""
    text = str(value)
    return translations(current_language()).gettext(text) if text else text


def lang_attr(code: str | None) -> Markup:
    """` lang="it"` for a stored language code, so assistive technology reads the text in
    its own language; nothing when the language is unknown (the text inherits the page's)."""
    if not code:
        return Markup("")
    tag = code.strip().replace("_", "-")
    primary = tag.split("-")[0]
    if not (primary.isascii() and primary.isalpha() and 2 <= len(primary) <= 3) or primary == "und":
        return Markup("")
    return Markup(' lang="%s"') % tag.lower()


def environment(directory: Path) -> Environment:
    """A Jinja2 environment over `directory` with gettext and the locale-aware filters."""
    env = Environment(
        loader=FileSystemLoader(directory),
        autoescape=True,
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    # Stored words and messages (a status, a label, a reason) are data: `word(value)`
    # translates them when the catalogue knows them and, unlike `_()`, escapes them.
    env.globals["word"] = word
    env.filters.update(
        when=when,
        day=day,
        number=number,
        money=money,
        percent=percent,
        lang_attr=lang_attr,
        gettext=word,
    )
    return env


templates = Jinja2Templates(env=environment(HERE / "templates"))


def request_language(request: Request) -> str:
    """The viewer's chosen language, else their browser's, else the administrator's default."""
    found = getattr(request.state, "language", None)
    if isinstance(found, str):
        return found
    viewer = getattr(request.state, "viewer", None)
    language = negotiate(
        getattr(viewer, "language", None),
        request.headers.get("accept-language"),
        request.app.state.settings.language.default,
    )
    request.state.language = language
    return language


async def speak(request: Request) -> None:
    """An app-wide dependency: the request's language, for everything its handler says.

    Async, so the context variable is set in the request's own task, which the handler
    (run in a thread with a copy of that context) then sees.
    """
    from ascolto.web.deps import viewer

    await run_in_threadpool(viewer, request)
    set_language(request_language(request))


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    language: str | None = None,
) -> HTMLResponse:
    """Render a page in the viewer's language (or `language`); every page gets the
    signed-in viewer (or None), the version and the language it is written in."""
    chosen = language or request_language(request)
    values: dict[str, Any] = {
        "viewer": getattr(request.state, "viewer", None),
        "version": __version__,
        "ui_language": chosen,
        "language_names": LANGUAGE_NAMES,
    }
    values.update(context or {})
    # The template is rendered here, inside the block, so every gettext call sees it.
    with use_language(chosen):
        return templates.TemplateResponse(request, name, values, status_code=status_code)
