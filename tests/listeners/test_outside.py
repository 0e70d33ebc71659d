"""Outgoing requests stay outside (issue 22, point 6): no listener reaches a loopback,
private, link-local or metadata address, first or by redirect, unless its source says
`allow_private_addresses = true`. Only 127.0.0.x servers are used."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from scrapy import Request
from scrapy.exceptions import IgnoreRequest

import listeners.http
from ascolto.database import prepare
from ascolto.runtime.runner import run_source
from ascolto.settings import HttpSettings
from listeners.crawl.guard import PublicOnly
from listeners.http import HostThrottle, HttpClient, PrivateAddress, public_address
from listeners.reviews import ReviewsOptions, scrapy_settings
from tests.feedserver import FeedServer, Reply

HTTP = {"backoff": 0.05, "retries": 0, "per_host_interval": 0, "read_timeout": 3}


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fd00:ec2::254", False),  # metadata over IPv6
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("not an address", False),
        ("93.184.215.14", True),
        ("2606:4700::6810:84e5", True),
        ("::ffff:93.184.215.14", True),
    ],
)
def test_public_addresses(address: str, public: bool) -> None:
    assert public_address(address) is public


def client(allow_private: bool = False) -> HttpClient:
    return HttpClient(HttpSettings(**HTTP), throttle=HostThrottle(), allow_private=allow_private)


def test_a_private_first_address_is_refused_before_any_request(server: FeedServer) -> None:
    url = server.route("/feed.xml", Reply(body=b"<rss/>"))
    with pytest.raises(PrivateAddress, match=r"127\.0\.0\.1, not a public address"):
        client().get(url)
    assert server.requests == []
    # Allowed explicitly, the same request goes through.
    assert client(allow_private=True).get(url).status == 200


@pytest.fixture
def inner_server() -> Iterator[tuple[str, list[str]]]:
    """A server on 127.0.0.2 standing for a private service; records what reaches it."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "6")
            self.end_headers()
            self.wfile.write(b"secret")

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.2", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.2:{httpd.server_address[1]}/latest/meta-data/", hits
    finally:
        httpd.shutdown()
        thread.join(10)
        httpd.server_close()


def test_a_redirect_to_a_private_address_is_refused(
    server: FeedServer, inner_server: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    inner, hits = inner_server
    # 127.0.0.1 stands for a public site here; 127.0.0.2 stays private.
    monkeypatch.setattr(listeners.http, "public_address", lambda host: host == "127.0.0.1")
    url = server.route("/feed.xml", Reply(status=302, headers={"Location": inner}))
    with pytest.raises(PrivateAddress, match=r"127\.0\.0\.2, not a public address"):
        client().get(url)
    assert hits == []
    assert len(server.requests) == 1


def test_a_source_without_the_setting_fails_with_the_reason(
    make_settings: Any, server: FeedServer
) -> None:
    url = server.route("/feed.xml", Reply(body=b"<rss/>"))
    settings = make_settings(f'[[sources]]\nname = "inside"\nkind = "rss"\nurl = "{url}"\n')
    report = run_source(settings, prepare(settings), "inside")
    assert report.status == "failed"
    assert "not a public address" in (report.error or "")
    assert server.requests == []


def test_crawls_refuse_private_addresses_unless_allowed() -> None:
    with pytest.raises(IgnoreRequest, match="not a public address"):
        PublicOnly().process_request(Request("http://127.0.0.1:9/prodotti"))
    with pytest.raises(IgnoreRequest, match="not a public address"):
        PublicOnly().process_request(Request("http://localhost:9/prodotti"))
    base = {"name": "r", "kind": "reviews", "start_urls": ["https://shop.example/p"]}
    guarded = scrapy_settings(HttpSettings(), ReviewsOptions(**base))
    assert guarded["DOWNLOADER_MIDDLEWARES"] == {"listeners.crawl.guard.PublicOnly": 50}
    allowed = scrapy_settings(HttpSettings(), ReviewsOptions(**base, allow_private_addresses=True))
    assert allowed["DOWNLOADER_MIDDLEWARES"] == {}
