"""What every command shares: the consoles it prints to, the exit codes scripts rely on, and
the database it works on."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from rich.console import Console

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from ascolto.review.queue import Reviewer
    from ascolto.settings import Settings

# Piped output is read by scripts and pagers, not an 80-column terminal: give tables room.
out = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 200)

EXIT_FAILED = 1


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
