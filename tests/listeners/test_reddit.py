"""The Reddit listener against recorded Reddit API answers served over real HTTP."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qs

import pytest

from ascolto.runtime.runner import run_source
from tests.feedserver import DATA, FeedServer, Reply
from tests.listeners.apis import REDDIT, api_source, mentions, quarantined, runs, setup

TOKEN = json.loads((DATA / "reddit/access_token.json").read_text())["access_token"]


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """The contract test covers PostgreSQL; these tests only need a database."""
    return sqlite_url


def test_search_reads_every_page_and_maps_posts(server: FeedServer, make_settings: Any) -> None:
    REDDIT.pages(server)
    settings, engine = setup(make_settings, REDDIT.source(server))

    report = run_source(settings, engine, "src")

    assert report.status == "ok", report.error
    stored = mentions(engine)
    # Deleted and removed posts never seen before are not stored.
    assert set(stored) == {"t3_1p4x8kd", "t3_1p4t9mw", "t3_1p4r1hc", "t3_1p4pk0a"}
    post = stored["t3_1p4x8kd"]
    assert post.title == "Acme Tab 3 battery drain after firmware 2.1 — anyone else?"
    assert post.text.startswith("Since updating to 2.1 my Acme Tab 3 loses ~15%")
    assert post.url == (
        "https://www.reddit.com/r/AcmeTablets/comments/1p4x8kd/"
        "acme_tab_3_battery_drain_after_firmware_21/"
    )
    assert post.kind == "post"
    assert post.extra["subreddit"] == "AcmeTablets"
    link = stored["t3_1p4t9mw"]
    assert link.text == link.title  # a link post: the title is the text
    assert link.extra["link_url"] == "https://www.gadgetwire.example/reviews/acme-tab-3-review"
    first, second = server.hits_path("/search.json")
    assert first.query == {
        "q": '"Acme Tab 3"',
        "sort": "new",
        "t": "all",
        "type": "link",
        "limit": "100",
        "raw_json": "1",
    }
    assert second.query["after"] == "t3_1p4t9mw"


def test_anonymous_block_is_reported_as_blocked_not_empty(
    server: FeedServer, make_settings: Any
) -> None:
    REDDIT.pages(server)
    settings, engine = setup(make_settings, REDDIT.source(server))
    assert run_source(settings, engine, "src").status == "ok"
    before = set(mentions(engine))
    server.route(
        "/search.json", Reply.recorded("reddit/blocked_403.html", "reddit/blocked_403.headers")
    )

    report = run_source(settings, engine, "src")

    assert report.status == "blocked"
    assert "403" in (report.error or "")
    assert "client_id_env" in (report.error or "")
    assert "OAuth" in (report.error or "")
    assert runs(engine)[-1].status == "blocked"
    assert set(mentions(engine)) == before


def test_private_subreddit_is_blocked_with_the_reason(
    server: FeedServer, make_settings: Any
) -> None:
    server.route(
        "/r/AcmeSecret/new.json",
        Reply.recorded("reddit/private_subreddit_403.json", status=403),
    )
    body = api_source("src", "reddit", subreddits=["AcmeSecret"], base_url=server.url(""))
    settings, engine = setup(make_settings, body)

    report = run_source(settings, engine, "src")

    assert report.status == "blocked"
    assert "private" in (report.error or "")


def test_oauth_app_only_flow(
    server: FeedServer, make_settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDDIT_ID", "my-client-id")
    monkeypatch.setenv("REDDIT_SECRET", "s3cret-value")
    server.route("/api/v1/access_token", Reply.recorded("reddit/access_token.json"))
    server.route("/search", Reply.recorded("reddit/search_page1.json"))
    server.route(
        "/search", Reply.recorded("reddit/search_page2.json"), query={"after": "t3_1p4t9mw"}
    )
    body = REDDIT.source(
        server,
        client_id_env="REDDIT_ID",
        client_secret_env="REDDIT_SECRET",
        token_url=server.url("/api/v1/access_token"),
        oauth_url=server.url(""),
    )
    settings, engine = setup(make_settings, body)

    report = run_source(settings, engine, "src")

    assert report.status == "ok", report.error
    assert len(mentions(engine)) == 4
    (token_request,) = server.hits_path("/api/v1/access_token")
    assert token_request.method == "POST"
    assert parse_qs(token_request.body.decode()) == {"grant_type": ["client_credentials"]}
    expected = base64.b64encode(b"my-client-id:s3cret-value").decode()
    assert token_request.headers["Authorization"] == f"Basic {expected}"
    for request in server.hits_path("/search"):
        assert request.headers["Authorization"] == f"bearer {TOKEN}"
    assert not server.hits_path("/search.json")


def test_oauth_bad_credentials_are_blocked_without_leaking_them(
    server: FeedServer, make_settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDDIT_ID", "my-client-id")
    monkeypatch.setenv("REDDIT_SECRET", "s3cret-value")
    server.route("/api/v1/access_token", Reply.recorded("reddit/access_token_401.json", status=401))
    body = REDDIT.source(
        server,
        client_id_env="REDDIT_ID",
        client_secret_env="REDDIT_SECRET",
        token_url=server.url("/api/v1/access_token"),
        oauth_url=server.url(""),
    )
    settings, engine = setup(make_settings, body)

    report = run_source(settings, engine, "src")

    assert report.status == "blocked"
    assert "REDDIT_ID" in (report.error or "")
    assert "REDDIT_SECRET" in (report.error or "")
    assert "s3cret-value" not in (runs(engine)[-1].error or "")


def test_subreddit_listing_unescapes_html_and_reads_comments(
    server: FeedServer, make_settings: Any
) -> None:
    thread = json.loads((DATA / "reddit/comments.json").read_text())
    flat = [c for c in thread[1]["data"]["children"] if c["kind"] == "t1"]
    flat += [flat[0]["data"]["replies"]["data"]["children"][0]]
    listing = {"kind": "Listing", "data": {"after": None, "before": None, "children": flat}}
    server.route("/r/AcmeTablets/new.json", Reply.recorded("reddit/subreddit_new.json"))
    server.route("/r/AcmeTablets/comments.json", Reply(body=json.dumps(listing).encode()))
    body = api_source(
        "src", "reddit", subreddits=["r/AcmeTablets"], comments=True, base_url=server.url("")
    )
    settings, engine = setup(make_settings, body)

    report = run_source(settings, engine, "src")

    assert report.status == "ok", report.error
    stored = mentions(engine)
    assert stored["t3_1p4wq3n"].title == "Tab 3 & Buds bundle a 349€ — conviene?"
    assert stored["t3_1p4wq3n"].text.endswith("<3")
    comment = stored["t1_mqx1a7f"]
    assert comment.kind == "comment"
    assert comment.parent_external_id == "t3_1p4x8kd"
    assert stored["t1_mqx3b2k"].parent_external_id == "t1_mqx1a7f"
    assert "t1_mqx2f0r" not in stored  # deleted by its author before we saw it
    assert "t1_mqx2p1z" not in stored  # removed by a moderator


def test_site_wide_search_reads_comment_threads(server: FeedServer, make_settings: Any) -> None:
    REDDIT.pages(server)
    for article in ("1p4x8kd", "1p4t9mw", "1p4r1hc", "1p4pk0a"):
        server.route(f"/comments/{article}.json", Reply.recorded("reddit/comments.json"))
    settings, engine = setup(make_settings, REDDIT.source(server, comments=True))

    report = run_source(settings, engine, "src")

    assert report.status == "ok", report.error
    stored = mentions(engine)
    assert {"t1_mqx1a7f", "t1_mqx3b2k", "t1_mqx2k8s"} <= set(stored)
    assert stored["t1_mqx2k8s"].text == (
        "Stesso problema qui in Italia, perché il supporto Acme non risponde? 😤"
    )


def test_removal_after_storage_flags_the_mention(server: FeedServer, make_settings: Any) -> None:
    server.route("/r/AcmeTablets/new.json", Reply.recorded("reddit/subreddit_new.json"))
    body = api_source("src", "reddit", subreddits=["AcmeTablets"], base_url=server.url(""))
    settings, engine = setup(make_settings, body)
    assert run_source(settings, engine, "src").new == 3
    listing = json.loads((DATA / "reddit/subreddit_new.json").read_text())
    removed = listing["data"]["children"][1]["data"]
    removed.update(selftext="[removed]", removed_by_category="moderator")
    server.route("/r/AcmeTablets/new.json", Reply(body=json.dumps(listing).encode()))

    report = run_source(settings, engine, "src")

    assert report.status == "ok"
    assert report.new == 0
    stored = mentions(engine)
    assert stored["t3_1p4wq3n"].deleted_at is not None
    assert stored["t3_1p4x8kd"].deleted_at is None


def test_malformed_items_are_quarantined_once_and_the_rest_stored(
    server: FeedServer, make_settings: Any
) -> None:
    listing = json.loads((DATA / "reddit/subreddit_new.json").read_text())
    del listing["data"]["children"][0]["data"]["created_utc"]
    listing["data"]["children"][1]["data"]["selftext"] = {"not": "text"}
    server.route("/r/AcmeTablets/new.json", Reply(body=json.dumps(listing).encode()))
    body = api_source("src", "reddit", subreddits=["AcmeTablets"], base_url=server.url(""))
    settings, engine = setup(make_settings, body)

    report = run_source(settings, engine, "src")
    again = run_source(settings, engine, "src")

    assert report.status == "ok"
    assert set(mentions(engine)) == {"t3_1p4pk0a"}
    assert report.quarantined == 2
    assert again.quarantined == 0
    reasons = sorted(q.reason for q in quarantined(engine))
    assert reasons == [
        "reddit item without a numeric created_utc",
        "reddit t3 with a non-text selftext or title",
    ]
    assert all(json.loads(q.payload)["kind"] == "t3" for q in quarantined(engine))


def test_options_need_something_to_read(make_settings: Any) -> None:
    from storage.errors import SettingsError

    with pytest.raises(SettingsError, match="set `query`, `subreddits`, or both"):
        make_settings(api_source("src", "reddit"))
    with pytest.raises(SettingsError, match="client_secret_env"):
        make_settings(api_source("src", "reddit", query="acme", client_id_env="X"))


def test_markdown_keeps_angle_brackets_and_comments_without_permalink_get_a_url(
    server: FeedServer, make_settings: Any
) -> None:
    server.route(
        "/r/AcmeTablets/new.json",
        Reply(body=b'{"kind": "Listing", "data": {"after": null, "children": []}}'),
    )
    server.route(
        "/r/AcmeTablets/comments.json", Reply.recorded("reddit/handmade_comments_markdown.json")
    )
    body = api_source(
        "src", "reddit", subreddits=["AcmeTablets"], comments=True, base_url=server.url("")
    )
    settings, engine = setup(make_settings, body)

    report = run_source(settings, engine, "src")

    assert report.status == "ok", report.error
    stored = mentions(engine)
    crash = stored["t1_mr01c0d"].text
    assert 'File "acme_sync.py", line 12, in <module>' in crash
    assert "KeyError: 'token'" in crash
    assert crash.endswith("Rolling back to 2.0.9 & clearing `~/.acme` fixed it <3")
    assert "&#x200B;" not in crash
    assert "\u200b" not in crash
    assert stored["t1_mr01c0d"].url == (
        "https://www.reddit.com/r/AcmeTablets/comments/1p5a0b1/acme_sync_tool_crashes_on_start/"
        "mr01c0d/"
    )
    reply = stored["t1_mr01e9f"]
    assert reply.text.startswith("Use a <token> from the portal")
    # No permalink in the item: the address follows from its ids.
    assert reply.url == "https://www.reddit.com/r/AcmeTablets/comments/1p5a0b1/_/mr01e9f/"
