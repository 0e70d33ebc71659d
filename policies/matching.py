"""Phrase and pattern matching shared by the rules: case-insensitive, whole words."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated

from pydantic import AfterValidator


def _valid_regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"expected a regular expression; {value!r} is not one: {exc}") from None
    return value


def _non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("expected a phrase, got an empty string")
    return value


Regex = Annotated[str, AfterValidator(_valid_regex)]
Phrase = Annotated[str, AfterValidator(_non_blank)]


def phrase_pattern(phrase: str) -> str:
    """A regex for `phrase` as whole words, any run of spaces matching any other."""
    words = [re.escape(word) for word in phrase.split()]
    body = r"\s+".join(words)
    start = r"\b" if re.match(r"\w", phrase.strip()) else ""
    end = r"\b" if re.search(r"\w$", phrase.strip()) else ""
    return f"{start}{body}{end}"


def compile_any(
    phrases: Iterable[str] = (), patterns: Iterable[str] = ()
) -> re.Pattern[str] | None:
    """One case-insensitive regex matching any phrase or pattern; None when both are empty."""
    parts = [phrase_pattern(p) for p in phrases] + [f"(?:{p})" for p in patterns]
    if not parts:
        return None
    return re.compile("|".join(parts), re.IGNORECASE)


def quoted(matches: Iterable[str], limit: int = 3) -> str:
    """'"a", "b" and 2 more' for a reason text."""
    unique = list(dict.fromkeys(m.strip() for m in matches))
    shown = ", ".join(f'"{m}"' for m in unique[:limit])
    more = len(unique) - limit
    return f"{shown} and {more} more" if more > 0 else shown
