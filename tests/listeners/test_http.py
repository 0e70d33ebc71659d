"""The HTTP client against a real local server: retries, Retry-After, politeness, size limits.

Time is only asserted where the server saw it: the spacing between the requests it received.
Those checks allow SPACING_SLACK for the requests' own transit on 127.0.0.1.
"""

from __future__ import annotations

import gzip
import itertools
import socket
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
import requests
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from ascolto.database import prepare
from ascolto.runtime.runner import run_source
from ascolto.settings import HttpSettings, Settings
from listeners.errors import BadContent, ListenError, RateLimited, SourceUnavailable
from listeners.http import HostThrottle, HttpClient, retry_after_seconds
from storage.models import ListenerRun, Mention, Source
from storage.runs import source_health
from tests.conftest import rss_source
from tests.feedserver import FeedServer, Reply

HTTP = {"backoff": 0.05, "retries": 2, "per_host_interval": 0, "read_timeout": 2}
SPACING_SLACK = 0.02
FEED = "rss/rss2_brand_news.xml"
EMPTY_FEED = (
    b'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Quiet</title>'
    b"<link>https://quiet.example/</link><description>nothing yet</description></channel></rss>"
)


def setup(make_settings: Any, body: str, **http: Any) -> tuple[Settings, Engine]:
    settings = make_settings(body, http={**HTTP, **http})
    return settings, prepare(settings)


def client(**changes: Any) -> tuple[HttpClient, list[requests.Response]]:
    """A client on its own session and throttle, and the raw responses it received."""
    session = requests.Session()
    received: list[requests.Response] = []
    session.hooks["response"].append(lambda response, *args, **kwargs: received.append(response))
    settings = HttpSettings(**{**HTTP, **changes})
    return HttpClient(
        settings, session=session, throttle=HostThrottle(), allow_private=True
    ), received


def last_run(engine: Engine, source: str = "news") -> ListenerRun:
    with Session(engine) as session:
        return session.exec(
            select(ListenerRun)
            .join(Source, col(Source.id) == ListenerRun.source_id)
            .where(Source.name == source)
            .order_by(col(ListenerRun.id).desc())
        ).first()  # type: ignore[return-value]


def stored_count(engine: Engine) -> int:
    with Session(engine) as session:
        return len(session.exec(select(Mention)).all())


def gaps(server: FeedServer, *paths: str) -> list[float]:
    """Seconds between successive requests the server received on these paths."""
    times = sorted(hit.at for path in paths for hit in server.hits(path))
    return [b - a for a, b in itertools.pairwise(times)]


# --- retries, recorded as runs ---------------------------------------------------------------


def test_5xx_then_200_succeeds_after_retries(make_settings: Any, server: FeedServer) -> None:
    url = server.route(
        "/feed", Reply(status=500), Reply(status=502), Reply(status=503), Reply.file(FEED)
    )
    settings, engine = setup(make_settings, rss_source("news", url), retries=3)

    report = run_source(settings, engine, "news")

    assert report.status == "ok", report.error
    assert report.new == 8
    assert len(server.hits("/feed")) == 4
    assert last_run(engine).status == "ok"


@pytest.mark.parametrize("status", [500, 502, 503])
def test_persistent_5xx_fails_naming_the_status(
    make_settings: Any, server: FeedServer, status: int
) -> None:
    url = server.route("/feed", Reply(status=status))
    settings, engine = setup(make_settings, rss_source("news", url))

    report = run_source(settings, engine, "news")

    assert report.status == "failed"
    assert report.error is not None
    assert f"HTTP {status}" in report.error
    assert "after 3 attempts" in report.error
    assert len(server.hits("/feed")) == 3  # the first try and 2 retries
    run = last_run(engine)
    assert run.status == "failed"
    assert run.error == report.error
    assert stored_count(engine) == 0


def test_read_timeout_is_retried_then_fails(make_settings: Any, server: FeedServer) -> None:
    url = server.route("/slow", Reply.file(FEED, delay=1.5))
    settings, engine = setup(make_settings, rss_source("news", url), read_timeout=0.3)

    report = run_source(settings, engine, "news")

    assert report.status == "failed"
    assert report.error is not None
    assert "timed out" in report.error
    assert len(server.hits("/slow")) == 3
    assert last_run(engine).error == report.error
    assert stored_count(engine) == 0


def test_read_timeout_then_success(make_settings: Any, server: FeedServer) -> None:
    url = server.route("/slow", Reply.file(FEED, delay=1.0), Reply.file(FEED))
    settings, engine = setup(make_settings, rss_source("news", url), read_timeout=0.3)

    report = run_source(settings, engine, "news")

    assert report.status == "ok", report.error
    assert report.new == 8
    assert len(server.hits("/slow")) == 2


