"""The web app served by a real uvicorn on 127.0.0.1, and raw HTTP/1.1 requests to it."""

from __future__ import annotations

import select
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn

from ascolto.service import web_server_config
from ascolto.settings import Settings


@contextmanager
def serve(app: Any, settings: Settings | None = None) -> Iterator[tuple[str, int]]:
    """Serve `app` in a thread on a free 127.0.0.1 port until the block ends, with the
    uvicorn settings `ascolto run` uses when `settings` are given."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    if settings is not None:
        config = web_server_config(settings, app)
    else:
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(500):
            if server.started or not thread.is_alive():
                break
            thread.join(0.02)
        assert server.started, "the web app did not start"
        yield "127.0.0.1", port
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@dataclass
class Answer:
    """What came back from a raw request, and how much of the body went out first."""

    status: int
    headers: dict[str, str]
    body: bytes
    sent: int


def chunked_post(
    address: tuple[str, int],
    path: str,
    *,
    total: int,
    chunk: int = 64 * 1024,
    headers: dict[str, str] | None = None,
) -> Answer:
    """POST `total` bytes with Transfer-Encoding: chunked (no Content-Length), stopping
    as soon as the server answers; returns the answer and the bytes sent by then."""
    sock = socket.create_connection(address, timeout=20)
    try:
        head = [f"POST {path} HTTP/1.1", f"Host: {address[0]}", "Transfer-Encoding: chunked"]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        framed = f"{chunk:x}\r\n".encode() + b"x" * chunk + b"\r\n"
        sent = 0
        while sent < total:
            if select.select([sock], [], [], 0)[0]:
                break  # the server has answered: stop uploading
            try:
                sock.sendall(framed)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += chunk
        else:
            sock.sendall(b"0\r\n\r\n")
        return _read_answer(sock, sent)
    finally:
        sock.close()


def _read_answer(sock: socket.socket, sent: int) -> Answer:
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        assert piece, f"connection closed before an answer: {data!r}"
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        piece = sock.recv(65536)
        if not piece:
            break
        body += piece
    return Answer(status, headers, body[:length], sent)
