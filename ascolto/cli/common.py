"""What every command shares: the consoles it prints to, the exit codes scripts rely on, and
the database it works on."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from rich.console import Console

from ascolto.localization import gettext

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from ascolto.review.queue import Reviewer
    from ascolto.settings import Settings

# Piped output is read by scripts and pagers, not an 80-column terminal: give tables room.
out = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 200)

EXIT_FAILED = 1

# Where each command and parameter keeps its English help once it speaks another language.
_ENGLISH = "_ascolto_english_help"


def help_holders(command: Any) -> Iterator[tuple[Any, str]]:
    """(object, attribute) of every help text of `command`, its parameters and sub-commands:
    what typer read from docstrings and `help=` at import."""
    yield command, "help"
    yield command, "short_help"
    for param in command.params:
        yield param, "help"
    for sub in getattr(command, "commands", {}).values():
        yield from help_holders(sub)


def speak_help(command: Any) -> None:
    """Put the help of `command` and of everything under it in the current language.

    Typer builds the click commands anew for every run, so this changes this run's help
    alone; the English stays beside each text, so a second call (the settings chose another
    language than the environment) starts from it again."""
    for holder, attribute in help_holders(command):
        english = getattr(holder, _ENGLISH + attribute, None)
        if english is None:
            english = getattr(holder, attribute, None)
            if not english:
                continue
            setattr(holder, _ENGLISH + attribute, english)
        setattr(holder, attribute, gettext(english))


def database(settings: Settings | None = None) -> Engine:
    """The database of `settings` (default: the process's), migrated, with sources and
    products mirrored into it."""
    # Imported here: `ascolto --help` should not pay for the database layer.
    from ascolto.database import prepare
    from ascolto.settings import get_settings

    return prepare(settings or get_settings())


def acting_reviewer(engine: Engine, username: str) -> Reviewer:
    """The person named by `--as`, for the review queue and label corrections."""
    from sqlmodel import Session

    from ascolto.review.queue import Reviewer

    with Session(engine) as session:
        return Reviewer.named(session, username)
