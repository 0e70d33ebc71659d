"""Rendering drafts: a sandboxed Jinja2 environment over the shipped and the user's templates.

Templates are named ``<language>/<intent>.<channel>.txt.j2`` (channel ``public`` or
``email``); an e-mail's HTML part comes from ``<language>/<intent>.email.html.j2`` when
there is one, else from ``_layout.html.j2`` with the text's paragraphs. Everything from
outside (mention text, names, handles) reaches a template only as data, cleaned of control
characters and capped in length: it is never template source, and the HTML part escapes
it. A missing variable is an error (StrictUndefined), never an empty gap.

Templates are the user's, so rendering is bounded while it runs, not after: `range` is
capped, repeating or padding a string or list past a size is refused, output is counted
as it is generated, and a deadline is checked on every call, attribute, operator, loop
step and piece of output. Whatever a template raises (an overflow, deep recursion, a
limit) comes out as a RenderError for that one draft.
"""

from __future__ import annotations

import functools
import math
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined, TemplateError
from jinja2.environment import TemplateModule
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

TEMPLATES = Path(__file__).parent / "templates"
CHANNELS = ("public", "email")
LAYOUT = "_layout.html.j2"
# Longest text a template may produce: a runaway loop is an error, not a message.
MAX_OUTPUT = 20_000
# Raw output (before blank lines are tidied) at which rendering stops.
MAX_RAW_OUTPUT = 4 * MAX_OUTPUT
# Longest a template may take to render one draft.
RENDER_SECONDS = 2.0
# Longest `range` a template may make, largest string or list it may build in one step,
# and largest width or count it may hand a filter.
MAX_RANGE = 10_000
MAX_BUILT = 200_000
MAX_SIZE_ARGUMENT = 100_000
# A width or precision of this many digits in a format string pads beyond any message.
_HUGE_FORMAT = re.compile(r"%[-#0 +]*(\d{6,}|\*)|%[-#0 +]*\d*\.\d{6,}|[:<>^=]\d{6,}")

_deadline: ContextVar[float | None] = ContextVar("ascolto_render_deadline", default=None)

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


class TemplateLimit(SecurityError):
    """A template went past a rendering limit (time, size, range)."""


def _tick() -> None:
    """Stop a template that has run past its deadline."""
    deadline = _deadline.get()
    if deadline is not None and time.monotonic() > deadline:
        raise TemplateLimit(f"rendering took longer than {RENDER_SECONDS:g} seconds")


class _Range:
    """`range` for templates: at most MAX_RANGE items, the deadline checked as it runs."""

    def __init__(self, *args: int) -> None:
        self.items = range(*args)
        if len(self.items) > MAX_RANGE:
            raise TemplateLimit(f"range of {len(self.items)} items (at most {MAX_RANGE})")

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: Any) -> Any:
        return self.items[index]

    def __iter__(self) -> Iterator[int]:
        for n, item in enumerate(self.items):
            if n % 256 == 0:
                _tick()
            yield item


def _over(value: Any, limit: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) > limit


def _too_big(value: Any) -> bool:
    return _sized(value) and len(value) > MAX_BUILT


def _checked_size(value: Any) -> Any:
    """`value`, unless a namespace or list grew it past the limit (`{% set n.s = n.s ~
    n.s %}` in a loop)."""
    if _too_big(value):
        raise TemplateLimit(f"a value of more than {MAX_BUILT} items")
    return value


def _sized(value: Any) -> bool:
    return isinstance(value, str | list | tuple)


