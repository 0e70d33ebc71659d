"""Language identification with lingua, restricted to the languages we expect.

Restricting the candidate set is what makes lingua both fast (about 0.3 ms per tweet in
high-accuracy mode, against 15-20 ms for the encoder) and right on two-word posts.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

DEFAULT_LANGUAGES = ("en", "it", "fr", "de", "es", "pt", "nl")
UNDETERMINED = "und"


@lru_cache(maxsize=4)
def _detector(codes: tuple[str, ...]) -> LanguageDetector:
    languages = [Language.from_iso_code_639_1(getattr(IsoCode639_1, c.upper())) for c in codes]
    return LanguageDetectorBuilder.from_languages(*languages).build()


class LanguageIdentifier:
    """Detects ISO 639-1 codes; texts without letters get "und" and score 0."""

    def __init__(self, languages: Sequence[str] = DEFAULT_LANGUAGES) -> None:
        unknown = [c for c in languages if not hasattr(IsoCode639_1, c.upper())]
        if unknown:
            raise ValueError(f"unknown ISO 639-1 language codes: {unknown}")
        self.languages = tuple(languages)
        self._detector = _detector(self.languages)

    def detect(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """(code, confidence) per text, the most likely candidate first."""
        if not texts:
            return []
        ranked = self._detector.compute_language_confidence_values_in_parallel(list(texts))
        out = []
        for values in ranked:
            if not values or values[0].value <= 0.0:
                out.append((UNDETERMINED, 0.0))
            else:
                best = values[0]
                out.append((best.language.iso_code_639_1.name.lower(), float(best.value)))
        return out
