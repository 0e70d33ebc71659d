"""The base of every settings table, in a module of its own so that components can declare
their settings section next to their code without importing all of the settings."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """Base of every settings table: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)
