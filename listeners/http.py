"""The HTTP client every listener uses: politeness, retries and limits in one place.

Requests stay outside: every connection, the first one and each redirect's, is checked
once connected, so a name that resolves (or re-resolves) to a loopback, private,
link-local, metadata or other non-public address is refused, unless the source sets
`allow_private_addresses = true` (a source on the local network, the tests' and the
demo's servers on 127.0.0.1).
"""

from __future__ import annotations

import ipaddress
import logging
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from listeners.errors import (
    BadContent,
    ListenError,
    RateLimited,
    SourceBlocked,
    SourceUnavailable,
    Stopped,
)
from listeners.settings import HttpSettings
from storage.types import is_digits, utcnow

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({500, 502, 503, 504, 520, 521, 522, 523, 524})


@dataclass(frozen=True)
class HttpResponse:
    """A fully read response (body capped at the configured size)."""

    url: str
    status: int
    headers: Mapping[str, str]
    content: bytes
    elapsed: float


class HostThrottle:
    """At most one request per `interval` seconds to each host, across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next: dict[str, float] = {}

    def wait(self, host: str, interval: float, sleep: Callable[[float], Any]) -> None:
        """Block until `host` may be asked again, then book the next slot."""
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next.get(host, now))
            self._next[host] = start + interval
        if start > now:
            sleep(start - now)


THROTTLE = HostThrottle()


class PrivateAddress(ListenError):
    """A request (or a redirect) led to an address that is not on the public internet."""


def public_address(host: str) -> bool:
    """Whether `host` (an IP address) is a public internet address."""
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    # Not global: loopback, private, link-local (169.254.169.254, the cloud metadata
    # service), shared, reserved, multicast and unspecified addresses.
    return address.is_global and not address.is_multicast


def _checked(connection: Any, sock: socket.socket) -> socket.socket:
    peer = sock.getpeername()[0]
    if not public_address(peer):
        sock.close()
        raise PrivateAddress(
            f"{connection.host} is at {peer}, not a public address: refused (set "
            "allow_private_addresses = true on a source that is meant to be local)"
        )
    return sock


class _PublicHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _checked(self, super()._new_conn())


class _PublicHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        return _checked(self, super()._new_conn())


class _PublicHTTPPool(HTTPConnectionPool):
    ConnectionCls = _PublicHTTPConnection


class _PublicHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PublicHTTPSConnection


class PublicOnlyAdapter(HTTPAdapter):
    """Connects only to public addresses: the check is made on the connected socket, so
    neither a redirect nor a DNS answer that changes between lookups gets round it."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _PublicHTTPPool,
            "https": _PublicHTTPSPool,
        }