def _bounded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """A filter refusing a huge width or count (`center(10**9)`, `batch(10**9)`)."""

    @functools.wraps(func)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        _tick()
        # The first argument (after a context, for some filters) is the value: only the
        # filter's own arguments can size what it builds.
        for arg in (*args[1:], *kwargs.values()):
            if _over(arg, MAX_SIZE_ARGUMENT):
                raise TemplateLimit(f"filter {name}: argument {arg} is too large")
        return func(*args, **kwargs)

    return bounded


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """The sandbox with the limits a user's template must keep (see the module's doc)."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals["range"] = _Range
        self.filters = {name: _bounded_filter(name, f) for name, f in self.filters.items()}

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _tick()
        name = getattr(__obj, "__name__", "")
        owner = getattr(__obj, "__self__", None)
        padding = name in ("center", "ljust", "rjust", "zfill", "expandtabs")
        if isinstance(owner, str) and padding and any(_over(a, MAX_BUILT) for a in args):
            raise TemplateLimit(f"str.{name} with a width past {MAX_BUILT}")
        # `~` joins strings without an operator hook: a string grown past the limit is
        # stopped when it is handed to a call (a macro calling itself with `s ~ s`).
        if any(_too_big(a) for a in (*args, *kwargs.values())):
            raise TemplateLimit(f"a value of more than {MAX_BUILT} items")
        return super().call(__context, __obj, *args, **kwargs)

    def getattr(self, obj: Any, attribute: str) -> Any:
        _tick()
        # str.format reaches templates through the sandbox's own wrapper: check it here.
        formatting = attribute in ("format", "format_map")
        if isinstance(obj, str) and formatting and _HUGE_FORMAT.search(obj):
            raise TemplateLimit("a format with a huge width or precision")
        return _checked_size(super().getattr(obj, attribute))

    def getitem(self, obj: Any, argument: Any) -> Any:
        _tick()
        return _checked_size(super().getitem(obj, argument))

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _tick()
        if operator == "*":
            sized, count = (left, right) if _sized(left) else (right, left)
            if _sized(sized) and isinstance(count, int) and len(sized) * count > MAX_BUILT:
                raise TemplateLimit(f"repeating {len(sized)} items {count} times")
        elif operator == "+":
            if _sized(left) and _sized(right) and len(left) + len(right) > MAX_BUILT:
                raise TemplateLimit(f"joining past {MAX_BUILT} items")
        elif operator == "**":
            if (
                isinstance(left, int)
                and isinstance(right, int)
                and abs(left) > 1
                and right * math.log2(abs(left)) > 4096
            ):
                raise TemplateLimit(f"{left} ** {right} is too large")
        elif operator == "%" and isinstance(left, str) and _HUGE_FORMAT.search(left):
            raise TemplateLimit("a format with a huge width or precision")
        return super().call_binop(context, operator, left, right)


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
        self.env = BoundedSandbox(
            loader=ChoiceLoader([FileSystemLoader(f) for f in folders]),
            undefined=StrictUndefined,
            autoescape=lambda name: bool(name and name.endswith(".html.j2")),
            trim_blocks=True,
            lstrip_blocks=True,
            finalize=_refuse_none,
        )
        self.env.filters["it_il"] = lambda day: _italian_article(day, "il ", "l'")
        self.env.filters["it_del"] = lambda day: _italian_article(day, "del ", "dell'")
        self.env.filters["it_num"] = _italian_number
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
        """Render `name` as a module (its text and its `set` variables), within the limits."""
        token = _deadline.set(time.monotonic() + RENDER_SECONDS)
        try:
            template = self.env.get_template(name)
            context = template.new_context(dict(data))
            parts: list[str] = []
            size = 0
            # Template.generate's loop, counting output as it comes and checking the clock.
            for part in template.root_render_func(context):
                size += len(part)
                if size > MAX_RAW_OUTPUT:
                    raise TemplateLimit(f"output passed {MAX_RAW_OUTPUT} characters")
                _tick()
                parts.append(part)
            return TemplateModule(template, context, parts)
        except RecursionError:
            raise RenderError(f"{name}: RecursionError: calls nested too deeply") from None
        except MemoryError:
            raise RenderError(f"{name}: MemoryError: ran out of memory") from None
        except Exception as exc:
            # A user's template can raise anything (OverflowError, ZeroDivisionError, ...):
            # it fails this draft, never the run.
            raise RenderError(f"{name}: {type(exc).__name__}: {exc}") from exc
        finally:
            _deadline.reset(token)


def _italian_article(day: str, plain: str, elided: str) -> str:
    """ "il 3 novembre", "l'8 novembre", "dell'11 novembre": the article before a spoken date."""
    return (elided if day.split(" ", 1)[0] in ("8", "11") else plain) + day


def _italian_number(number: str) -> str:
    """ "n. 1042", but "#1042" as is: the order number as the customer saw it."""
    return number if number.startswith("#") else f"n. {number}"


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
