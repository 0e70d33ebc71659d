"""A local replay server for `ascolto demo`: recorded API responses served on 127.0.0.1.

`recordings/manifest.json` maps request paths (and query parameters) to recorded bodies
and headers. Absolute URLs of the real services inside bodies and headers (next-page links)
are rewritten to this server, so pagination works as it does against the real APIs. Two
behaviours show ascolto's politeness: a route can answer 429 with Retry-After the first
time it is asked, and a route can fail with 503 every other time (the "flaky" source).
Every date in a body is moved by `offset` (see `timeshift`), so the recordings read as the
last days before the demo runs.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ascolto.demo.timeshift import offset_for, shift_text

RECORDINGS = Path(__file__).parent / "recordings"


@dataclass
class Route:
    """One recorded answer, chosen by path and (a subset of) query parameters."""

    path: str
    file: str
    query: dict[str, str] = field(default_factory=dict)
    method: str = "GET"
    status: int = 200
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    rate_limit_first: bool = False
    flaky: bool = False
    hits: int = 0

    def matches(self, method: str, path: str, query: dict[str, str]) -> bool:
        return (
            method == self.method
            and path == self.path
            and all(query.get(k) == v for k, v in self.query.items())
        )


class ReplayServer:
    """Serves the recorded routes until `close()`."""

    def __init__(
        self,
        routes: list[Route],
        rewrite: dict[str, str],
        port: int = 0,
        offset: timedelta = timedelta(0),
    ) -> None:
        self.routes = routes
        self.rewrite_hosts = rewrite
        self.offset = offset
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @classmethod
    def from_recordings(
        cls, directory: Path = RECORDINGS, port: int = 0, now: datetime | None = None
    ) -> ReplayServer:
        """A server for the manifest in `directory`, its dates moved to end at `now`
        (the present by default; pass the recording time to replay them unchanged)."""
        from storage.types import utcnow

        manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
        routes = [Route(**entry) for entry in manifest["routes"]]
        offset = offset_for(now or utcnow())
        server = cls(routes, manifest.get("rewrite", {}), port, offset)
        server.directory = directory
        return server

    directory: Path = RECORDINGS

    @property
    def base(self) -> str:
        """http://127.0.0.1:PORT of this server."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        """Stop serving and free the port."""
        self._server.shutdown()
        self._server.server_close()

    def _pick(self, method: str, path: str, query: dict[str, str]) -> Route | None:
        # The most specific route (most query parameters) wins.
        candidates = [r for r in self.routes if r.matches(method, path, query)]
        return max(candidates, key=lambda r: len(r.query), default=None)

    def _rewrite(self, text: str) -> str:
        for real, prefix in self.rewrite_hosts.items():
            text = text.replace(real, f"{self.base}{prefix}")
        return text

    def answer(self, method: str, target: str) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and body for a request line."""
        parts = urlsplit(target)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        route = self._pick(method, parts.path, query)
        if route is None:
            return 404, {"Content-Type": "text/plain"}, b"no recording for this request"
        with self._lock:
            route.hits += 1
            hits = route.hits
        if route.rate_limit_first and hits == 1:
            return 429, {"Retry-After": "1", "Content-Type": "text/plain"}, b"slow down"
        if route.flaky and hits % 2 == 1:
            return 503, {"Content-Type": "text/plain"}, b"temporarily unavailable"
        raw = (self.directory / route.file).read_bytes()
        body = self._rewrite_body(raw, route.content_type)
        headers = {"Content-Type": route.content_type}
        headers.update({k: self._rewrite(v) for k, v in route.headers.items()})
        return route.status, headers, body

    def _rewrite_body(self, raw: bytes, content_type: str) -> bytes:
        if "charset=" in content_type and "utf-8" not in content_type.lower():
            return raw  # recorded in another charset: served byte for byte
        try:
            text = shift_text(raw.decode("utf-8"), self.offset)
            return self._rewrite(text).encode("utf-8")
        except UnicodeDecodeError:
            return raw

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _reply(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                status, headers, body = server.answer(method, self.path)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self._reply("GET")

            def do_POST(self) -> None:
                self._reply("POST")

        return Handler
