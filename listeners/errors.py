"""How a fetch can fail; the run records the class as its status and the message as reason."""

from __future__ import annotations


class ListenError(Exception):
    """A run failed; the message says why in words an operator can act on."""

    status = "failed"


class SourceBlocked(ListenError):
    """The source refused us (401/403): not the same as having nothing new."""

    status = "blocked"


class SourceUnavailable(ListenError):
    """The source timed out or answered 5xx after every retry."""


class RateLimited(ListenError):
    """The source asked us to wait longer than a run may wait."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BadContent(ListenError):
    """The source answered, but with something that cannot be read (bad feed, too large)."""
