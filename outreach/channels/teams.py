"""Where a team's messages go: its settings and its named secrets, or a clear failure."""

from __future__ import annotations

from outreach.channels.base import DeliveryError
from outreach.channels.settings import Settings, TeamSettings
from storage.errors import SettingsError
from storage.settings import read_secret


def team_of(settings: Settings, name: str, channel: str) -> TeamSettings:
    """The team a message is addressed to; a permanent failure when it is not configured."""
    try:
        return settings.team(name)
    except SettingsError as exc:
        raise DeliveryError(f"{channel}: {exc}", permanent=True) from None


def secret_of(name: str | None, what: str) -> str:
    """The named secret's value; a permanent failure (fix it, then retry) when it is unset."""
    value = read_secret(name) if name else None
    if value is None:
        env = f"ASCOLTO_SECRET_{(name or '').upper().replace('-', '_').replace('.', '_')}"
        raise DeliveryError(
            f"{what}: secret {name!r} is not set ({env} or a file {name!r} in ASCOLTO_SECRETS_DIR)"
            if name
            else f"{what}: not configured",
            permanent=True,
        )
    return value
