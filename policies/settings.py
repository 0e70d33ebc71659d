"""The policies' settings: `[policies]` (which policy file, which role by default)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from pydantic import Field

from storage.settings import Section


class PolicySettings(Section):
    file: Path | None = Field(
        None,
        description="Policy file (TOML) every draft is checked against; none: the shipped "
        "policies/default.toml. Validate one with `ascolto policy check FILE`.",
    )
    default_role: str = Field(
        "agent",
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Role whose limits (e.g. compensation caps) apply to a draft nobody has "
        "approved yet.",
    )


class Settings(Protocol):
    """What the policies read of the composed settings (`ascolto.settings.Settings` is one)."""

    @property
    def policies(self) -> PolicySettings: ...
