"""Who the client is: the peer, unless a configured proxy says otherwise (issue 22, point 3)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from ascolto.database import prepare
from ascolto.settings import Settings, load_settings
from ascolto.web.app import create_app
from ascolto.web.middleware import ClientAddress, parse_networks
from storage.models import AuditEvent
from tests.conftest import write_settings
from tests.web.conftest import PASSWORD, add_user, csrf_token
from tests.web.live import serve


def build(tmp_path: Path, **web: object) -> tuple[Settings, Engine]:
    path = write_settings(tmp_path / "settings.toml", f"sqlite:///{tmp_path / 'a.db'}")
    settings = load_settings(path, web={"enabled": False, "login_attempts": 3, **web})
    engine = prepare(settings)
    add_user(engine, "giulia", "supervisor")
    return settings, engine


def attempt(base: str, password: str, forged: str) -> requests.Response:
    """One sign-in from a fresh browser, claiming to be `forged` in both headers."""
    with requests.Session() as browser:
        form = browser.get(f"{base}/login", timeout=10)
        claims = {"X-Forwarded-For": forged, "Forwarded": f'for="{forged}"'}
        return browser.post(
            f"{base}/login",
            data={"username": "giulia", "password": password, "csrf_token": csrf_token(form.text)},
            headers=claims,
            allow_redirects=False,
            timeout=10,
        )


def audited_addresses(engine: Engine) -> list[str]:
    with Session(engine) as session:
        rows = session.exec(
            select(AuditEvent).where(col(AuditEvent.action).startswith("user.login"))
        ).all()
        return [row.details["address"] for row in rows]


@pytest.fixture
def untrusting(tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    settings, engine = build(tmp_path)
    with serve(create_app(settings, engine), settings) as (host, port):
        yield f"http://{host}:{port}", engine


def test_forged_forwarding_headers_do_not_reset_the_login_throttle(
    untrusting: tuple[str, Engine],
) -> None:
    base, engine = untrusting
    for n in range(3):
        assert attempt(base, "wrong password", f"198.51.100.{n}").status_code == 401
    # A new forged address each time: still the same client, still throttled.
    refused = attempt(base, PASSWORD, "198.51.100.99")
    assert refused.status_code == 429
    assert set(audited_addresses(engine)) == {"127.0.0.1"}


@pytest.fixture
def behind_proxy(tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    settings, engine = build(tmp_path, trusted_proxies=["127.0.0.0/8"])
    with serve(create_app(settings, engine), settings) as (host, port):
        yield f"http://{host}:{port}", engine


def test_a_trusted_proxy_names_the_client(behind_proxy: tuple[str, Engine]) -> None:
    base, engine = behind_proxy
    for _ in range(3):
        assert attempt(base, "wrong password", "203.0.113.5").status_code == 401
    assert attempt(base, PASSWORD, "203.0.113.5").status_code == 429
    # Another client behind the same proxy is not held back by the first one's failures.
    assert attempt(base, PASSWORD, "203.0.113.6").status_code == 303
    assert set(audited_addresses(engine)) == {"203.0.113.5", "203.0.113.6"}


@pytest.mark.parametrize(
    ("peer", "headers", "expected"),
    [
        ("192.0.2.9", {"x-forwarded-for": "203.0.113.1"}, "192.0.2.9"),  # not a proxy
        ("10.0.0.2", {"x-forwarded-for": "203.0.113.1"}, "203.0.113.1"),
        # The client wrote the left part itself; the proxy appended what it saw.
        ("10.0.0.2", {"x-forwarded-for": "1.2.3.4, 203.0.113.1"}, "203.0.113.1"),
        ("10.0.0.2", {"x-forwarded-for": "203.0.113.1, 10.0.0.7"}, "203.0.113.1"),
        ("10.0.0.2", {"forwarded": 'for="[2001:db8::5]:4711";proto=https'}, "2001:db8::5"),
        ("10.0.0.2", {"forwarded": "for=198.51.100.7:80, for=10.0.0.3"}, "198.51.100.7"),
        ("10.0.0.2", {"x-forwarded-for": "not-an-address"}, "10.0.0.2"),
        ("10.0.0.2", {}, "10.0.0.2"),
    ],
)
def test_forwarding_headers_parsed(peer: str, headers: dict[str, str], expected: str) -> None:
    seen: list[str] = []

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        seen.append(scope["client"][0])

    middleware = ClientAddress(app, parse_networks(["10.0.0.0/8"]))
    scope = {
        "type": "http",
        "client": (peer, 5000),
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
    }
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    # A thread of its own: an earlier test may leave an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, middleware(scope, None, None)).result()  # type: ignore[arg-type]
    assert seen == [expected]


def test_trusted_proxies_must_be_addresses(tmp_path: Path) -> None:
    path = write_settings(tmp_path / "settings.toml", "sqlite:///x.db")
    with pytest.raises(Exception, match="expected an IP address or network"):
        load_settings(path, web={"trusted_proxies": ["proxy.local"]})
