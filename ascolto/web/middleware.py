"""ASGI layers around the whole app, outside FastAPI's own error handling, so that they
hold for every answer: a 500, a 404 of an unknown path or a refused body included.

- `SecurityHeaders`: the same security headers on every response; `Cache-Control:
  no-store` on every page that is not a static file, so no signed-in page is kept by a
  browser or a shared cache.
- `BodyLimit`: a request body is read at most up to `[web] max_body_bytes`; past that the
  request is answered 413 at once, whether or not it declared a Content-Length, before any
  route sees it.
- `ClientAddress`: the client's address is the connection's peer; `X-Forwarded-For` or
  `Forwarded` are believed only from a peer in `[web] trusted_proxies` (none by default),
  so a forged header cannot reset the login throttle or write the audit log.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Scripts and styles only from the app's own files (no inline code, no CDN), no plugins,
# no <base> rewriting, forms post only here, and no framing by other sites.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# Set on every response, replacing whatever a route set.
FORCED_HEADERS = {
    b"content-security-policy": CONTENT_SECURITY_POLICY.encode(),
    b"x-content-type-options": b"nosniff",
    b"x-frame-options": b"DENY",
    b"cross-origin-opener-policy": b"same-origin",
}
# Set unless the route chose its own (the survey pages send no referrer at all).
DEFAULT_HEADERS = {
    b"referrer-policy": b"same-origin",
    b"cache-control": b"no-store",
}
STATIC_PREFIX = "/static/"


class SecurityHeaders:
    """Adds the security headers to every HTTP response the wrapped app sends."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        defaults = dict(DEFAULT_HEADERS)
        if str(scope.get("path", "")).startswith(STATIC_PREFIX):
            # The app's own scripts and styles may be cached; they hold nothing personal.
            del defaults[b"cache-control"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() not in FORCED_HEADERS
                ]
                present = {name.lower() for name, _ in headers}
                headers += list(FORCED_HEADERS.items())
                headers += [(k, v) for k, v in defaults.items() if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """Answers 413 to a request whose body passes `limit` bytes, counted as it arrives.

    The body is read here, chunk by chunk, before the app is called: memory per request is
    bounded by the limit whatever the client declares (or does not: chunked uploads), and
    no route runs for a body it would have refused.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            await self._refuse(send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # The client went away: let the app see it as it would have.
                await self.app(scope, _replay([message], receive), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        whole: Message = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, _replay([whole], receive), send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"detail": f"request body larger than {self.limit} bytes"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    # The rest of the upload is not read: this connection cannot carry another.
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            text = value.decode("latin-1").strip()
            # Only plain ASCII digits: int() also takes other scripts' digits, and huge numbers.
            if text.isascii() and text.isdigit() and len(text) <= 18:
                return int(text)
            return None
    return None


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A receive that gives `messages` first, then whatever the client sends next."""
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_FORWARDED_FOR = re.compile(r'(?i)(?:^|[;,\s])for\s*=\s*("[^"]*"|[^;,\s]+)')


def parse_networks(values: Sequence[str]) -> list[Network]:
    """Addresses or networks (`10.0.0.5`, `10.0.0.0/8`, `::1`) as networks."""
    return [ipaddress.ip_network(value.strip(), strict=False) for value in values]


class ClientAddress:
    """Sets the request's client address from forwarding headers of trusted proxies only.

    With no trusted proxy the peer is the client and the headers are ignored. Behind
    trusted proxies the client is the last address in the chain that is not one of them
    (addresses left of it were written by the client and prove nothing).
    """

    def __init__(self, app: ASGIApp, trusted: Sequence[Network]) -> None:
        self.app = app
        self.trusted = list(trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if scope["type"] == "http" and self.trusted and client and self._trusted(client[0]):
            found = self._forwarded_client(scope)
            if found is not None:
                scope = {**scope, "client": (found, 0)}
        await self.app(scope, receive, send)

    def _trusted(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.trusted)

    def _forwarded_client(self, scope: Scope) -> str | None:
        chain: list[str] = []
        for name, value in scope.get("headers", []):
            text = value.decode("latin-1")
            if name.lower() == b"forwarded":
                chain += [_strip_port(m.group(1).strip('"')) for m in _FORWARDED_FOR.finditer(text)]
            elif name.lower() == b"x-forwarded-for":
                chain += [_strip_port(part.strip()) for part in text.split(",") if part.strip()]
        for hop in reversed(chain):
            if not self._trusted(hop):
                return hop if _is_address(hop) else None
        return None


def _strip_port(value: str) -> str:
    """`[2001:db8::1]:4711` → `2001:db8::1`, `192.0.2.1:80` → `192.0.2.1`."""
    if value.startswith("["):
        return value[1:].partition("]")[0]
    if value.count(":") == 1:
        return value.partition(":")[0]
    return value


def _is_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True
