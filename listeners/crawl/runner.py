"""One crawl in a child process: `python -m listeners.crawl.runner` (child) and `run_crawl`
(parent).

Scrapy's Twisted reactor can run once per process, and the scheduler runs a source many times
per process, so every crawl gets a fresh interpreter. The parent writes a JSON config to the
child's stdin; the child writes one JSON object per line to stdout, each item as it is
scraped, then a `{"type": "stats"}` line with Scrapy's stats and the errors it logged. Logs go
to stderr. The parent kills a child that outlives the crawl's timeout, or the process's stop
request, and turns every way a child can fail into a ListenError with a reason.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from listeners.errors import ListenError, SourceUnavailable, Stopped

MODULE = "listeners.crawl.runner"
# The project root: the child imports the same code as the parent, whatever its cwd.
ROOT = Path(__file__).resolve().parents[2]
STDERR_TAIL = 2000
POLL_SECONDS = 0.2
MAX_LOGGED_ERRORS = 20
# Loggers whose ERROR records describe a request that failed for good: the spider's errback
# reports those pages itself, so they are page failures, not a failed crawl.
PAGE_FAILURE_LOGGERS = ("scrapy.downloadermiddlewares.retry",)


@dataclass
class CrawlOutput:
    """What a finished crawl produced: its records in order, Scrapy's stats, logged errors."""

    records: list[dict[str, Any]] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    stderr: str = ""


def run_crawl(
    config: dict[str, Any],
    *,
    timeout: float,
    stop: threading.Event | None = None,
    python: str = sys.executable,
) -> CrawlOutput:
    """Run one crawl in a child process and return its output.

    Raises SourceUnavailable when the crawl outlives `timeout` (the child is killed), Stopped
    when `stop` is set meanwhile, and ListenError when the child exits with an error or
    without its summary line.
    """
    stop = stop or threading.Event()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env.setdefault("PYTHONIOENCODING", "utf-8")
    started = time.monotonic()
    deadline = started + timeout
    process = subprocess.Popen(  # noqa: S603  (our own interpreter and module, no shell)
        [python, "-m", MODULE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    payload: bytes | None = json.dumps(config).encode("utf-8")
    killed_because: str | None = None
    while True:
        wait = max(0.0, min(POLL_SECONDS, deadline - time.monotonic()))
        try:
            out, err = process.communicate(payload, timeout=wait)
            break
        except subprocess.TimeoutExpired:
            payload = None  # sent with the first call; communicate() keeps sending it
            if stop.is_set():
                killed_because = "stop"
            elif time.monotonic() >= deadline:
                killed_because = "timeout"
            if killed_because:
                process.kill()
                out, err = process.communicate()
                break
    output = _parse(out, err)
    if killed_because == "stop":
        raise Stopped("stopped while the crawl was running; the crawl was killed")
    if killed_because == "timeout":
        pages = sum(1 for r in output.records if r.get("type") == "page")
        raise SourceUnavailable(
            f"crawl did not finish within its timeout of {timeout:g}s and was killed "
            f"({pages} page(s) read so far){_last_words(output.stderr)}"
        )
    if process.returncode != 0:
        raise ListenError(
            f"crawl process failed with exit code {process.returncode}{_last_words(output.stderr)}"
        )
    if not output.stats:
        raise ListenError(f"crawl process ended without its summary{_last_words(output.stderr)}")
    return output


def _parse(out: bytes, err: bytes) -> CrawlOutput:
    output = CrawlOutput(stderr=err.decode("utf-8", "replace"))
    for line in out.decode("utf-8", "replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # not ours (a library printing to stdout)
        if not isinstance(record, dict):
            continue
        if record.get("type") == "stats":
            stats = record.get("stats")
            output.stats = stats if isinstance(stats, dict) else {}
            errors = record.get("errors")
            output.errors = [str(e) for e in errors] if isinstance(errors, list) else []
        else:
            output.records.append(record)
    return output


def _last_words(stderr: str) -> str:
    """The end of the child's stderr (a traceback's last lines), for the run's reason."""
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    tail = "\n".join(lines[-3:])
    return ": " + tail[-STDERR_TAIL:]


# --- the child ---------------------------------------------------------------------------------


class _ErrorLog(logging.Handler):
    """Keeps the messages of ERROR records, which Scrapy logs for failures it swallowed
    (an exception in the spider, an unreadable robots.txt), except page failures."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.messages) >= MAX_LOGGED_ERRORS or record.name in PAGE_FAILURE_LOGGERS:
            return
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not hide the error itself
            message = str(record.msg)
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and str(exc) not in message:
            message += f" ({type(exc).__name__}: {exc})"
        self.messages.append(message[:1000])


def _emit(stream: IO[bytes], record: dict[str, Any]) -> None:
    line = json.dumps(record, ensure_ascii=False, default=str, separators=(",", ":"))
    stream.write(line.encode("utf-8") + b"\n")
    stream.flush()


def main() -> int:
    """Read the config from stdin, crawl, write JSON lines to stdout."""
    config = json.loads(sys.stdin.buffer.read() or b"{}")
    out = sys.stdout.buffer
    # Anything else that prints goes to stderr: stdout carries only the JSON lines.
    sys.stdout = sys.stderr

    from scrapy import signals
    from scrapy.crawler import CrawlerProcess

    from listeners.crawl.robots import settings_for_scrapy
    from listeners.crawl.spider import ReviewSpider

    process = CrawlerProcess(settings=settings_for_scrapy(config.get("settings") or {}))
    errors = _ErrorLog()
    logging.getLogger().addHandler(errors)
    crawler = process.create_crawler(ReviewSpider)

    def scraped(item: Any, **_: Any) -> None:
        _emit(out, dict(item))

    crawler.signals.connect(scraped, signal=signals.item_scraped)
    process.crawl(crawler, config=config)
    process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    _emit(out, {"type": "stats", "stats": stats, "errors": errors.messages})
    return 0


if __name__ == "__main__":
    sys.exit(main())
