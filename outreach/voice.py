"""The brand's voice: its name, tone, greeting and sign-off in each language."""

from __future__ import annotations

from dataclasses import dataclass

from outreach.settings import BrandSettings

# The defaults per tone; `[brand]` settings replace them language by language.
_GREETINGS = {
    "friendly": {"en": "Hi {name},", "it": "Ciao {name},"},
    "formal": {"en": "Dear {name},", "it": "Gentile {name},"},
}
_ANONYMOUS = {
    "friendly": {"en": "Hi,", "it": "Ciao,"},
    "formal": {"en": "Hello,", "it": "Buongiorno,"},
}
_SIGN_OFFS = {"en": "The {brand} team", "it": "Il team {brand}"}


@dataclass(frozen=True)
class Voice:
    """What templates say in the brand's name, for one language."""

    brand: str
    language: str
    formal: bool
    greeting_named: str
    greeting_anonymous: str
    sign_off: str
    signature: str

    def greeting(self, name: str | None) -> str:
        """The greeting for `name`, or the anonymous one when no name is known."""
        if not name:
            return self.greeting_anonymous
        # A plain replacement: settings text is never a format string or a template.
        return self.greeting_named.replace("{name}", name)


def voice_for(brand: BrandSettings, language: str) -> Voice:
    """The brand's voice in `language` (English phrases when the language has none)."""
    greeting = brand.greetings.get(language) or _pick(_GREETINGS[brand.tone], language)
    anonymous = brand.greetings_anonymous.get(language) or _pick(_ANONYMOUS[brand.tone], language)
    sign_off = brand.sign_offs.get(language) or _pick(_SIGN_OFFS, language)
    return Voice(
        brand=brand.name,
        language=language,
        formal=brand.tone == "formal",
        greeting_named=greeting,
        greeting_anonymous=anonymous,
        sign_off=sign_off.replace("{brand}", brand.name),
        signature=brand.signature.strip(),
    )


def _pick(phrases: dict[str, str], language: str) -> str:
    return phrases.get(language) or phrases["en"]
