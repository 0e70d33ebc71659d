"""Apple App Store customer reviews through the public customer-reviews RSS feed (JSON)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import Field, field_validator

from listeners.base import BaseUrl, Batch, Listener, RecheckResult, StoredMention
from listeners.errors import BadContent
from listeners.jsonpath import decode, dumps, get_path, parse_time
from listeners.paging import Collector, Entry, Page, PagedOptions, reject
from listeners.text import clean_text, html_to_text
from storage.mentions import NewMention
from storage.types import is_digits

# Apple serves at most 10 pages of 50 reviews per app and country.
APPLE_MAX_PAGES = 10
_LAST_PAGE = re.compile(r"/page=(\d+)/")


class AppStoreOptions(PagedOptions):
    app_ids: list[str] = Field(
        description="Numeric App Store ids of the apps (the digits after `id` in the app's "
        "store address)."
    )
    countries: list[str] = Field(
        default_factory=lambda: ["us"],
        description="Two-letter storefront codes; each country has its own reviews.",
    )
    base_url: BaseUrl = Field(
        "https://itunes.apple.com", description="Host of the customer-reviews feed."
    )
    max_pages: int = Field(
        APPLE_MAX_PAGES,
        ge=1,
        le=APPLE_MAX_PAGES,
        description="Most pages (of up to 50 reviews) read per app and country; Apple "
        "serves 10 at most. When the previous run's newest review is not reached by then, "
        "the run warns that reviews may be missing.",
    )

    @field_validator("app_ids")
    @classmethod
    def _digits(cls, value: list[str]) -> list[str]:
        ids = [str(v).strip().removeprefix("id") for v in value]
        for app in ids:
            if not app.isdigit():
                raise ValueError(f"{app!r} is not a numeric App Store id")
        if not ids:
            raise ValueError("at least one app id")
        return ids

    @field_validator("countries")
    @classmethod
    def _countries(cls, value: list[str]) -> list[str]:
        codes = [v.strip().lower() for v in value]
        for code in codes:
            if len(code) != 2 or not code.isalpha():
                raise ValueError(f"{code!r} is not a two-letter country code")
        return codes


class AppStoreListener(Listener):
    """App Store reviews of the configured apps, most recent first, per country."""

    kind = "appstore"
    Options = AppStoreOptions
    options: AppStoreOptions

    def fetch(self, cursor: dict[str, Any] | None) -> Batch:
        collector = Collector(self.options.keywords, cursor)
        for app in self.options.app_ids:
            for country in self.options.countries:
                collector.walk(
                    f"{app}/{country}",
                    self._pager(app, country),
                    start=1,
                    max_pages=self.options.max_pages,
                    label=f"appstore app {app} ({country})",
                )
        return collector.batch()

    rechecks = True

    def recheck(self, mentions: Sequence[StoredMention]) -> list[RecheckResult]:
        """Apple has no per-review lookup: each app's feed is read again, newest first,
        down past the oldest review asked about. A review the feed no longer lists
        although newer and older ones are there was deleted (by its author or Apple)."""
        results: list[RecheckResult] = []
        for app in self.options.app_ids:
            for country in self.options.countries:
                asked = [
                    m
                    for m in mentions
                    if m.extra.get("app_id") == app
                    and m.extra.get("country") == country
                    and m.published_at is not None
                ]
                if asked:
                    results += self._recheck_feed(app, country, asked)
        return results

    def _recheck_feed(
        self, app: str, country: str, asked: list[StoredMention]
    ) -> list[RecheckResult]:
        oldest_asked = min(m.published_at for m in asked if m.published_at is not None)
        fetch = self._pager(app, country)
        listed: dict[str, NewMention] = {}
        oldest_seen = None
        page: Any = 1
        for _ in range(self.options.max_pages):
            found = fetch(page)
            for entry in found.entries:
                if entry.item is not None and entry.item.published_at is not None:
                    listed[entry.item.external_id] = entry.item
                    when = entry.item.published_at
                    oldest_seen = when if oldest_seen is None or when < oldest_seen else oldest_seen
            page = found.next
            if page is None or (oldest_seen is not None and oldest_seen < oldest_asked):
                break
        results = []
        for mention in asked:
            item = listed.get(mention.external_id)
            if item is not None:
                results.append(RecheckResult(mention.external_id, "present", item))
            elif mention.published_at and oldest_seen and mention.published_at > oldest_seen:
                results.append(RecheckResult(mention.external_id, "deleted"))
        return results

    def _pager(self, app: str, country: str) -> Callable[[Any], Page]:
        base = self.options.base_url.rstrip("/")

        def fetch(page: Any) -> Page:
            url = (
                f"{base}/{country}/rss/customerreviews/page={page}/id={app}/sortby=mostrecent/json"
            )
            document = decode(self.http.get(url), f"appstore {url}")
            feed = get_path(document, "feed")
            if not isinstance(feed, dict):
                raise BadContent(f"appstore {url}: expected an object with a `feed`")
            raw = feed.get("entry", [])
            entries = raw if isinstance(raw, list) else [raw]
            try:
                # Reviews without a date of their own are dated by the feed (older answers).
                feed_updated = parse_time(get_path(feed, "updated.label"))
            except ValueError:
                feed_updated = None
            found = [
                _entry(e, app, country, feed_updated)
                for e in entries
                # Older feeds start with the app itself (`im:name`), not a review.
                if not (isinstance(e, dict) and "im:name" in e and "im:rating" not in e)
            ]
            last = _last_page(feed)
            more = found and page < APPLE_MAX_PAGES and (last is None or page < last)
            return Page(found, page + 1 if more else None)

        return fetch


def _last_page(feed: dict[str, Any]) -> int | None:
    links = feed.get("link")
    for link in links if isinstance(links, list) else [links]:
        if get_path(link, "attributes.rel") == "last":
            found = _LAST_PAGE.search(str(get_path(link, "attributes.href", "")))
            return int(found.group(1)) if found else None
    return None


def _label(entry: Any, path: str) -> Any:
    return get_path(entry, f"{path}.label")


def _entry(entry: Any, app: str, country: str, feed_updated: datetime | None = None) -> Entry:
    payload = dumps(entry)
    review_id = _label(entry, "id")
    if not isinstance(review_id, str) or not review_id.strip():
        return reject("review without id.label", payload, None)
    key = review_id.strip()
    rating_text = _label(entry, "im:rating")
    if not isinstance(rating_text, str) or not is_digits(rating_text.strip()):
        return reject("review without a numeric im:rating", payload, key)
    rating = float(rating_text)
    if not 1 <= rating <= 5:
        return reject(f"review rating {rating_text!r} is not 1-5", payload, key)
    content = _label(entry, "content")
    title = _label(entry, "title")
    if not isinstance(content, str) or (title is not None and not isinstance(title, str)):
        return reject("review without text content", payload, key)
    kind = get_path(entry, "content.attributes.type")
    text = html_to_text(content) if kind == "html" else clean_text(content)
    try:
        updated = parse_time(_label(entry, "updated"))
    except ValueError as exc:
        return reject(f"review with a bad date: {exc}", payload, key)
    dated_by_feed = updated is None and feed_updated is not None
    if updated is None:
        if feed_updated is None:
            return reject("review without an updated date, in a feed without one", payload, key)
        updated = feed_updated
    author = _label(entry, "author.name")
    author = clean_text(author) if isinstance(author, str) and author.strip() else None
    version = _label(entry, "im:version")
    extra: dict[str, Any] = {"app_id": app, "country": country}
    if dated_by_feed:
        # Said on the mention: its time is when Apple served the page, not when it was written.
        extra["date_source"] = "feed"
    if isinstance(version, str) and version:
        extra["version"] = version
    votes = _label(entry, "im:voteCount")
    if isinstance(votes, str) and is_digits(votes) and len(votes) < 19:
        extra["votes"] = int(votes)
    link = get_path(entry, "link.attributes.href")
    item = NewMention(
        external_id=f"appstore:{key}",
        text=text or (clean_text(title) if isinstance(title, str) else ""),
        title=clean_text(title) if isinstance(title, str) and title.strip() else None,
        url=link if isinstance(link, str) else None,
        author_handle=author,
        author_name=author,
        author_url=_label(entry, "author.uri")
        if isinstance(_label(entry, "author.uri"), str)
        else None,
        author_platform="appstore" if author else None,
        published_at=updated,
        kind="review",
        rating=rating,
        extra=extra,
    )
    return Entry(updated.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), key, item=item)
