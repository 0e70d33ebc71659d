"""Turn raw mention text into encoder input, or say why it cannot be classified."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Long posts: the opening carries the point, and encoders truncate at a few hundred
# tokens anyway; cutting characters first keeps tokenisation of 100 kB posts cheap.
MAX_CHARS = 2000

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
# TweetEval (the sentiment training data) replaced handles with "@user": match it.
_HANDLE = re.compile(r"(?<![\w@])@\w{1,30}")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_NEWLINES = re.compile(r"\n{3,}")
_WORD_CHAR = re.compile(r"\w", re.UNICODE)

REASON_EMPTY = "empty"
REASON_ONLY_URLS = "only_urls"
REASON_NO_TEXT = "no_text"


@dataclass(frozen=True, slots=True)
class CleanText:
    """What the encoder sees (`text`) and, if it should not, why not (`reason`)."""

    text: str
    reason: str | None
    truncated: bool
    has_words: bool


def _is_emoji(char: str) -> bool:
    return unicodedata.category(char) == "So" or 0x1F000 <= ord(char) <= 0x1FAFF


def repair_unicode(text: str) -> str:
    """Replace lone surrogates and drop control characters (newlines and tabs kept)."""
    text = text.encode("utf-8", "replace").decode("utf-8", "replace")
    return "".join(
        ch
        for ch in text
        if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs", "Co", "Cn")
    )


def clean(raw: str) -> CleanText:
    """Repair, normalise and truncate `raw`; emoji-only text is still classified."""
    text = repair_unicode(raw)
    text = unicodedata.normalize("NFC", text)
    truncated = len(text) > MAX_CHARS
    if truncated:
        cut = text[:MAX_CHARS]
        # Cut at a word boundary so the last token is not a fragment.
        space = cut.rfind(" ", MAX_CHARS - 100)
        text = cut[:space] if space > 0 else cut
    without_urls = _URL.sub(" ", text)
    text = _HANDLE.sub("@user", without_urls)
    text = _NEWLINES.sub("\n\n", _SPACES.sub(" ", text)).strip()
    has_words = bool(_WORD_CHAR.search(text.replace("@user", "")))
    if has_words or any(_is_emoji(ch) for ch in text):
        return CleanText(text, None, truncated, has_words)
    if not raw.strip():
        reason = REASON_EMPTY
    elif _URL.search(raw):
        reason = REASON_ONLY_URLS
    else:
        reason = REASON_NO_TEXT
    return CleanText(text, reason, truncated, has_words)
