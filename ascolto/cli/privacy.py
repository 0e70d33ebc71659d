"""`ascolto privacy ...`: find, export and erase everything held about one person.

A person is named by one of `--email`, `--customer` (ascolto's id or the shop's) or
`--handle platform:handle`. `erase` shows what it found and asks before it changes anything
(`--yes` for scripts). Exit codes: 0 done (or nothing found); 1 not confirmed; 2 bad usage.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import Engine

from ascolto.localization import gettext as _
from ascolto.localization import ngettext
from ascolto.privacy.erasure import Found
from storage.privacy import PersonKey

app = typer.Typer(
    help="Personal data: find, export (JSON) or erase everything about one person.",
    no_args_is_help=True,
)

Email = Annotated[str | None, typer.Option("--email", help="The person's e-mail address.")]
Customer = Annotated[
    str | None, typer.Option("--customer", help="A customer id: ascolto's or the shop's.")
]
Handle = Annotated[
    str | None,
    typer.Option("--handle", help="A network handle as platform:handle, e.g. reddit:someone."),
]
Actor = Annotated[
    str, typer.Option("--as", "--by", help="Who asks, for the audit log (a username).")
]


def _engine() -> Engine:
    from ascolto.database import prepare
    from ascolto.settings import get_settings

    return prepare(get_settings())


def _key(email: str | None, customer: str | None, handle: str | None) -> PersonKey:
    from ascolto.privacy.erasure import person_key

    return person_key(email=email, customer=customer, handle=handle)


def _show(found: Found, out: Console, title: str) -> None:
    if found.empty:
        out.print(_("nothing is held about %(person)s", person=found.key.describe()))
        return
    table = Table(title=title)
    table.add_column(_("table"))
    table.add_column(_("rows"), justify="right")
    for name, count in found.counts.items():
        table.add_row(name, str(count))
    out.print(table)


@app.command()
def find(email: Email = None, customer: Customer = None, handle: Handle = None) -> None:
    """Show how many rows of each table are about the person; change nothing."""
    from ascolto.privacy.erasure import find as find_person

    key = _key(email, customer, handle)
    _show(find_person(_engine(), key), Console(), _("held about %(person)s", person=key.describe()))


@app.command()
def export(
    email: Email = None,
    customer: Customer = None,
    handle: Handle = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    actor: Actor = "cli",
) -> None:
    """Write everything held about the person as one JSON document."""
    from ascolto.privacy.erasure import export as export_person

    document = export_person(_engine(), _key(email, customer, handle), actor=actor)
    text = json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        Console(stderr=True).print(_("written to %(path)s", path=output))


@app.command()
def erase(
    email: Email = None,
    customer: Customer = None,
    handle: Handle = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    actor: Actor = "cli",
) -> None:
    """Erase the person everywhere: rows deleted or anonymised, addresses and handles kept
    only as keyed hashes so the person is never contacted again."""
    from ascolto.privacy.erasure import erase as erase_person
    from ascolto.privacy.erasure import find as find_person
    from ascolto.settings import get_settings

    out = Console()
    key = _key(email, customer, handle)
    engine = _engine()
    found = find_person(engine, key)
    _show(found, out, _("to erase: %(person)s", person=key.describe()))
    if found.empty:
        return
    if not yes and not typer.confirm(_("Erase all of this? It cannot be undone"), default=False):
        out.print(_("nothing erased"))
        raise typer.Exit(1)
    done = erase_person(get_settings(), engine, key, actor=actor)
    erased = sum(done.counts.values())
    out.print(
        ngettext(
            "erased: %(num)s row deleted or anonymised",
            "erased: %(num)s rows deleted or anonymised",
            erased,
        )
    )
