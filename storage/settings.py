"""The base of every component's settings model, shared validators and secrets; and the
database's own settings (`[database]`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

ENV_PREFIX = "ASCOLTO_"


def _valid_name(value: str) -> str:
    if not value or not all(c.isalnum() or c in "-_." for c in value):
        raise ValueError("use letters, digits, '-', '_' or '.' only")
    return value


Name = Annotated[str, AfterValidator(_valid_name)]


class Section(BaseModel):
    """Base of every settings table: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(Section):
    url: str = Field(
        "sqlite:///ascolto.db",
        description="SQLAlchemy URL of the database: a SQLite file (default) or "
        "postgresql+psycopg://user@host/db. Overridden by ASCOLTO_DATABASE_URL.",
    )
    echo: bool = Field(False, description="Log every SQL statement (for debugging).")


def email_address(value: str) -> str:
    """`value` if it is one plain e-mail address, else ValueError."""
    # Addresses end up in headers: anything that could start another header or list
    # another recipient is refused here, not escaped later.
    local, _, domain = value.partition("@")
    if not local or not domain or "@" in domain or any(c in value for c in ' \t\r\n<>,;"()'):
        raise ValueError("an e-mail address such as ops@example.com")
    return value


EmailAddress = Annotated[str, AfterValidator(email_address)]


def time_zone(value: str) -> str:
    """`value` if it names an IANA time zone, else ValueError."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("an IANA time zone such as Europe/Rome or UTC") from None
    return value


TimeZone = Annotated[str, AfterValidator(time_zone)]


def read_secret(name: str) -> str | None:
    """The secret called `name`: ASCOLTO_SECRET_<NAME> (`-` and `.` as `_`), else the file
    `name` in ASCOLTO_SECRETS_DIR; None when neither has a value."""
    env = f"{ENV_PREFIX}SECRET_{name.upper().replace('-', '_').replace('.', '_')}"
    value = os.environ.get(env, "").strip()
    if value:
        return value
    folder = os.environ.get(f"{ENV_PREFIX}SECRETS_DIR")
    # Only plain names: a secret name never reaches outside the secrets directory.
    if not folder or name in (".", "..") or not all(c.isalnum() or c in "-_." for c in name):
        return None
    try:
        value = (Path(folder) / name).read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return value or None
