"""The Scrapy spider of the `reviews` listener: review pages, their pagination, nothing else.

It runs only in the crawl's child process (see `listeners.crawl.runner`). Every result is a
plain dict with a `type`:

- `review`: one review (see `extract.normalise_review`), with the start URL it belongs to;
- `rejected`: a block that could not be read (malformed JSON-LD), with reason and payload;
- `page`: one page read: reviews found, rating summaries, whether pagination went on;
- `error`: a page that could not be fetched (HTTP error, network, refused by robots.txt).

Pagination follows `rel="next"` links and the configured `next_selector`, at most
`max_pages` pages per start URL, and stops early at a page whose reviews were all seen by an
earlier run (the listing is read back to the cursor, not further).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from listeners.crawl.extract import extract_page, review_time


class ReviewSpider(scrapy.Spider):
    """Reads schema.org reviews from the configured start URLs and their next pages."""

    name = "ascolto-reviews"

    def __init__(self, config: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config = config
        self.start_urls = list(config["start_urls"])
        self.allowed_domains = list(config.get("allowed_domains") or [])
        self.max_pages = int(config.get("max_pages") or 20)
        self.next_selector: str | None = config.get("next_selector")
        self.stop_at_seen = bool(config.get("stop_at_seen", True))
        self.seen = set(config.get("seen") or [])
        self.newest: dict[str, datetime | None] = {
            url: review_time(mark.get("newest")) if isinstance(mark, dict) else None
            for url, mark in (config.get("marks") or {}).items()
        }

    def start_requests(self) -> Iterator[scrapy.Request]:
        for url in self.start_urls:
            yield self._request(url, start=url, page_no=1, dont_filter=True)

    async def start(self) -> Any:  # Scrapy >= 2.13 calls this instead of start_requests
        for request in self.start_requests():
            yield request

    def _request(self, url: str, *, start: str, page_no: int, dont_filter: bool = False) -> Any:
        return scrapy.Request(
            url,
            callback=self.parse_page,
            errback=self.failed,
            meta={"start": start, "page_no": page_no},
            dont_filter=dont_filter,
        )

    def parse(self, response: Response, **kwargs: Any) -> Any:
        return self.parse_page(response)

    def parse_page(self, response: Response) -> Iterator[Any]:
        start = response.meta["start"]
        page_no = response.meta["page_no"]
        if not isinstance(response, TextResponse):
            yield {
                "type": "error",
                "start": start,
                "url": response.url,
                "page_no": page_no,
                "reason": f"not an HTML page ({response.headers.get('Content-Type', b'')!r})",
            }
            return
        page = extract_page(response.text, response.url, self.next_selector)
        for rejected in page.rejected:
            yield {"type": "rejected", "start": start, "url": response.url, **rejected}
        for review in page.reviews:
            yield {"type": "review", "start": start, "page_no": page_no, "review": review}
        stopped = None
        next_url = page.next_urls[0] if page.next_urls else None
        if next_url is not None and next_url == response.url:
            next_url = None
        if next_url is not None:
            if (
                self.stop_at_seen
                and page.reviews
                and all(self._covered(r, start) for r in page.reviews)
            ):
                stopped = "seen"
            elif page_no >= self.max_pages:
                stopped = "max_pages"
            else:
                yield self._request(next_url, start=start, page_no=page_no + 1)
        yield {
            "type": "page",
            "start": start,
            "url": response.url,
            "page_no": page_no,
            "reviews": len(page.reviews),
            "aggregates": page.aggregates,
            "next": next_url,
            "stopped": stopped,
        }

    def _covered(self, review: dict[str, Any], start: str) -> bool:
        """True for a review an earlier run stored: its id was seen, or it is older than the
        newest review seen from this start URL."""
        if review["external_id"] in self.seen:
            return True
        newest = self.newest.get(start)
        published = review_time(review.get("published"))
        return newest is not None and published is not None and published < newest

    def failed(self, failure: Failure) -> Iterator[dict[str, Any]]:
        request = failure.request  # type: ignore[attr-defined]
        status = None
        refused = False
        error = failure.value
        if isinstance(error, HttpError):
            status = error.response.status
            reason = f"HTTP {status}"
        elif isinstance(error, IgnoreRequest):
            refused = "robots.txt" in str(error)
            reason = str(error) or "request ignored"
        else:
            reason = f"{type(error).__name__}: {error}"
        yield {
            "type": "error",
            "start": request.meta.get("start"),
            "url": request.url,
            "page_no": request.meta.get("page_no"),
            "status": status,
            "refused": refused,
            "reason": reason,
        }
