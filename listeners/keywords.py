"""Keyword filters that ignore case and accents and match whole words."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable


def fold(text: str) -> str:
    """Lower-case text without accents: "Perché" -> "perche"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class KeywordFilter:
    """Matches text that contains any of the keywords as whole words or phrases."""

    def __init__(self, keywords: Iterable[str]) -> None:
        words = [fold(k).strip() for k in keywords if k.strip()]
        self.keywords = words
        self._pattern = (
            re.compile("|".join(rf"(?<!\w){re.escape(w)}(?!\w)" for w in words)) if words else None
        )

    def matches(self, *texts: str | None) -> bool:
        """True when no keywords are set, or one of them occurs in any of the texts."""
        if self._pattern is None:
            return True
        return any(self._pattern.search(fold(t)) for t in texts if t)
