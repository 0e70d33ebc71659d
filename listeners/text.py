"""Plain text from what sources send: HTML, Markdown or plain text, decoded exactly once.

Every listener turns a source's text into a mention's text through `to_text` (or one of the
three functions it dispatches to), named after the format the source declares, so the same
payload always reads the same way:

- `html_to_text`: tags, comments and scripts removed, character references decoded once.
  Markup a page *shows* (`&lt;div&gt;` in a code sample) stays as text (`<div>`).
- `markdown_to_text`: character references decoded once, nothing else removed: Markdown
  has no tags, so `in <module>` is text.
- `clean_text`: already plain (JSON strings, feedparser's text/plain values): only tidied.
"""

from __future__ import annotations

import html
import re
import unicodedata
from typing import Literal

from w3lib.html import remove_comments, remove_tags, remove_tags_with_content

TextFormat = Literal["html", "markdown", "text"]

# Opening tags too: "text<p>more" must not glue two words together.
_BLOCK = re.compile(r"<\s*/?\s*(br|p|div|li|h[1-6]|tr|blockquote|hr|pre)\b[^>]*>", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
_REFERENCE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# What a reference decodes to when it stands for markup rather than prose: left alone after
# the one decoding, because a page showing "&lt;b&gt;" literally means those characters.
_MARKUP_CHARACTERS = frozenset("<>&\"'")


def to_text(value: str | None, kind: TextFormat) -> str:
    """Readable text of `value` written in `kind` (html, markdown or text)."""
    if kind == "html":
        return html_to_text(value)
    if kind == "markdown":
        return markdown_to_text(value)
    return clean_text(value or "")


def html_to_text(markup: str | None) -> str:
    """Readable text of an HTML fragment; plain text passes through unchanged.

    Tags are removed first, then character references decoded once, so escaped markup
    (`&lt;script&gt;`) is kept as the text the page shows, never parsed as markup.
    """
    if not markup:
        return ""
    text = remove_comments(markup)
    text = remove_tags_with_content(text, which_ones=("script", "style", "noscript", "template"))
    text = _BLOCK.sub("\n", text)
    text = remove_tags(text)
    return clean_text(_decode_once(text))


def markdown_to_text(markdown: str | None) -> str:
    """Readable text of Markdown (Reddit bodies): references decoded once, nothing removed.

    Angle brackets in Markdown are text (`in <module>`, `<3`), so no tag is stripped.
    """
    if not markdown:
        return ""
    return clean_text(_decode_once(markdown))


def _decode_once(text: str) -> str:
    """Decode character references once, then repair a second layer of prose references.

    Feeds that escape twice leave "perch&eacute;" or "l&#8217;app" after one decoding; those
    stand for letters and punctuation and are decoded too. References to markup characters
    (`&lt;`, `&amp;`, …) left after one decoding are what the source shows, and stay.
    """
    text = html.unescape(text)
    return _REFERENCE.sub(_prose_reference, text)


def _prose_reference(match: re.Match[str]) -> str:
    reference = match.group(0)
    decoded = html.unescape(reference)
    if decoded == reference or decoded in _MARKUP_CHARACTERS:
        return reference
    return decoded


def clean_text(text: str) -> str:
    """Normalise Unicode, drop control characters and lone surrogates, tidy white space."""
    text = text.encode("utf-8", "ignore").decode("utf-8")
    text = unicodedata.normalize("NFC", text)
    # Printable text (the usual case) has no control, format or surrogate character: only
    # the rest is looked at character by character.
    if not text.replace("\n", "").replace("\t", "").isprintable():
        text = "".join(
            c for c in text if c in "\n\t" or unicodedata.category(c) not in ("Cc", "Cf", "Cs")
        )
    text = _SPACES.sub(" ", text)
    text = "\n".join(line.strip() for line in text.splitlines())
    return _BLANK_LINES.sub("\n\n", text).strip()
