"""Column types shared by the tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database.

    SQLite keeps no offset, so values are stored as naive UTC and made aware again on
    the way out; a naive value handed in is refused rather than guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware value")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """Now, timezone-aware, in UTC."""
    return datetime.now(UTC)


def is_digits(text: str) -> bool:
    """Only ASCII digits, at least one.

    `str.isdigit()` is also true for "²" (which `int()` refuses) and for Arabic-Indic digits
    (which it reads): text from outside that is to become a number is checked with this.
    """
    return text.isascii() and text.isdigit()


def whole_number(text: str, *, low: int = 0, high: int = 2**63 - 1) -> int | None:
    """`text` as a whole number from `low` to `high`, or None: never an exception, and no
    conversion of a 5,000-digit string."""
    text = text.strip()
    if not is_digits(text) or len(text.lstrip("0")) > len(str(high)):
        return None
    value = int(text)
    return value if low <= value <= high else None
