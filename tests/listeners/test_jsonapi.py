"""The generic JSON listener, reading real API formats through paths in settings."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ascolto.runtime.runner import run_source
from storage.errors import SettingsError
from tests.feedserver import DATA, FeedServer, Reply
from tests.listeners.apis import JSON, SEARCH_PATH, api_source, mentions, quarantined, setup

HN = json.loads((DATA / "hackernews/search_by_date_page0.json").read_text())
HN_FIELDS = {
    "external_id": "objectID",
    "text": "comment_text",
    "title": "story_title",
    "author_handle": "author",
    "published_at": "created_at_i",
    "parent_external_id": "parent_id",
}


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


def test_maps_fields_by_path_and_follows_the_next_token(
    server: FeedServer, make_settings: Any
) -> None:
    JSON.pages(server)
    settings, engine = setup(make_settings, JSON.source(server))

    report = run_source(settings, engine, "src")

    assert report.status == "ok", report.error
    stored = mentions(engine)
    assert len(stored) == 6
    post = stored["at://did:plc:43ywjdr24b2j2jeruv3df3c6/app.bsky.feed.post/3n32buuirut2b"]
    assert post.lang == "it"
    assert post.text.startswith("Aggiornato l'Acme Tab 3 al firmware 2.1.1")
    first, second = server.hits_path(SEARCH_PATH)
    assert first.query == {"q": "acme"}
    assert second.query == {"q": "acme", "cursor": "3"}


def test_html_stripped_items_quarantined_and_auth_header(
    server: FeedServer, make_settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HN_AUTH", "Token abc")
    server.route("/hn", Reply(body=json.dumps(HN).encode()))
    body = api_source(
        "src",
        "json",
        url=server.url("/hn"),
        items_path="hits",
        fields=HN_FIELDS,
        auth_header_env="HN_AUTH",
        auth_header_name="X-Api-Key",
    )
    settings, engine = setup(make_settings, body)

    report = run_source(settings, engine, "src")

    assert report.status == "ok", report.error
    stored = mentions(engine)
    # The story has no comment_text: quarantined with the reason, the comments stored.
    assert set(stored) == {"46017109", "46016881", "46013402"}
    assert stored["46016881"].text.startswith("I'm in Milan, same issue. Acme support told me")
    assert stored["46016881"].parent_external_id == "46016750"
    (bad,) = quarantined(engine)
    assert bad.external_id == "46015533"
    assert "comment_text" in bad.reason
    assert json.loads(bad.payload)["objectID"] == "46015533"
    assert server.hits_path("/hn")[0].headers["X-Api-Key"] == "Token abc"


def test_next_address_and_cursor_field(server: FeedServer, make_settings: Any) -> None:
    page1 = {"data": {"items": HN["hits"][:2], "links": {"next": "/api?page=2"}}}
    page2 = {"data": {"items": HN["hits"][2:], "links": {"next": None}}}
    server.route("/api", Reply(body=json.dumps(page1).encode()))
    server.route("/api", Reply(body=json.dumps(page2).encode()), query={"page": "2"})
    fields = {**HN_FIELDS, "text": "_highlightResult.author.value"}
    body = api_source(
        "src",
        "json",
        url=server.url("/api"),
        items_path="data.items",
        fields=fields,
        next_path="data.links.next",
        cursor_field="created_at",
        cursor_param="since",
    )
    settings, engine = setup(make_settings, body)

    first = run_source(settings, engine, "src")
    before = len(server.requests)
    second = run_source(settings, engine, "src")

    assert first.new == 4
    assert second.new == 0
    (again,) = server.requests[before:]
    assert again.query == {"since": "2026-11-24T08:52:31.000000Z"}


def test_wrong_items_path_fails_with_the_reason(server: FeedServer, make_settings: Any) -> None:
    server.route("/hn", Reply(body=json.dumps(HN).encode()))
    body = api_source("src", "json", url=server.url("/hn"), items_path="results", fields=HN_FIELDS)
    settings, engine = setup(make_settings, body)

    report = run_source(settings, engine, "src")

    assert report.status == "failed"
    assert "expected a list of items at `results`" in (report.error or "")


def test_next_link_to_another_host_is_refused(server: FeedServer, make_settings: Any) -> None:
    page = {"items": HN["hits"], "next": "https://elsewhere.example/steal"}
    server.route("/hn", Reply(body=json.dumps(page).encode()))
    body = api_source(
        "src",
        "json",
        url=server.url("/hn"),
        items_path="items",
        fields=HN_FIELDS,
        next_path="next",
    )
    settings, engine = setup(make_settings, body)

    report = run_source(settings, engine, "src")

    assert report.status == "failed"
    assert "another host" in (report.error or "")


def test_fields_are_validated(make_settings: Any) -> None:
    with pytest.raises(SettingsError, match="external_id"):
        make_settings(api_source("src", "json", url="https://x.example", fields={"text": "t"}))
    with pytest.raises(SettingsError, match="unknown field"):
        make_settings(
            api_source(
                "src",
                "json",
                url="https://x.example",
                fields={"external_id": "id", "text": "t", "score": "s"},
            )
        )
