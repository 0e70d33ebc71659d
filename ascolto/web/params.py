"""Parameters shared by the pages and the API."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

# Ids are 32-bit on every database: a larger number is refused, not sent to SQL.
MAX_ID = 2_147_483_647
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
