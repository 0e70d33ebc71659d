"""`ascolto tokens ...`: tokens for scripts that use the JSON API under /api/v1."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ascolto.cli.common import database
from ascolto.localization import gettext as _
from ascolto.localization import ngettext

app = typer.Typer(help="Tokens for scripts using the JSON API.", no_args_is_help=True)


@app.command("create")
def create(
    username: Annotated[str, typer.Argument(help="The user the token acts as (and whose role).")],
    name: Annotated[str, typer.Option("--name", help="What the token is for.")] = "script",
) -> None:
    """Create a token and print it once: it is stored only as a hash."""
    from ascolto.api_tokens import create_token
    from ascolto.cli.common import out
    from storage.db import session_scope

    with session_scope(database()) as session:
        made = create_token(session, username=username, name=name)
        token_id = made.token.id
    out.print(
        _(
            "token %(id)s for %(name)s; send it as 'Authorization: Bearer ...':",
            id=token_id,
            name=escape(username),
        )
    )
    print(made.secret)


@app.command("list")
def list_command() -> None:
    """Every token: its user, when it was created and last used, and whether it is revoked."""
    from sqlmodel import Session

    from ascolto.cli.common import out
    from storage.api_tokens import list_tokens

    with Session(database()) as session:
        rows = list_tokens(session)
    table = Table(title=ngettext("%(num)s token", "%(num)s tokens", len(rows)))
    for column in (
        _("id"),
        _("name"),
        _("user"),
        _("role"),
        _("created"),
        _("last used"),
        _("revoked"),
    ):
        table.add_column(column, no_wrap=True)
    stamp = "%Y-%m-%d %H:%M UTC"
    for token, user in rows:
        table.add_row(
            str(token.id),
            escape(token.name),
            escape(user.username),
            user.role,
            token.created_at.strftime(stamp),
            token.last_used_at.strftime(stamp) if token.last_used_at else _("never"),
            token.revoked_at.strftime(stamp) if token.revoked_at else "",
        )
    out.print(table)


@app.command("revoke")
def revoke(
    token_id: Annotated[int, typer.Argument(help="The token's id (see `tokens list`).")],
) -> None:
    """Revoke a token: scripts using it are refused from now on."""
    from ascolto.api_tokens import revoke_token
    from ascolto.cli.common import out
    from storage.db import session_scope

    with session_scope(database()) as session:
        revoke_token(session, token_id)
    out.print(_("revoked token %(id)s", id=token_id))