class HttpClient:
    """GET/POST with timeouts, retries (backoff with jitter), Retry-After and a size cap."""

    def __init__(
        self,
        settings: HttpSettings,
        *,
        session: requests.Session | None = None,
        stop: threading.Event | None = None,
        throttle: HostThrottle = THROTTLE,
        allow_private: bool = False,
    ) -> None:
        self.settings = settings
        self.session = session or requests.Session()
        if not allow_private:
            for scheme in ("http://", "https://"):
                self.session.mount(scheme, PublicOnlyAdapter())
        self.session.headers["User-Agent"] = settings.user_agent
        self.stop = stop or threading.Event()
        self.throttle = throttle
        self.requests_made = 0
        self.network_seconds = 0.0

    def sleep(self, seconds: float) -> None:
        """Wait, but wake up (and give up) when the process is asked to stop."""
        if seconds > 0 and self.stop.wait(seconds):
            raise Stopped("stopped while waiting to retry")

    def get(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> HttpResponse:
        """Fetch `url`; 2xx and 304 are returned, anything else raises a ListenError."""
        return self.request("GET", url, headers=headers, params=params)

    def post(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, str] | None = None,
        json: Any = None,
        auth: tuple[str, str] | None = None,
    ) -> HttpResponse:
        """POST a form (`data`) or a JSON document (`json`), with the same retries and limits
        as `get`. Used for token endpoints; `auth` is HTTP Basic and is never logged."""
        return self.request(
            "POST", url, headers=headers, params=params, data=data, json=json, auth=auth
        )

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, str] | None = None,
        json: Any = None,
        auth: tuple[str, str] | None = None,
    ) -> HttpResponse:
        """Send one request with retries; 2xx and 304 are returned, anything else raises."""
        host = urlsplit(url).netloc
        attempts = self.settings.retries + 1
        last_problem = ""
        for attempt in range(attempts):
            if self.stop.is_set():
                raise Stopped("stopped before the request")
            self.throttle.wait(host, self.settings.per_host_interval, self.sleep)
            try:
                response = self._send_once(method, url, headers, params, data, json, auth)
            except (requests.Timeout, requests.ConnectionError) as exc:
                last_problem = _describe_network_error(exc)
                log.info("retrying %s: %s", url, last_problem)
                if attempt + 1 < attempts:
                    self.sleep(self._backoff(attempt))
                continue
            if response.status == 429 or (
                response.status == 503 and "retry-after" in response.headers
            ):
                wait = retry_after_seconds(response.headers.get("retry-after"))
                if wait is None:
                    wait = self._backoff(attempt)
                if wait > self.settings.max_retry_after:
                    raise RateLimited(
                        f"HTTP {response.status} from {host}: asked to wait {wait:.0f}s, "
                        f"more than http.max_retry_after ({self.settings.max_retry_after:.0f}s)",
                        wait,
                    )
                last_problem = f"HTTP {response.status} (rate limited, Retry-After {wait:.0f}s)"
                if attempt + 1 < attempts:
                    self.sleep(wait)
                continue
            if response.status in RETRY_STATUSES:
                last_problem = f"HTTP {response.status} from {host}"
                if attempt + 1 < attempts:
                    self.sleep(self._backoff(attempt))
                continue
            if response.status in (401, 403):
                raise SourceBlocked(
                    f"HTTP {response.status} from {host}: the source refuses this client; "
                    "check credentials or whether it now requires authentication",
                    response=response,
                )
            if response.status == 304 or 200 <= response.status < 300:
                return response
            raise ListenError(f"HTTP {response.status} from {url}", response=response)
        if last_problem.startswith("HTTP 429") or "rate limited" in last_problem:
            raise RateLimited(f"{url}: still rate limited after {attempts} attempts", 0.0)
        raise SourceUnavailable(f"{url}: {last_problem} (after {attempts} attempts)")

    def _backoff(self, attempt: int) -> float:
        # Jitter keeps sources that failed together from retrying in lockstep.
        return float(self.settings.backoff * 2.0**attempt * random.uniform(0.5, 1.5))

    def _send_once(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        params: Mapping[str, Any] | None,
        data: Mapping[str, str] | None = None,
        json: Any = None,
        auth: tuple[str, str] | None = None,
    ) -> HttpResponse:
        limit = self.settings.max_bytes
        started = time.monotonic()
        self.requests_made += 1
        timeout = (self.settings.connect_timeout, self.settings.read_timeout)
        try:
            with self.session.request(
                method,
                url,
                headers=dict(headers or {}),
                params=params,
                data=data,
                json=json,
                auth=auth,
                timeout=timeout,
                stream=True,
            ) as raw:
                declared = raw.headers.get("Content-Length", "")
                if is_digits(declared) and len(declared) < 19 and int(declared) > limit:
                    raise BadContent(
                        f"{url}: body of {int(declared):,} bytes is larger than "
                        f"http.max_bytes ({limit:,})"
                    )
                # A source that trickles bytes forever is cut off, not waited for.
                deadline = started + self.settings.connect_timeout + 4 * self.settings.read_timeout
                chunks: list[bytes] = []
                size = 0
                for chunk in _arriving(raw, 65536):
                    size += len(chunk)
                    if size > limit:
                        raise BadContent(
                            f"{url}: body larger than http.max_bytes ({limit:,} bytes)"
                        )
                    if time.monotonic() > deadline:
                        raise requests.Timeout(f"{url}: body still arriving after the deadline")
                    chunks.append(chunk)
                return HttpResponse(
                    url=raw.url,
                    status=raw.status_code,
                    headers={k.lower(): v for k, v in raw.headers.items()},
                    content=b"".join(chunks),
                    elapsed=time.monotonic() - started,
                )
        finally:
            self.network_seconds += time.monotonic() - started


def _arriving(raw: requests.Response, size: int) -> Iterator[bytes]:
    """Body chunks as they arrive. iter_content() waits until `size` bytes are in, so a
    trickling source would only meet the deadline check once the whole body was read."""
    try:
        while chunk := raw.raw.read1(size, decode_content=True):
            yield chunk
    except urllib3.exceptions.ReadTimeoutError as exc:
        raise requests.Timeout(str(exc)) from exc
    except urllib3.exceptions.ProtocolError as exc:
        raise requests.ConnectionError(str(exc)) from exc


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if is_digits(value):
        return float(value)
    # Some APIs (Shopify) send fractional seconds, e.g. "2.0".
    if is_digits(value.replace(".", "", 1)):
        return float(value)
    when: datetime
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - utcnow()).total_seconds())


def _describe_network_error(exc: Exception) -> str:
    if isinstance(exc, requests.Timeout):
        return "timed out"
    return f"connection failed ({type(exc).__name__})"
