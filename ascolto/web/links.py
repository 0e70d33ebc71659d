"""Links taken from mentions, shown only when they are safe to follow."""

from __future__ import annotations


def safe_url(url: str | None) -> str | None:
    """A link to show only when it is http(s): never `javascript:` or `data:` from a mention."""
    if url and url.lower().startswith(("https://", "http://")):
        return url
    return None
