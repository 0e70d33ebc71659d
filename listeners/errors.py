"""How a fetch can fail; the run records the class as its status and the message as reason."""

from __future__ import annotations

from typing import Any


class ListenError(Exception):
    """A run failed; the message says why in words an operator can act on."""

    status = "failed"

    def __init__(self, message: str = "", *, response: Any = None) -> None:
        super().__init__(message)
        # The HttpResponse that caused it, when there was one: lets a listener tell, say, a
        # "blocked" page from a private forum before rewording the error.
        self.response = response


class SourceBlocked(ListenError):
    """The source refused us (401/403): not the same as having nothing new."""

    status = "blocked"


class Stopped(ListenError):
    """The process was asked to stop while the run waited; the next run starts over."""

    status = "interrupted"


class SourceUnavailable(ListenError):
    """The source timed out or answered 5xx after every retry."""


class RateLimited(ListenError):
    """The source asked us to wait longer than a run may wait."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BadContent(ListenError):
    """The source answered, but with something that cannot be read (bad feed, too large)."""
