"""Babel extraction for the command line: its help texts, which gettext cannot mark.

Typer takes a command's help from its docstring and an option's from `help=`, once, at
import. `ascolto.cli.common.speak_help` translates them for each run; this extractor puts
them in the catalogue, read from the commands themselves, beside the strings of `main.py`
that `_()` marks. babel.cfg maps `main.py` to it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any

from babel.messages.extract import extract_python


def help_texts() -> list[str]:
    """Every help text of `ascolto` and its commands, each once, in the order of `--help`."""
    import typer.main

    from ascolto.cli.common import help_holders
    from ascolto.cli.main import app

    found: dict[str, None] = {}
    for holder, attribute in help_holders(typer.main.get_command(app)):
        text = getattr(holder, attribute, None)
        if text:
            found[text] = None
    return list(found)


def extract(
    fileobj: IO[bytes],
    keywords: Mapping[str, Any],
    comment_tags: Collection[str],
    options: Any,
) -> Iterator[tuple[Any, ...]]:
    """The strings `main.py` marks, then every help text (no line: they come from many)."""
    yield from extract_python(fileobj, keywords, comment_tags, options)
    for text in help_texts():
        yield 0, "", text, []
