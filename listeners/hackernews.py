"""Hacker News stories and comments through the Algolia HN Search API."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pydantic import Field

from listeners.base import BaseUrl, Batch, Listener, RecheckResult, StoredMention
from listeners.errors import BadContent, ListenError
from listeners.jsonpath import decode, dumps, parse_time
from listeners.paging import Collector, Entry, Page, PagedOptions, reject
from listeners.text import clean_text, html_to_text
from storage.mentions import NewMention

ITEM_URL = "https://news.ycombinator.com/item?id={}"
USER_URL = "https://news.ycombinator.com/user?id={}"
# Algolia answers at most this many hits for one query, however many pages are asked for.
ALGOLIA_CAP = 1000


class HackerNewsOptions(PagedOptions):
    query: str = Field(description="Search terms (Algolia full-text search, e.g. `acme`).")
    tags: list[str] = Field(
        default_factory=lambda: ["story", "comment"],
        description="Item types to search, OR-ed (`story`, `comment`, `ask_hn`, `show_hn`, "
        "`poll`); sent as `tags=(story,comment)`.",
    )
    base_url: BaseUrl = Field(
        "https://hn.algolia.com/api/v1", description="Address of the HN Search API."
    )
    page_size: int = Field(100, ge=1, le=1000, description="Hits per page (`hitsPerPage`).")


class HackerNewsListener(Listener):
    """Hacker News stories and comments matching a query (Algolia `search_by_date`)."""

    kind = "hackernews"
    Options = HackerNewsOptions
    options: HackerNewsOptions

    def fetch(self, cursor: dict[str, Any] | None) -> Batch:
        collector = Collector(self.options.keywords, cursor)
        stream = "search"
        mark = collector.mark(stream)
        since = int(mark.position) if mark and isinstance(mark.position, int | float) else None
        collector.walk(
            stream,
            self._pager(since, collector.warnings),
            start=0,
            max_pages=self.options.max_pages,
            label=f"hackernews {self.options.query!r}",
        )
        return collector.batch()

    rechecks = True

    def recheck(self, mentions: Sequence[StoredMention]) -> list[RecheckResult]:
        """Each item again (`/items/:id`): 404, `deleted` or an item with neither author
        nor text is deleted; otherwise it is read as a search hit would be."""
        base = self.options.base_url.rstrip("/")
        results: list[RecheckResult] = []
        failed: list[ListenError] = []
        for mention in mentions:
            object_id = mention.external_id.removeprefix("hn:")
            if not object_id.isdigit():
                continue
            url = f"{base}/items/{object_id}"
            try:
                item = decode(self.http.get(url), url)
            except ListenError as exc:
                if getattr(exc.response, "status", None) == 404:
                    results.append(RecheckResult(mention.external_id, "deleted"))
                else:
                    failed.append(exc)  # unknown this time, asked again next time
                continue
            if not isinstance(item, dict):
                raise BadContent(f"{url}: expected an object")
            if (
                item.get("deleted")
                or item.get("dead")
                or (item.get("author") is None and not item.get("text") and not item.get("title"))
            ):
                results.append(RecheckResult(mention.external_id, "deleted"))
                continue
            entry = _entry(_as_hit(item, object_id))
            if entry.item is not None:
                results.append(RecheckResult(mention.external_id, "present", entry.item))
        if failed and not results:
            raise failed[0]
        return results

    def _pager(self, since: int | None, warnings: list[str]) -> Callable[[Any], Page]:
        url = f"{self.options.base_url.rstrip('/')}/search_by_date"
        params: dict[str, Any] = {
            "query": self.options.query,
            "hitsPerPage": self.options.page_size,
        }
        if self.options.tags:
            params["tags"] = f"({','.join(self.options.tags)})"
        if since is not None:
            # >= so an item created in the same second as the newest one seen is not lost;
            # the ids at that second, kept in the cursor, are dropped as already seen.
            params["numericFilters"] = f"created_at_i>={since}"

        def fetch(page: Any) -> Page:
            document = decode(self.http.get(url, params={**params, "page": page}), url)
            if not isinstance(document, dict) or not isinstance(document.get("hits"), list):
                raise BadContent(f"{url}: expected an object with a `hits` list")
            number = document.get("page", page)
            pages = document.get("nbPages", 0)
            hits = document.get("nbHits", 0)
            if page == 0 and isinstance(hits, int) and hits > ALGOLIA_CAP:
                warnings.append(
                    f"hackernews: {hits} hits but Algolia returns at most {ALGOLIA_CAP} per "
                    "query; older items may be missing (run more often or narrow the query)"
                )
            more = isinstance(number, int) and isinstance(pages, int) and number + 1 < pages
            return Page(
                [_entry(hit) for hit in document["hits"]],
                number + 1 if more and document["hits"] else None,
            )

        return fetch


def _as_hit(item: dict[str, Any], object_id: str) -> dict[str, Any]:
    """An `/items/:id` document in the shape of a `search_by_date` hit."""
    kind = item.get("type")
    comment = kind == "comment"
    hit: dict[str, Any] = {
        "objectID": object_id,
        "created_at": item.get("created_at"),
        "created_at_i": item.get("created_at_i"),
        "author": item.get("author"),
        "points": item.get("points"),
        "parent_id": item.get("parent_id"),
        "story_id": item.get("story_id"),
        "url": item.get("url"),
        "_tags": [kind] if isinstance(kind, str) else [],
    }
    if comment:
        hit["comment_text"] = item.get("text")
    else:
        hit["title"] = item.get("title")
        hit["story_text"] = item.get("text")
    return hit


def _entry(hit: Any) -> Entry:
    payload = dumps(hit)
    if not isinstance(hit, dict):
        return reject("hit is not an object", payload, None)
    object_id = hit.get("objectID")
    if not isinstance(object_id, str | int) or isinstance(object_id, bool) or not object_id:
        return reject("hit without an objectID", payload, None)
    key = f"hn:{object_id}"
    created = hit.get("created_at_i")
    if not isinstance(created, int) or isinstance(created, bool):
        return reject("hit without an integer created_at_i", payload, key)
    raw_tags = hit.get("_tags")
    tags: list[Any] = raw_tags if isinstance(raw_tags, list) else []
    # The tags say what a hit is. Algolia sends every field on every hit, `comment_text: null`
    # on stories, polls and Ask HN posts, so the key alone says nothing.
    is_comment = "comment" in tags if tags else isinstance(hit.get("comment_text"), str)
    raw_title = hit.get("story_title") if is_comment else hit.get("title")
    raw_text = hit.get("comment_text") if is_comment else hit.get("story_text")
    if raw_title is not None and not isinstance(raw_title, str):
        return reject("hit with a non-text title", payload, key)
    if raw_text is not None and not isinstance(raw_text, str):
        return reject("hit with a non-text body", payload, key)
    # Titles are plain text; comment and story bodies are HTML.
    title = clean_text(raw_title or "")
    # A link story or a poll is its title: that is what people read and discuss.
    text = html_to_text(raw_text) or ("" if is_comment else title)
    if not text:
        return reject("hit with no text", payload, key)
    try:
        published = parse_time(hit.get("created_at")) or parse_time(created)
        updated = parse_time(hit.get("updated_at"))
    except ValueError as exc:
        return reject(f"hit with a bad date: {exc}", payload, key)
    author = hit.get("author") if isinstance(hit.get("author"), str) else None
    parent = hit.get("parent_id")
    extra: dict[str, Any] = {
        k: hit[k]
        for k in ("points", "num_comments", "story_id", "story_title", "url", "story_url")
        if hit.get(k) is not None
    }
    extra["tags"] = [t for t in tags if isinstance(t, str) and not t.startswith("author_")]
    item = NewMention(
        external_id=key,
        text=text,
        title=None if is_comment else title or None,
        url=ITEM_URL.format(object_id),
        author_handle=author,
        author_name=author,
        author_url=USER_URL.format(author) if author else None,
        author_platform="hackernews" if author else None,
        published_at=published,
        updated_at=updated if updated and published and updated > published else None,
        kind="comment" if is_comment else "story",
        parent_external_id=f"hn:{parent}" if is_comment and parent is not None else None,
        extra=extra,
    )
    return Entry(created, key, item=item)
