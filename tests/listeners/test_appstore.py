"""The App Store listener against recorded customer-reviews feeds over real HTTP."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from ascolto.runtime.runner import run_source
from tests.feedserver import DATA, FeedServer, Reply
from tests.listeners.apis import APPSTORE, api_source, appstore_path, mentions, setup


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


def test_reviews_with_rating_version_and_pages(server: FeedServer, make_settings: Any) -> None:
    APPSTORE.pages(server)
    server.route(appstore_path("us", 1), Reply.recorded("appstore/reviews_us_page1.json"))
    server.route(appstore_path("us", 2), Reply.recorded("appstore/reviews_us_page2_single.json"))
    server.route(appstore_path("us", 3), Reply.recorded("appstore/reviews_us_page3_empty.json"))
    body = APPSTORE.source(server, countries=["it", "US"])
    settings, engine = setup(make_settings, body)

    report = run_source(settings, engine, "src")

    assert report.status == "ok", report.error
    stored = mentions(engine)
    assert len(stored) == 8
    review = stored["appstore:12345678901"]
    assert review.kind == "review"
    assert review.rating == 1.0
    assert review.title == "La batteria si scarica"
    assert review.extra["version"] == "2.1.0"
    assert review.extra["country"] == "it"
    assert "date_source" not in review.extra  # dated by the review itself
    # A page with a single review has `entry` as an object, not a list.
    assert stored["appstore:12331200001"].rating == 2.0
    # The `last` link says page 2 is the last: page 3 is never asked for.
    assert not server.hits_path(appstore_path("us", 3))


def test_second_run_reads_only_the_first_page(server: FeedServer, make_settings: Any) -> None:
    APPSTORE.pages(server)
    settings, engine = setup(make_settings, APPSTORE.source(server))
    run_source(settings, engine, "src")
    before = len(server.requests)

    again = run_source(settings, engine, "src")

    assert again.new == 0
    assert [r.path for r in server.requests[before:]] == [appstore_path("it", 1)]


def test_max_pages_warns_that_reviews_may_be_missing(
    server: FeedServer, make_settings: Any
) -> None:
    APPSTORE.pages(server)
    settings, engine = setup(make_settings, APPSTORE.source(server, max_pages=1))

    report = run_source(settings, engine, "src")

    assert report.status == "ok"
    assert len(mentions(engine)) == 3
    assert any("max_pages" in w for w in report.warnings)


def test_bad_reviews_are_quarantined(server: FeedServer, make_settings: Any) -> None:
    page = json.loads((DATA / "appstore/reviews_it_page2.json").read_text())
    page["feed"]["entry"][0]["im:rating"]["label"] = "lots"
    server.route(appstore_path("it", 1), Reply(body=json.dumps(page).encode()))
    server.route(appstore_path("it", 2), Reply.recorded("appstore/reviews_us_page3_empty.json"))
    settings, engine = setup(make_settings, APPSTORE.source(server))

    report = run_source(settings, engine, "src")

    assert report.status == "ok"
    assert report.quarantined == 1
    assert set(mentions(engine)) == {"appstore:12339900112"}


def test_options_are_validated(make_settings: Any) -> None:
    from storage.errors import SettingsError

    with pytest.raises(SettingsError, match="two-letter"):
        make_settings(api_source("src", "appstore", app_ids=["1"], countries=["usa"]))
    with pytest.raises(SettingsError, match="numeric App Store id"):
        make_settings(api_source("src", "appstore", app_ids=["acme"]))


def test_reviews_without_their_own_date_take_the_feeds(
    server: FeedServer, make_settings: Any
) -> None:
    # A recorded Japanese page: no review has `updated`, the feed has one.
    app = "1404176564"
    server.route(
        appstore_path("jp", 1, app), Reply.recorded("appstore/recorded_jp_no_review_dates.json")
    )
    server.route(
        appstore_path("jp", 2, app), Reply.recorded("appstore/reviews_us_page3_empty.json")
    )
    body = api_source("src", "appstore", app_ids=[app], countries=["jp"], base_url=server.url(""))
    settings, engine = setup(make_settings, body)

    report = run_source(settings, engine, "src")

    assert report.status == "ok", report.error
    assert report.quarantined == 0
    stored = mentions(engine)
    assert set(stored) == {"appstore:6290024630", "appstore:6282758619", "appstore:6269228388"}
    review = stored["appstore:6269228388"]
    assert review.published_at == datetime(2020, 8, 8, 3, 17, 3, tzinfo=UTC)
    assert review.extra["date_source"] == "feed"
    assert review.text.endswith("改善検討願います><🙏🙏")
    assert review.rating == 5.0
    assert review.extra["version"] == "3.4.1"