def test_retry_after_beyond_the_limit_fails_without_waiting(
    make_settings: Any, server: FeedServer
) -> None:
    url = server.route("/feed", Reply(status=429, headers={"Retry-After": "3600"}))
    settings, engine = setup(make_settings, rss_source("news", url), max_retry_after=30)

    report = run_source(settings, engine, "news")

    assert report.status == "failed"
    assert report.error is not None
    assert "asked to wait 3600s" in report.error
    assert "http.max_retry_after (30s)" in report.error
    assert len(server.hits("/feed")) == 1  # gave up at once instead of retrying
    assert last_run(engine).status == "failed"


def test_403_is_blocked_not_failed_and_not_empty(make_settings: Any, server: FeedServer) -> None:
    refused = server.route("/refused", Reply(status=403, body=b"Forbidden"))
    quiet = server.route("/quiet", Reply(body=EMPTY_FEED))
    settings, engine = setup(
        make_settings, rss_source("news", refused) + rss_source("quiet", quiet)
    )

    blocked = run_source(settings, engine, "news")
    empty = run_source(settings, engine, "quiet")

    assert blocked.status == "blocked"
    assert blocked.error is not None
    assert "HTTP 403" in blocked.error
    assert not blocked.ok
    assert len(server.hits("/refused")) == 1  # a refusal is not retried
    assert (empty.status, empty.new, empty.error) == ("ok", 0, None)
    with Session(engine) as session:
        health = {h.name: h for h in source_health(session)}
    assert health["news"].working == "blocked"
    assert health["news"].last_status == "blocked"
    assert health["quiet"].working == "working"


def test_per_host_interval_and_user_agent(make_settings: Any, server: FeedServer) -> None:
    first = server.route("/a", Reply.file(FEED))
    second = server.route("/b", Reply(body=EMPTY_FEED))
    agent = "ascolto-test/9.9 (+https://acme.example/listening)"
    settings, engine = setup(
        make_settings,
        rss_source("news", first) + rss_source("other", second),
        per_host_interval=0.5,
        user_agent=agent,
    )

    for name in ("news", "other", "news", "other"):
        assert run_source(settings, engine, name).ok

    hits = server.hits("/a") + server.hits("/b")
    assert len(hits) == 4
    assert all(hit.headers["User-Agent"] == agent for hit in hits)
    assert all(gap >= 0.5 - SPACING_SLACK for gap in gaps(server, "/a", "/b")), gaps(
        server, "/a", "/b"
    )


def test_huge_streamed_body_fails_the_run(make_settings: Any, server: FeedServer) -> None:
    url = server.route("/huge", Reply(stream_bytes=50_000_000))
    settings = make_settings(rss_source("news", url))  # http.max_bytes keeps its default
    assert settings.http.max_bytes == 10_000_000
    engine = prepare(settings)

    report = run_source(settings, engine, "news")

    assert report.status == "failed"
    assert report.error is not None
    assert "larger than http.max_bytes (10,000,000 bytes)" in report.error
    assert len(server.hits("/huge")) == 1
    assert stored_count(engine) == 0


# --- the client on its own -------------------------------------------------------------------


def test_retry_after_seconds_is_honoured(server: FeedServer) -> None:
    url = server.route(
        "/limited", Reply(status=429, headers={"Retry-After": "1"}), Reply(body=b"ok")
    )
    http, _ = client()

    response = http.get(url)

    assert (response.status, response.content) == (200, b"ok")
    assert len(server.hits("/limited")) == 2
    assert gaps(server, "/limited")[0] >= 1.0 - SPACING_SLACK


def test_retry_after_http_date_is_honoured(server: FeedServer) -> None:
    # HTTP dates have whole seconds: "now + 2 s" asks for a wait between 1 and 2 seconds.
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=2), usegmt=True)
    url = server.route(
        "/limited", Reply(status=503, headers={"Retry-After": when}), Reply(body=b"ok")
    )
    http, _ = client()

    assert http.get(url).status == 200
    assert len(server.hits("/limited")) == 2
    assert gaps(server, "/limited")[0] >= 0.9


def test_503_with_a_long_retry_after_is_rate_limited(server: FeedServer) -> None:
    url = server.route("/limited", Reply(status=503, headers={"Retry-After": "600"}))
    http, _ = client(max_retry_after=300)

    with pytest.raises(RateLimited, match=r"asked to wait 600s") as caught:
        http.get(url)

    assert caught.value.retry_after == 600
    assert caught.value.status == "failed"
    assert len(server.hits("/limited")) == 1


