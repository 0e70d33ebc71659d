"""A real HTTP server on 127.0.0.1 answering `POST /v1/chat/completions` as the OpenAI API
does, from the recordings in `recordings/openai/` (see its README for where each came from).

Each test scripts the answers in turn (the last repeats): a JSON body with a status, or a
stream of server-sent events written chunk by chunk. An answer can be held until the test
ends, for a client that must time out first. Every request is kept for inspection.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

RECORDINGS = Path(__file__).parent / "recordings" / "openai"


def recording(name: str) -> bytes:
    return (RECORDINGS / name).read_bytes()


@dataclass
class Reply:
    """One scripted answer: a body, or `events` streamed one by one; `hold` waits first."""

    status: int = 200
    body: bytes = b""
    events: list[bytes] = field(default_factory=list)
    hold: bool = False


def stream_of(name: str) -> Reply:
    """A recorded event stream, each `data:` event sent as it would arrive."""
    text = recording(name).decode("utf-8")
    events = [e.strip() + "\n\n" for e in text.split("\n\n") if e.strip()]
    return Reply(events=[e.encode() for e in events])


class ChatServer:
    """Scripted chat-completion answers on a free port of 127.0.0.1."""

    def __init__(self) -> None:
        self.replies: list[Reply] = [Reply(body=recording("chat_completion.json"))]
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def _next(self) -> Reply:
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                server.requests.append(json.loads(body))
                server.headers.append(dict(self.headers))
                reply = server._next()
                if self.path != "/v1/chat/completions":
                    reply = Reply(status=404, body=b'{"error": {"message": "not found"}}')
                if reply.hold:
                    server.release.wait()
                    return
                self.send_response(reply.status)
                if reply.events:
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    for event in reply.events:
                        self.wfile.write(event)
                        self.wfile.flush()
                    return
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

        return Handler

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def chat_server() -> Iterator[ChatServer]:
    server = ChatServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
