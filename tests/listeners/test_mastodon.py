"""The Mastodon listener against recorded Mastodon API answers over real HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ascolto.runtime.runner import run_source
from listeners.mastodon import next_link
from tests.feedserver import DATA, FeedServer, Reply
from tests.listeners.apis import MASTODON, MASTODON_HOST, TAG_PATH, api_source, mentions, setup

PAGE1 = json.loads((DATA / "mastodon/tag_page1.json").read_text())


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


def test_follows_link_header_and_maps_statuses(server: FeedServer, make_settings: Any) -> None:
    MASTODON.pages(server)
    settings, engine = setup(make_settings, MASTODON.source(server))

    report = run_source(settings, engine, "src")

    assert report.status == "ok", report.error
    stored = mentions(engine)
    assert len(stored) == 5
    queries = [r.query for r in server.hits_path(TAG_PATH)]
    assert queries[0] == {"limit": "40"}
    assert [q.get("max_id") for q in queries[1:]] == ["117670182912257577", "117667301302001771"]
    remote = stored["https://social.example.it/users/marco/statuses/117670505945187981"]
    assert remote.lang == "it"
    assert remote.text.startswith("Prova delle Acme Buds con il Tab 3: audio a scatti")
    assert "<" not in remote.text
    assert "#acme #AcmeBuds" in remote.text
    assert remote.extra["media"][0].startswith("https://media.social.example.it/")
    assert remote.url == "https://social.example.it/@marco/117670505945187981"
    mention = stored["https://techhub.example/users/priya/statuses/117668191401038669"]
    assert mention.lang is None
    assert mention.text.startswith('@acme my Tab 3 drains 15% overnight & support says "factory')
    warned = stored["https://mastodon.example/users/giulia/statuses/117667301302001771"]
    assert warned.title == "Prezzi Acme Tab 3"


def test_second_run_asks_since_the_newest_id(server: FeedServer, make_settings: Any) -> None:
    MASTODON.pages(server)
    settings, engine = setup(make_settings, MASTODON.source(server))
    run_source(settings, engine, "src")
    before = len(server.requests)

    again = run_source(settings, engine, "src")

    assert again.new == 0
    asked = server.requests[before:]
    assert len(asked) == 1
    assert asked[0].query["since_id"] == "117670602638121146"


def test_instance_requiring_login_is_blocked(server: FeedServer, make_settings: Any) -> None:
    server.route(TAG_PATH, Reply.recorded("mastodon/tag_401_auth_required.json", status=401))
    settings, engine = setup(make_settings, MASTODON.source(server))

    report = run_source(settings, engine, "src")

    assert report.status == "blocked"
    assert "token_env" in (report.error or "")


def test_token_and_status_search(
    server: FeedServer, make_settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MASTO_TOKEN", "tok-123")
    server.route("/api/v2/search", Reply.recorded("mastodon/search_v2.json"))
    body = api_source(
        "src", "mastodon", instances=[server.url("/")], query="acme", token_env="MASTO_TOKEN"
    )
    settings, engine = setup(make_settings, body)

    report = run_source(settings, engine, "src")

    assert report.status == "ok", report.error
    assert len(mentions(engine)) == 2
    (request,) = server.hits_path("/api/v2/search")
    assert request.headers["Authorization"] == "Bearer tok-123"
    assert request.query["type"] == "statuses"
    assert request.query["q"] == "acme"


def test_deleted_status_is_flagged_on_recheck(server: FeedServer, make_settings: Any) -> None:
    MASTODON.pages(server)
    settings, engine = setup(make_settings, MASTODON.source(server, check_deleted=2))
    run_source(settings, engine, "src")
    newest, second = PAGE1[0]["id"], PAGE1[1]["id"]
    server.route(f"/api/v1/statuses/{newest}", Reply(body=json.dumps(PAGE1[0]).encode()))
    server.route(
        f"/api/v1/statuses/{second}", Reply.recorded("mastodon/status_404.json", status=404)
    )

    report = run_source(settings, engine, "src")

    assert report.status == "ok", report.error
    stored = mentions(engine)
    assert stored[PAGE1[1]["uri"]].deleted_at is not None
    assert stored[PAGE1[0]["uri"]].deleted_at is None


def test_link_to_another_host_is_not_followed(server: FeedServer, make_settings: Any) -> None:
    # Unrewritten recorded headers point at mastodon.example, not this server.
    server.route(TAG_PATH, Reply.recorded("mastodon/tag_page1.json"))
    settings, engine = setup(make_settings, MASTODON.source(server))

    report = run_source(settings, engine, "src")

    assert report.status == "ok"
    assert len(mentions(engine)) == 3
    assert any("another host" in w for w in report.warnings)


def test_next_link_parsing() -> None:
    header = (DATA / "mastodon/tag_page1.headers").read_text().splitlines()
    link = next(v for v in header if v.startswith("link:")).split(":", 1)[1]
    assert (
        next_link(link)
        == f"{MASTODON_HOST}/api/v1/timelines/tag/acme?limit=3&max_id=117670182912257577"
    )
    assert next_link('<https://x/?min_id=1>; rel="prev"') is None
