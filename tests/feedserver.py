"""A real HTTP server on 127.0.0.1 that replays recorded documents with scripted behaviour.

Each path gets a queue of `Reply`s; the last one repeats. Requests are recorded so tests can
check the headers a listener sent (conditional GET, User-Agent).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

DATA = Path(__file__).parent / "data"


@dataclass
class Reply:
    """One scripted answer."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    etag: str | None = None
    last_modified: str | None = None
    content_type: str = "application/rss+xml; charset=utf-8"
    chunk_delay: float = 0.0
    stream_bytes: int = 0

    @classmethod
    def file(cls, relative: str, **kwargs: object) -> Reply:
        """A reply whose body is a recorded file under tests/data."""
        return cls(body=(DATA / relative).read_bytes(), **kwargs)  # type: ignore[arg-type]

    @classmethod
    def recorded(
        cls,
        relative: str,
        headers: str | None = None,
        *,
        replace: dict[str, str] | None = None,
        **kwargs: object,
    ) -> Reply:
        """A recorded API answer: body from `relative`, status line and headers from the
        `.headers` sidecar (`headers`, default: same name with `.headers` if it exists).
        `replace` rewrites text in the headers, e.g. a real host in a Link to this server."""
        body = (DATA / relative).read_bytes()
        sidecar = DATA / (headers or str(Path(relative).with_suffix(".headers")))
        values: dict[str, object] = {"content_type": "application/json; charset=utf-8"}
        found: dict[str, str] = {}
        if sidecar.exists():
            lines = sidecar.read_text(encoding="utf-8").splitlines()
            values["status"] = int(lines[0].split()[1])
            for line in lines[1:]:
                name, _, value = line.partition(":")
                key = name.strip().lower()
                if key == "content-type":
                    values["content_type"] = value.strip()
                elif key and key not in ("content-length", "transfer-encoding", "connection"):
                    found[name.strip()] = value.strip()
        for old, new in (replace or {}).items():
            found = {k: v.replace(old, new) for k, v in found.items()}
        values["headers"] = found
        values.update(kwargs)
        return cls(body=body, **values)  # type: ignore[arg-type]


@dataclass
class Seen:
    """A request as the server received it."""

    path: str
    headers: dict[str, str]
    at: float
    method: str = "GET"
    body: bytes = b""

    @property
    def query(self) -> dict[str, str]:
        """The query string's parameters (the last value of each)."""
        return dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))


class _QuietServer(ThreadingHTTPServer):
    """A client hanging up mid-answer (a listener giving up on a slow body) is expected."""

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class FeedServer:
    """Scripted replies per path, on a free port of 127.0.0.1."""

    def __init__(self) -> None:
        self.routes: dict[str, list[Reply]] = {}
        # Routes that also match query parameters: path -> [(params, replies)].
        self.query_routes: dict[str, list[tuple[dict[str, str], list[Reply]]]] = {}
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        # A short poll keeps stop() quick, so every test can have a server of its own.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def route(self, path: str, *replies: Reply, query: dict[str, str] | None = None) -> str:
        """Script `path`; returns its full URL.

        With `query`, the replies answer only requests whose query string has all of those
        parameters (the route with the most matching parameters wins; plain routes are the
        fallback), so page 2 of a listing can differ from page 1.
        """
        with self._lock:
            if query:
                routes = [r for r in self.query_routes.get(path, []) if r[0] != query]
                self.query_routes[path] = [*routes, (dict(query), list(replies))]
            else:
                self.routes[path] = list(replies)
        return self.url(path)

    def hits(self, path: str) -> list[Seen]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def hits_path(self, path: str) -> list[Seen]:
        """Requests to `path` whatever their query string."""
        with self._lock:
            return [r for r in self.requests if r.path.split("?", 1)[0] == path]

    def _next(self, path: str, query: dict[str, str] | None = None) -> Reply | None:
        with self._lock:
            queue = self.routes.get(path)
            matching = [
                (params, replies)
                for params, replies in self.query_routes.get(path, [])
                if all((query or {}).get(k) == v for k, v in params.items())
            ]
            if matching:
                queue = max(matching, key=lambda route: len(route[0]))[1]
            if not queue:
                return None
            return queue.pop(0) if len(queue) > 1 else queue[0]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self._answer("POST", self.rfile.read(length) if length else b"")

            def do_GET(self) -> None:
                self._answer("GET", b"")

            def _answer(self, method: str, body: bytes) -> None:
                path = self.path.split("?", 1)[0]
                seen = Seen(self.path, dict(self.headers), time.time(), method, body)
                with server._lock:
                    server.requests.append(seen)
                reply = server._next(path, seen.query)
                if reply is None:
                    self._send(404, b"not found", {"Content-Type": "text/plain"})
                    return
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.etag and self.headers.get("If-None-Match") == reply.etag:
                    self._send(304, b"", {"ETag": reply.etag})
                    return
                if reply.last_modified and self.headers.get("If-Modified-Since") == (
                    reply.last_modified
                ):
                    self._send(304, b"", {"Last-Modified": reply.last_modified})
                    return
                headers = {"Content-Type": reply.content_type, **reply.headers}
                if reply.etag:
                    headers["ETag"] = reply.etag
                if reply.last_modified:
                    headers["Last-Modified"] = reply.last_modified
                if reply.stream_bytes:
                    self._stream(reply, headers)
                    return
                self._send(reply.status, reply.body, headers, reply.chunk_delay)

            def _send(
                self, status: int, body: bytes, headers: dict[str, str], chunk_delay: float = 0
            ) -> None:
                try:
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if not chunk_delay:
                        self.wfile.write(body)
                        return
                    for start in range(0, len(body), 64):
                        self.wfile.write(body[start : start + 64])
                        self.wfile.flush()
                        time.sleep(chunk_delay)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _stream(self, reply: Reply, headers: dict[str, str]) -> None:
                # A huge body with no Content-Length, as a hostile feed would send it.
                try:
                    self.send_response(reply.status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Connection", "close")
                    self.end_headers()
                    chunk = b"<item><title>x</title></item>" * 2048
                    sent = 0
                    self.wfile.write(b'<?xml version="1.0"?><rss version="2.0"><channel>')
                    while sent < reply.stream_bytes:
                        self.wfile.write(chunk)
                        sent += len(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.close_connection = True

        return Handler

    def start(self) -> FeedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def feed_server() -> Iterator[FeedServer]:
    """A started FeedServer, stopped afterwards."""
    server = FeedServer().start()
    try:
        yield server
    finally:
        server.stop()
