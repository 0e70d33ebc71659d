"""Real processes for the distributed tests: a private Redis, `ascolto worker`, `ascolto beat`.

Each test gets a Redis server of its own on a free port (so it can be restarted without
touching anyone else's broker) and a PostgreSQL schema of its own; workers and beat are
`ascolto` subprocesses, killed with SIGKILL where a test says so.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.requirements import missing

ASCOLTO = Path(sys.executable).with_name("ascolto")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(
    what: str, check: Callable[[], bool], timeout: float = 60, every: float = 0.05
) -> None:
    """Poll `check` until it is true; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(every)


class PrivateRedis:
    """A redis-server on a free port of 127.0.0.1 that keeps nothing on disk."""

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            missing("redis-server is not installed (apt-get install redis-server)")
        self.binary = binary
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = (self.folder / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_for("redis to accept connections", self._accepts, timeout=20)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def restart(self) -> None:
        """Kill the server (everything queued in it is lost) and start it again."""
        self.stop()
        self.start()

    def _accepts(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


class Cluster:
    """Workers and a beat running against one settings file, broker and database."""

    def __init__(self, folder: Path, settings: Path, broker_url: str, database_url: str) -> None:
        self.folder = folder
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("ASCOLTO_") or key == "ASCOLTO_TEST_POSTGRES_URL"
        }
        self.env |= {
            "ASCOLTO_CONFIG": str(settings),
            "ASCOLTO_BROKER_URL": broker_url,
            "ASCOLTO_DATABASE_URL": database_url,
            "HF_HUB_OFFLINE": "1",
            "PYTHONUNBUFFERED": "1",
        }
        self.processes: list[subprocess.Popen[bytes]] = []
        self.log_paths: dict[int, Path] = {}

    def _start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        path = self.folder / f"{name}-{len(self.processes)}.log"
        log = path.open("ab")
        process = subprocess.Popen(
            [str(ASCOLTO), *args],
            cwd=self.folder,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        self.processes.append(process)
        self.log_paths[process.pid] = path
        return process

    def log_of(self, process: subprocess.Popen[bytes]) -> str:
        """What one process wrote so far."""
        return self.log_paths[process.pid].read_text(errors="replace")

    def worker(self) -> subprocess.Popen[bytes]:
        """A worker running one task at a time in its own process, so SIGKILL hits the step."""
        return self._start("worker", "worker", "--pool", "solo", "--loglevel", "INFO")

    def beat(self) -> subprocess.Popen[bytes]:
        return self._start("beat", "beat", "--schedule-file", str(self.folder / "beat-schedule"))

    @staticmethod
    def kill(process: subprocess.Popen[bytes]) -> None:
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill(process)

    def logs(self, tail: int | None = 4000) -> str:
        """Every process's log (the last `tail` characters of each), for the message of a
        failing test."""
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-(tail or 0) :]}"
            for path in sorted(self.folder.glob("*.log"))
        )
