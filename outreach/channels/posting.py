"""One HTTP POST to a receiver, and what its outcome means for delivery.

Retries are the outbox's job (with backoff across passes), so a request is made once. A
network failure before the request left (refused, unresolvable, connect timeout) is a plain
transient error; one after (no answer in time, connection dropped) may have delivered, so
it is `uncertain`: the outbox sends it again only where the receiver drops repeats.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import requests
import urllib3

from listeners.http import retry_after_seconds
from outreach.channels.base import DeliveryError
from outreach.channels.settings import Settings

MAX_ANSWER_BYTES = 65536
# Retrying may help: the receiver timed out, is rate limiting, or is having trouble.
TRANSIENT_STATUSES = frozenset({408, 425, 429})


@dataclass(frozen=True)
class Answer:
    """The receiver's answer (body capped at 64 KiB)."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def snippet(self, limit: int = 200) -> str:
        """The start of the body as one line of text, for error messages."""
        text = self.body[:limit].decode("utf-8", "replace")
        return " ".join(text.split())


def post(
    url: str,
    body: bytes,
    *,
    headers: Mapping[str, str],
    settings: Settings,
    where: str,
) -> Answer:
    """POST `body` once. `where` names the receiver in errors: never the URL, which may
    hold a credential (Slack webhook URLs do)."""
    timeout = (settings.http.connect_timeout, settings.http.read_timeout)
    sent_headers = {"User-Agent": settings.http.user_agent, **headers}
    try:
        with requests.post(
            url,
            data=body,
            headers=sent_headers,
            timeout=timeout,
            allow_redirects=False,
            stream=True,
        ) as response:
            content = response.raw.read(MAX_ANSWER_BYTES, decode_content=True) or b""
            return Answer(
                status=response.status_code,
                headers={k.lower(): v for k, v in response.headers.items()},
                body=content,
            )
    except (requests.ConnectTimeout, requests.exceptions.InvalidURL) as exc:
        raise DeliveryError(f"{where}: {_describe(exc)}") from None
    except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
        if not _left(exc):
            raise DeliveryError(f"{where}: {_describe(exc)}") from None
        raise DeliveryError(
            f"{where}: {_describe(exc)} after the request was sent; it may have arrived",
            uncertain=True,
        ) from None


def check_answer(answer: Answer, where: str) -> None:
    """Return on 2xx; raise a DeliveryError saying whether a retry can help otherwise."""
    status = answer.status
    if 200 <= status < 300:
        return
    detail = f"{where} answered HTTP {status}" + (f": {answer.snippet()}" if answer.body else "")
    if status in TRANSIENT_STATUSES or status >= 500:
        wait = retry_after_seconds(answer.headers.get("retry-after"))
        raise DeliveryError(detail, retry_after=wait)
    if 300 <= status < 400:
        detail += f" (redirect to {answer.headers.get('location', '?')}; not followed for a POST)"
    raise DeliveryError(detail, permanent=True)


def _left(exc: BaseException) -> bool:
    """False when the failure proves the request never reached the receiver."""
    seen: BaseException | None = exc
    visited: set[int] = set()
    while seen is not None and id(seen) not in visited:
        visited.add(id(seen))
        if isinstance(
            seen,
            urllib3.exceptions.NewConnectionError
            | urllib3.exceptions.NameResolutionError
            | urllib3.exceptions.ConnectTimeoutError
            | ConnectionRefusedError,
        ):
            return False
        # requests wraps urllib3's MaxRetryError, whose `reason` is the real failure.
        reason = getattr(seen, "reason", None)
        args = getattr(seen, "args", ())
        nested = args[0] if args and isinstance(args[0], BaseException) else None
        seen = (
            reason
            if isinstance(reason, BaseException)
            else nested or seen.__cause__ or seen.__context__
        )
    return True


def _describe(exc: BaseException) -> str:
    if isinstance(exc, requests.ConnectTimeout):
        return "connection timed out"
    if isinstance(exc, requests.ReadTimeout):
        return "no answer in time"
    if not _left(exc):
        return "connection failed"
    return f"connection lost ({type(exc).__name__})"
