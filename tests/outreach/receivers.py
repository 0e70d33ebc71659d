"""A real HTTP receiver on 127.0.0.1 for webhooks, Slack-compatible hooks and Mastodon.

It records every request, answers from a scripted list of replies (the last one repeats),
keeps the first delivery of each Idempotency-Key apart from repeats, as a receiver that
drops repeats would, and can hold its answer until released (to kill the sender first).
`answered` is set once an answer went out, so a test can kill the sender after it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Answer:
    """One scripted reply."""

    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Request:
    """A request as received."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """Scripted answers on a free port; `delivered` maps each Idempotency-Key (or each
    request without one) to the first body received with it."""

    def __init__(self) -> None:
        self.answers: list[Answer] = [Answer()]
        self.requests: list[Request] = []
        self.delivered: dict[str, bytes] = {}
        self.hold: threading.Event | None = None
        self.arrived = threading.Event()
        self.answered = threading.Event()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def script(self, *answers: Answer) -> None:
        """Answer the next requests with `answers`, in order; the last one repeats."""
        with self._lock:
            self.answers = list(answers)

    def _next(self) -> Answer:
        with self._lock:
            return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                request = Request(self.path, dict(self.headers), body)
                answer = receiver._next()
                with receiver._lock:
                    receiver.requests.append(request)
                    if 200 <= answer.status < 300:
                        key = self.headers.get("Idempotency-Key") or f"#{len(receiver.requests)}"
                        receiver.delivered.setdefault(key, body)
                receiver.arrived.set()
                if receiver.hold is not None:
                    receiver.hold.wait(60)
                if answer.delay:
                    time.sleep(answer.delay)
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass
                receiver.answered.set()

        return Handler

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self.hold is not None:
            self.hold.set()
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def receiver() -> Iterator[Receiver]:
    """A started Receiver, stopped afterwards."""
    running = Receiver().start()
    try:
        yield running
    finally:
        running.stop()
