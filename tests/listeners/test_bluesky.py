"""The Bluesky listener against recorded XRPC answers over real HTTP."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from ascolto.runtime.runner import run_source
from tests.feedserver import DATA, FeedServer, Reply
from tests.listeners.apis import BLUESKY, SEARCH_PATH, mentions, runs, setup

SESSION_PATH = "/xrpc/com.atproto.server.createSession"
ACCESS = json.loads((DATA / "bluesky/create_session.json").read_text())["accessJwt"]
REPLY_URI = "at://did:plc:zxfvndxh4vasbqbcvxmcen5k/app.bsky.feed.post/3n326kkax422b"
PARENT_URI = "at://did:plc:ug4h6cfwen6fzi5sohb4oxmw/app.bsky.feed.post/3n323vyoo7s2b"


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


def test_pages_by_cursor_and_maps_posts(server: FeedServer, make_settings: Any) -> None:
    BLUESKY.pages(server)
    settings, engine = setup(make_settings, BLUESKY.source(server))

    report = run_source(settings, engine, "src")

    assert report.status == "ok", report.error
    stored = mentions(engine)
    assert len(stored) == 6
    first, second = server.hits_path(SEARCH_PATH)
    assert first.query == {"q": "acme", "sort": "latest", "limit": "100"}
    assert second.query["cursor"] == "3"
    reply = stored[REPLY_URI]
    assert reply.kind == "comment"
    assert reply.parent_external_id == PARENT_URI
    assert reply.lang == "en"
    # createdAt "2026-11-24T09:02:17+01:00" is 08:02:17 UTC.
    assert reply.published_at == datetime(2026, 11, 24, 8, 2, 17, tzinfo=UTC)
    assert reply.url == "https://bsky.app/profile/samtech.bsky.social/post/3n326kkax422b"
    no_lang = stored["at://did:plc:zxfvndxh4vasbqbcvxmcen5k/app.bsky.feed.post/3n2ykzjnyic2b"]
    assert no_lang.lang is None
    brand = stored[PARENT_URI]
    assert brand.extra["link"] == "https://acme.example/support/tab3-2-1-1"


def test_second_run_sends_since(server: FeedServer, make_settings: Any) -> None:
    BLUESKY.pages(server)
    settings, engine = setup(make_settings, BLUESKY.source(server))
    run_source(settings, engine, "src")

    again = run_source(settings, engine, "src")

    assert again.new == 0
    assert server.hits_path(SEARCH_PATH)[-1].query["since"] == "2026-11-24T09:01:44.512000Z"


@pytest.mark.parametrize("status", [401, 403])
def test_refused_anonymous_search_is_blocked(
    status: int, server: FeedServer, make_settings: Any
) -> None:
    server.route(SEARCH_PATH, Reply.recorded("bluesky/error_auth_missing.json", status=status))
    settings, engine = setup(make_settings, BLUESKY.source(server))

    report = run_source(settings, engine, "src")

    assert report.status == "blocked"
    assert "AuthMissing" in (report.error or "")
    assert "identifier_env" in (report.error or "")
    assert runs(engine)[-1].status == "blocked"


def test_app_password_session(
    server: FeedServer, make_settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BSKY_HANDLE", "ascolto-bot.bsky.social")
    monkeypatch.setenv("BSKY_APP_PASSWORD", "abcd-efgh-ijkl-mnop")
    server.route(SESSION_PATH, Reply.recorded("bluesky/create_session.json"))
    BLUESKY.pages(server)
    body = BLUESKY.source(
        server,
        base_url="http://127.0.0.1:9",  # the public AppView must not be used
        identifier_env="BSKY_HANDLE",
        password_env="BSKY_APP_PASSWORD",
        service_url=server.url(""),
    )
    settings, engine = setup(make_settings, body)

    report = run_source(settings, engine, "src")

    assert report.status == "ok", report.error
    assert len(mentions(engine)) == 6
    (login,) = server.hits_path(SESSION_PATH)
    assert login.method == "POST"
    assert json.loads(login.body) == {
        "identifier": "ascolto-bot.bsky.social",
        "password": "abcd-efgh-ijkl-mnop",
    }
    for request in server.hits_path(SEARCH_PATH):
        assert request.headers["Authorization"] == f"Bearer {ACCESS}"


def test_wrong_app_password_is_blocked(
    server: FeedServer, make_settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BSKY_HANDLE", "ascolto-bot.bsky.social")
    monkeypatch.setenv("BSKY_APP_PASSWORD", "abcd-efgh-ijkl-mnop")
    server.route(
        SESSION_PATH,
        Reply(
            status=401,
            body=b'{"error":"AuthenticationRequired","message":"Invalid identifier or password"}',
        ),
    )
    body = BLUESKY.source(
        server,
        identifier_env="BSKY_HANDLE",
        password_env="BSKY_APP_PASSWORD",
        service_url=server.url(""),
    )
    settings, engine = setup(make_settings, body)

    report = run_source(settings, engine, "src")

    assert report.status == "blocked"
    assert "BSKY_APP_PASSWORD" in (report.error or "")
    assert "abcd-efgh" not in (report.error or "")


def test_unset_credential_variable_fails_naming_it(server: FeedServer, make_settings: Any) -> None:
    body = BLUESKY.source(server, identifier_env="NOPE_HANDLE", password_env="NOPE_PASSWORD")
    settings, engine = setup(make_settings, body)

    report = run_source(settings, engine, "src")

    assert report.status == "failed"
    assert "NOPE_HANDLE" in (report.error or "")
