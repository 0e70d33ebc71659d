"""Plain text from feed and page markup: no tags, no scripts, entities decoded."""

from __future__ import annotations

import re
import unicodedata

from w3lib.html import remove_comments, remove_tags, remove_tags_with_content, replace_entities

# Opening tags too: "text<p>more" must not glue two words together.
_BLOCK = re.compile(r"<\s*/?\s*(br|p|div|li|h[1-6]|tr|blockquote|hr)\b[^>]*>", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


def html_to_text(markup: str | None) -> str:
    """Readable text of an HTML fragment; plain text passes through unchanged."""
    if not markup:
        return ""
    text = remove_comments(markup)
    # Feeds often escape twice ("&amp;eacute;", "&amp;lt;script&amp;gt;"): decode two more
    # layers, removing the markup each layer reveals.
    text = _strip_markup(text)
    for _ in range(2):
        text = _strip_markup(replace_entities(text))
    return clean_text(text)


def _strip_markup(text: str) -> str:
    text = remove_tags_with_content(text, which_ones=("script", "style", "noscript", "template"))
    text = _BLOCK.sub("\n", text)
    return remove_tags(text)


def clean_text(text: str) -> str:
    """Normalise Unicode, drop control characters and lone surrogates, tidy white space."""
    text = text.encode("utf-8", "ignore").decode("utf-8")
    text = unicodedata.normalize("NFC", text)
    text = "".join(
        c for c in text if c in "\n\t" or unicodedata.category(c) not in ("Cc", "Cf", "Cs")
    )
    text = _SPACES.sub(" ", text)
    text = "\n".join(line.strip() for line in text.splitlines())
    return _BLANK_LINES.sub("\n\n", text).strip()
