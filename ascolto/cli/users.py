"""`ascolto users ...`: the people who sign in to the web app and work the review queue."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ascolto.auth import ROLES, UserError
from ascolto.cli.common import database
from ascolto.localization import gettext as _
from ascolto.localization import ngettext, pgettext

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

app = typer.Typer(help="People who use the web app and the review queue.", no_args_is_help=True)

RoleOption = Annotated[str, typer.Option("--role", help=f"One of: {', '.join(ROLES)}.")]
PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from the first line of standard input instead of a prompt.",
    ),
]


def _password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise UserError(_("no password on standard input"))
        return password
    return str(typer.prompt(_("Password"), hide_input=True, confirmation_prompt=True))


def first_user(engine: Engine) -> None:
    """On a fresh install, create the first administrator from a prompt on a terminal, or
    say exactly how to; nothing when anyone can sign in already."""
    from ascolto.auth import create_user
    from ascolto.cli.common import err
    from storage.db import session_scope
    from storage.users import has_users

    with session_scope(engine) as session:
        if has_users(session):
            return
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        # Logged, not printed: with `[log] format = "json"` every stderr line is JSON.
        logging.getLogger("ascolto.service").warning(
            "no one can sign in to the web app yet: create the first administrator with "
            "`ascolto users add NAME --role admin`"
        )
        return
    err.print(_("No one can sign in to the web app yet: create the first administrator now."))
    while True:
        name = str(typer.prompt(_("Username"), default="admin", err=True))
        try:
            with session_scope(engine) as session:
                user = create_user(session, username=name, password=_password(False), role="admin")
            break
        except UserError as exc:
            err.print(f"[red]{escape(str(exc))}[/]")
    err.print(
        _(
            "added %(name)s (admin): sign in with this name and password",
            name=escape(user.username),
        )
    )


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Username (letters, digits, '.', '_', '-', '@').")],
    role: RoleOption = "agent",
    password_stdin: PasswordStdin = False,
) -> None:
    """Add a user; the password is asked for (twice) or read from standard input."""
    from ascolto.auth import create_user
    from ascolto.cli.common import out
    from storage.db import session_scope

    password = _password(password_stdin)
    with session_scope(database()) as session:
        user = create_user(session, username=name, password=password, role=role)
    out.print(
        _("added %(name)s (%(role)s)", name=escape(user.username), role=user.role),
        highlight=False,
    )


@app.command("list")
def list_command() -> None:
    """Every user with their role and whether they may sign in."""
    from sqlmodel import Session

    from ascolto.cli.common import out
    from storage.users import list_users

    with Session(database()) as session:
        rows = list_users(session)
    table = Table(title=ngettext("%(num)s user", "%(num)s users", len(rows)))
    for column in (_("username"), _("role"), pgettext("user", "active"), _("created")):
        table.add_column(column, no_wrap=True)
    for user in rows:
        table.add_row(
            escape(user.username),
            user.role,
            _("yes") if user.active else _("no (disabled)"),
            user.created_at.strftime("%Y-%m-%d %H:%M UTC"),
        )
    out.print(table)


@app.command("disable")
def disable(name: Annotated[str, typer.Argument(help="Username.")]) -> None:
    """Stop a user from signing in and end their sessions (nothing they did is deleted)."""
    from ascolto.auth import set_active
    from ascolto.cli.common import out
    from storage.db import session_scope

    with session_scope(database()) as session:
        user = set_active(session, name, False)
    out.print(_("disabled %(name)s", name=escape(user.username)), highlight=False)


@app.command("enable")
def enable(name: Annotated[str, typer.Argument(help="Username.")]) -> None:
    """Let a disabled user sign in again."""
    from ascolto.auth import set_active
    from ascolto.cli.common import out
    from storage.db import session_scope

    with session_scope(database()) as session:
        user = set_active(session, name, True)
    out.print(_("enabled %(name)s", name=escape(user.username)), highlight=False)


@app.command("passwd")
def passwd(
    name: Annotated[str, typer.Argument(help="Username.")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Set a new password for a user and end their sessions."""
    from ascolto.auth import find_user, set_password
    from ascolto.cli.common import out
    from storage.db import session_scope

    engine = database()
    with session_scope(engine) as session:
        find_user(session, name)  # an unknown name fails before the prompt
    password = _password(password_stdin)
    with session_scope(engine) as session:
        user = set_password(session, name, password)
    out.print(_("changed the password of %(name)s", name=escape(user.username)), highlight=False)


@app.command("role")
def role_command(
    name: Annotated[str, typer.Argument(help="Username.")],
    role: Annotated[str, typer.Argument(help=f"One of: {', '.join(ROLES)}.")],
) -> None:
    """Give a user another role."""
    from ascolto.auth import set_role
    from ascolto.cli.common import out
    from storage.db import session_scope

    with session_scope(database()) as session:
        user = set_role(session, name, role)
    out.print(
        _("%(name)s is now %(role)s", name=escape(user.username), role=user.role),
        highlight=False,
    )
