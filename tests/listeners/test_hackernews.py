# ruff: noqa: RUF001  (the recorded titles use typographic apostrophes)
"""The Hacker News listener against recorded Algolia HN Search answers over real HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ascolto.runtime.runner import run_source
from tests.feedserver import DATA, FeedServer, Reply
from tests.listeners.apis import HACKERNEWS, HN_PATH, mentions, setup


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


def test_pages_until_nb_pages_and_maps_stories_and_comments(
    server: FeedServer, make_settings: Any
) -> None:
    HACKERNEWS.pages(server)
    settings, engine = setup(make_settings, HACKERNEWS.source(server))

    report = run_source(settings, engine, "src")

    assert report.status == "ok", report.error
    stored = mentions(engine)
    assert len(stored) == 7
    # page + 1 == nbPages on page 1: the empty page 2 is never asked for.
    assert [r.query["page"] for r in server.hits_path(HN_PATH)] == ["0", "1"]
    first = server.hits_path(HN_PATH)[0].query
    assert first["tags"] == "(story,comment)"
    assert first["query"] == "acme"
    assert "numericFilters" not in first
    comment = stored["hn:46016881"]
    assert comment.kind == "comment"
    assert comment.text == (
        "I'm in Milan, same issue. Acme support told me \"it's expected\".\n"
        "It isn't: the Tab 2 lost 2% overnight."
    )
    assert comment.parent_external_id == "hn:46016750"
    assert comment.url == "https://news.ycombinator.com/item?id=46016881"
    assert comment.extra["story_title"].startswith("Ask HN: Anyone else")
    link = stored["hn:46017109"]
    assert "https://support.acme.example/kb/2110" in link.text
    story = stored["hn:46015533"]
    assert story.kind == "story"
    assert story.title == "Ask HN: Anyone else seeing standby battery drain on the Acme Tab 3?"
    assert story.text.startswith("After firmware 2.1 my Acme Tab 3")
    press = stored["hn:46010377"]
    assert press.text == press.title == "Acme Buds 2 announced"
    assert press.extra["url"] == "https://newsroom.acme.example/press/acme-buds-2"


def test_second_run_filters_on_the_server_by_created_at(
    server: FeedServer, make_settings: Any
) -> None:
    HACKERNEWS.pages(server)
    settings, engine = setup(make_settings, HACKERNEWS.source(server))
    run_source(settings, engine, "src")

    again = run_source(settings, engine, "src")

    assert again.new == 0
    last = server.hits_path(HN_PATH)[-1].query
    assert last["numericFilters"] == "created_at_i>=1795510351"


def test_keywords_and_the_algolia_cap_warning(server: FeedServer, make_settings: Any) -> None:
    page = json.loads((DATA / "hackernews/search_by_date_page0.json").read_text())
    page["nbHits"] = 4000
    page["nbPages"] = 1
    server.route(HN_PATH, Reply(body=json.dumps(page).encode()))
    settings, engine = setup(make_settings, HACKERNEWS.source(server, keywords=["Acme Buds"]))

    report = run_source(settings, engine, "src")

    assert report.status == "ok"
    assert set(mentions(engine)) == {"hn:46013402"}
    assert report.skipped == 3
    assert any("at most 1000" in w for w in report.warnings)


def test_hits_without_ids_or_dates_are_quarantined(server: FeedServer, make_settings: Any) -> None:
    page = json.loads((DATA / "hackernews/search_by_date_page1.json").read_text())
    del page["hits"][0]["objectID"]
    page["hits"][1]["created_at_i"] = "yesterday"
    page["page"], page["nbPages"] = 0, 1
    server.route(HN_PATH, Reply(body=json.dumps(page).encode()))
    settings, engine = setup(make_settings, HACKERNEWS.source(server))

    report = run_source(settings, engine, "src")

    assert report.status == "ok"
    assert report.quarantined == 2
    assert set(mentions(engine)) == {"hn:46010377"}


def test_recorded_hits_keep_stories_whose_comment_text_is_null(
    server: FeedServer, make_settings: Any
) -> None:
    # A real answer: every hit carries every field, `comment_text: null` on stories.
    server.route(
        HN_PATH, Reply.recorded("hackernews/recorded_nodejs_page0.json"), query={"page": "0"}
    )
    server.route(
        HN_PATH, Reply.recorded("hackernews/search_by_date_page2_empty.json"), query={"page": "1"}
    )
    settings, engine = setup(make_settings, HACKERNEWS.source(server))

    report = run_source(settings, engine, "src")

    assert report.status == "ok", report.error
    assert report.quarantined == 0
    stored = mentions(engine)
    assert set(stored) == {"hn:15353312", "hn:15353234", "hn:15353081", "hn:15352955"}
    story = stored["hn:15353234"]
    assert story.kind == "story"
    assert story.text == story.title == "Node8’s util.promisify is so freakin’ awesome"
    assert story.extra["url"].startswith("https://medium.com/@jamesjefferyuk/")
    assert story.url == "https://news.ycombinator.com/item?id=15353234"
    comment = stored["hn:15352955"]
    assert comment.kind == "comment"
    assert comment.parent_external_id == "hn:15352110"
    # `&#x27;` and `&quot;` decode once; <p> separates paragraphs.
    assert "you'll only have to hit disk" in comment.text
    assert '(an "index-only scan")' in comment.text
    assert comment.text.count("\n") == 1


def test_ask_hn_and_polls_are_kept_with_their_text(server: FeedServer, make_settings: Any) -> None:
    server.route(HN_PATH, Reply.recorded("hackernews/handmade_ask_poll.json"))
    settings, engine = setup(make_settings, HACKERNEWS.source(server))

    report = run_source(settings, engine, "src")

    assert report.status == "ok", report.error
    stored = mentions(engine)
    ask = stored["hn:46020001"]
    assert ask.kind == "story"
    assert ask.title == "Ask HN: Acme Tab 3 sync tool crashes with a traceback?"
    # The code sample keeps what it shows: `in <module>`, quotes and apostrophes decoded once.
    assert 'File "sync.py", line 12, in <module>' in ask.text
    assert ask.text.endswith("It's the Acme Tab 3, 128 GB.")
    poll = stored["hn:46019990"]
    assert poll.kind == "story"
    assert poll.text == poll.title == "Poll: which Acme Tab 3 accessory do you use most?"
    assert "poll" in poll.extra["tags"]
