"""Rendering drafts: a sandboxed Jinja2 environment over the shipped and the user's templates.

Templates are named ``<language>/<intent>.<channel>.txt.j2`` (channel ``public`` or
``email``); an e-mail's HTML part comes from ``<language>/<intent>.email.html.j2`` when
there is one, else from ``_layout.html.j2`` with the text's paragraphs. Everything from
outside (mention text, names, handles) reaches a template only as data, cleaned of control
characters and capped in length: it is never template source, and the HTML part escapes
it. A missing variable is an error (StrictUndefined), never an empty gap.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

TEMPLATES = Path(__file__).parent / "templates"
CHANNELS = ("public", "email")
LAYOUT = "_layout.html.j2"
# Longest text a template may produce: a runaway loop is an error, not a message.
MAX_OUTPUT = 20_000

# C0/C1 controls except tab and newline, zero-width and bidirectional-override characters:
# invisible text that could hide or reorder what an agent reads.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
_SPACES = re.compile(r"[ \t]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_TEMPLATE_NAME = re.compile(r"^([a-z]{2,3})/([a-z_]+)\.(public|email)\.(txt|html)\.j2$")


class RenderError(Exception):
    """A template is missing, broken, or produced something unusable."""


def clean(value: str, limit: int, *, one_line: bool = True) -> str:
    """`value` without invisible characters, whitespace collapsed, at most `limit` characters."""
    text = _INVISIBLE.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    if one_line:
        text = " ".join(text.split())
    else:
        text = _BLANK_LINES.sub(
            "\n\n", "\n".join(_SPACES.sub(" ", ln).strip() for ln in text.split("\n"))
        )
        text = text.strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def tidy(text: str) -> str:
    """A rendered text with single spaces, no trailing blanks and at most one empty line."""
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def template_name(language: str, intent: str, channel: str, part: str = "txt") -> str:
    """``it/complaint_delivery.public.txt.j2``."""
    return f"{language}/{intent}.{channel}.{part}.j2"


@dataclass(frozen=True)
class Rendered:
    """A rendered draft: the template used, its text, and for e-mails a subject and HTML."""

    template: str
    text: str
    subject: str | None = None
    html: str | None = None


class Renderer:
    """The sandboxed environment over the user's templates (first) and the shipped ones."""

    def __init__(self, templates_dir: Path | None = None) -> None:
        folders = [str(templates_dir)] if templates_dir else []
        folders.append(str(TEMPLATES))
        self.env = ImmutableSandboxedEnvironment(
            loader=ChoiceLoader([FileSystemLoader(f) for f in folders]),
            undefined=StrictUndefined,
            autoescape=lambda name: bool(name and name.endswith(".html.j2")),
            trim_blocks=True,
            lstrip_blocks=True,
            finalize=_refuse_none,
        )
        self.env.filters["it_il"] = lambda day: _italian_article(day, "il ", "l'")
        self.env.filters["it_del"] = lambda day: _italian_article(day, "del ", "dell'")
        self._names: list[str] | None = None

    def names(self) -> list[str]:
        """Every draft template (not layouts or macros) either folder holds."""
        if self._names is None:
            self._names = sorted(n for n in self.env.list_templates() if _TEMPLATE_NAME.match(n))
        return self._names

    def combos(self) -> set[tuple[str, str, str]]:
        """(language, intent, channel) of every text template."""
        found = set()
        for name in self.names():
            match = _TEMPLATE_NAME.match(name)
            if match and match.group(4) == "txt":
                found.add((match.group(1), match.group(2), match.group(3)))
        return found

    def languages(self, intent: str, channel: str) -> set[str]:
        """Languages with a text template for this intent and channel."""
        return {lang for lang, i, c in self.combos() if i == intent and c == channel}

    def render(self, language: str, intent: str, channel: str, data: Mapping[str, Any]) -> Rendered:
        """Render the text (and for e-mail the subject and HTML) of one draft."""
        name = template_name(language, intent, channel)
        module = self._module(name, data)
        text = _checked(name, tidy(str(module)))
        if channel != "email":
            return Rendered(name, text)
        subject = getattr(module, "subject", None)
        if not subject:
            raise RenderError(f"{name}: an e-mail template must `{{% set subject = ... %}}`")
        subject = clean(str(subject), 200)
        html = self.html(language, intent, data, subject=subject, text=text)
        return Rendered(name, text, subject, html)

    def html(
        self, language: str, intent: str, data: Mapping[str, Any], *, subject: str, text: str
    ) -> str:
        """The HTML part of an e-mail whose text is `text` (escaped: it is data here too)."""
        name = template_name(language, intent, "email", "html")
        if name not in self.names():
            name = LAYOUT
        paragraphs = [p.split("\n") for p in text.split("\n\n")]
        html_data = {**data, "subject": subject, "paragraphs": paragraphs, "language": language}
        return _checked(name, str(self._module(name, html_data)).strip())

    def _module(self, name: str, data: Mapping[str, Any]) -> Any:
        try:
            return self.env.get_template(name).make_module(dict(data))
        except TemplateError as exc:
            raise RenderError(f"{name}: {type(exc).__name__}: {exc}") from exc


def _italian_article(day: str, plain: str, elided: str) -> str:
    """ "il 3 novembre", "l'8 novembre", "dell'11 novembre": the article before a spoken date."""
    return (elided if day.split(" ", 1)[0] in ("8", "11") else plain) + day


def _refuse_none(value: Any) -> Any:
    if value is None:
        raise TemplateError("a template printed a value that is not known (None)")
    return value


def _checked(name: str, text: str) -> str:
    if not text:
        raise RenderError(f"{name}: rendered an empty text")
    if len(text) > MAX_OUTPUT:
        raise RenderError(f"{name}: rendered {len(text)} characters (at most {MAX_OUTPUT})")
    return text


@lru_cache(maxsize=8)
def renderer(templates_dir: Path | None = None) -> Renderer:
    """One renderer per templates folder per process (templates are compiled once)."""
    return Renderer(templates_dir)