def test_still_rate_limited_after_every_retry(server: FeedServer) -> None:
    url = server.route("/limited", Reply(status=429, headers={"Retry-After": "0"}))
    http, _ = client()

    with pytest.raises(RateLimited, match="still rate limited after 3 attempts"):
        http.get(url)
    assert len(server.hits("/limited")) == 3


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (None, None),
        ("", None),
        ("soon", None),
        ("120", 120.0),
        (" 7 ", 7.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # in the past: no wait
    ],
)
def test_retry_after_values(value: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(value) == seconds


def test_retry_after_date_in_the_future() -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(minutes=10), usegmt=True)
    seconds = retry_after_seconds(when)
    assert seconds is not None
    assert 590 <= seconds <= 600


def test_content_length_above_the_cap_is_refused_up_front(server: FeedServer) -> None:
    url = server.route("/feed", Reply.file(FEED))
    http, received = client(max_bytes=1000)

    with pytest.raises(BadContent, match=r"body of 8,237 bytes is larger than http.max_bytes"):
        http.get(url)

    assert len(server.hits("/feed")) == 1
    assert received[0].raw.tell() == 0  # not a byte of the body was read


def test_streamed_body_is_cut_at_the_cap(server: FeedServer) -> None:
    url = server.route("/huge", Reply(stream_bytes=50_000_000))
    http, received = client()  # max_bytes: the default 10 MB

    with pytest.raises(BadContent, match=r"body larger than http.max_bytes \(10,000,000 bytes\)"):
        http.get(url)

    assert "content-length" not in {k.lower() for k in received[0].headers}
    assert received[0].raw.tell() <= 10_000_000 + 65_536  # stopped reading at the cap


def test_trickling_body_is_cut_off(server: FeedServer) -> None:
    body = b"<rss>" + b"x" * 20_000 + b"</rss>"  # at 64 bytes per 50 ms: 16 s to send
    url = server.route("/trickle", Reply(body=body, chunk_delay=0.05))
    # Each chunk arrives well within read_timeout; the whole-body deadline is
    # connect_timeout + 4 * read_timeout = 2.5 s.
    http, received = client(retries=0, connect_timeout=0.5, read_timeout=0.5)

    with pytest.raises(SourceUnavailable, match="timed out"):
        http.get(url)

    assert 0 < received[0].raw.tell() < len(body) // 2


def test_gzip_body_is_decoded(server: FeedServer) -> None:
    feed = b"<rss>" + "Perché €".encode() * 500 + b"</rss>"
    url = server.route("/gz", Reply(body=gzip.compress(feed), headers={"Content-Encoding": "gzip"}))
    http, _ = client()

    assert http.get(url).content == feed


def test_connection_refused_is_retried_then_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    http, _ = client(retries=1)

    with pytest.raises(SourceUnavailable, match=r"connection failed .*after 2 attempts"):
        http.get(f"http://127.0.0.1:{port}/feed")
    assert http.requests_made == 2


def test_404_is_an_error_and_not_retried(server: FeedServer) -> None:
    url = server.url("/missing")
    http, _ = client()

    with pytest.raises(ListenError, match="HTTP 404"):
        http.get(url)
    assert len(server.hits("/missing")) == 1


def test_stop_interrupts_a_retry_wait(server: FeedServer) -> None:
    url = server.route("/limited", Reply(status=429, headers={"Retry-After": "60"}))
    stop = threading.Event()
    http = HttpClient(HttpSettings(**HTTP), stop=stop, throttle=HostThrottle(), allow_private=True)
    timer = threading.Timer(0.2, stop.set)
    timer.start()
    try:
        with pytest.raises(ListenError, match="stopped"):
            http.get(url)
    finally:
        timer.cancel()
    assert len(server.hits("/limited")) == 1


def test_host_throttle_books_one_slot_per_interval() -> None:
    throttle = HostThrottle()
    waits: list[float] = []

    throttle.wait("a.example", 10.0, waits.append)
    throttle.wait("b.example", 10.0, waits.append)  # another host: no wait
    throttle.wait("a.example", 10.0, waits.append)
    throttle.wait("a.example", 10.0, waits.append)

    assert len(waits) == 2
    assert 9.0 < waits[0] <= 10.0
    assert 19.0 < waits[1] <= 20.0
    throttle.wait("c.example", 0.0, waits.append)
    throttle.wait("c.example", 0.0, waits.append)
    assert len(waits) == 2
