"""Reviews on product pages of sites without an API: schema.org markup, crawled with Scrapy.

Each run crawls the start URLs and their next pages in a child process (see
`listeners.crawl`), so a hanging site is killed at `timeout` and the scheduler can run the
source again in the same process. Reviews come from JSON-LD and microdata (`Review`,
`AggregateRating`); robots.txt is obeyed and the pages it refuses are counted in a warning.

The cursor keeps, per start URL, the newest review date seen and the site's rating summary,
plus the ids of recently seen reviews: a re-crawl stores nothing it stored before, and the
crawl stops following a listing at the first page whose reviews are all known.
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from listeners.base import Batch, HttpUrl, Listener, SourceOptions
from listeners.crawl.extract import check_selector, review_time
from listeners.crawl.runner import CrawlOutput, run_crawl
from listeners.errors import ListenError, SourceBlocked, SourceUnavailable
from listeners.keywords import KeywordFilter
from listeners.settings import HttpSettings
from storage.mentions import NewMention
from storage.quarantine import Rejected

MAX_SEEN_IDS = 5000
MAX_REJECTED_HASHES = 500


class ReviewsOptions(SourceOptions):
    start_urls: list[HttpUrl] = Field(
        min_length=1,
        description="Review or product pages to crawl (http or https); each is read with the "
        "pages its pagination leads to.",
    )
    allowed_domains: list[str] = Field(
        default_factory=list,
        description="Domains the crawl may visit, subdomains included; empty: the hosts of "
        "start_urls.",
    )
    max_pages: int = Field(
        20,
        ge=1,
        le=1000,
        description="Most pages read from each start URL in one run, following its pagination. "
        "When there are more, the run stores what it read and warns.",
    )
    next_selector: str | None = Field(
        None,
        description='Selector of the next-page link, for sites without rel="next": CSS (e.g. '
        "`a.next-page`), or XPath when it starts with `/`, `(` or `xpath:`. The matched "
        "element's href is followed (or the attribute or text the selector matches).",
    )
    stop_at_seen: bool = Field(
        True,
        description="Stop following a listing at a page whose reviews were all seen before "
        "(listings sorted newest first). Turn off for listings sorted oldest first.",
    )
    timeout: float = Field(
        600.0,
        gt=0,
        le=86_400,
        description="Seconds one crawl may take; a crawl still running then is killed and the "
        "run is recorded as failed.",
    )
    target_concurrency: float = Field(
        1.0,
        gt=0,
        le=32,
        description="AutoThrottle's target of requests in flight to one site; the crawl slows "
        "down when the site answers slowly.",
    )
    per_domain_concurrency: int = Field(
        1, ge=1, le=32, description="Most requests in flight to one domain at a time."
    )

    @field_validator("start_urls")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    @field_validator("allowed_domains")
    @classmethod
    def _domains(cls, value: list[str]) -> list[str]:
        domains = [d.strip().lower().lstrip(".") for d in value if d.strip()]
        for domain in domains:
            if "/" in domain or ":" in domain:
                raise ValueError(f"domain names without scheme or port ({domain!r} is not)")
        return domains

    @field_validator("next_selector")
    @classmethod
    def _selector(cls, value: str | None) -> str | None:
        if value is not None and value.strip():
            check_selector(value.strip())
            return value.strip()
        return None

    @model_validator(mode="after")
    def _starts_allowed(self) -> ReviewsOptions:
        if self.allowed_domains:
            for url in self.start_urls:
                if not _allowed(urlsplit(url).hostname or "", self.allowed_domains):
                    raise ValueError(
                        f"start URL {url} is outside allowed_domains "
                        f"({', '.join(self.allowed_domains)})"
                    )
        return self

    def domains(self) -> list[str]:
        """The domains the crawl may visit."""
        if self.allowed_domains:
            return self.allowed_domains
        return list(dict.fromkeys((urlsplit(u).hostname or "").lower() for u in self.start_urls))


def _allowed(host: str, domains: list[str]) -> bool:
    host = host.lower()
    return any(host == d or host.endswith("." + d) for d in domains)


def scrapy_settings(http: HttpSettings, options: ReviewsOptions) -> dict[str, Any]:
    """Scrapy's settings for one crawl, from the shared HTTP settings and the source's."""
    # Before Scrapy's own (robots.txt at 100): nothing is fetched from a private address.
    guard = {} if options.allow_private_addresses else {"listeners.crawl.guard.PublicOnly": 50}
    return {
        "DOWNLOADER_MIDDLEWARES": guard,
        "USER_AGENT": http.user_agent,
        "ROBOTSTXT_OBEY": True,
        "AUTOTHROTTLE_ENABLED": True,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": options.target_concurrency,
        "AUTOTHROTTLE_START_DELAY": http.per_host_interval,
        "AUTOTHROTTLE_MAX_DELAY": max(60.0, http.per_host_interval),
        "DOWNLOAD_DELAY": http.per_host_interval,
        "CONCURRENT_REQUESTS_PER_DOMAIN": options.per_domain_concurrency,
        "DOWNLOAD_MAXSIZE": http.max_bytes,
        "DOWNLOAD_WARNSIZE": http.max_bytes,
        "DOWNLOAD_TIMEOUT": http.read_timeout,
        "DNS_TIMEOUT": http.connect_timeout,
        "RETRY_ENABLED": http.retries > 0,
        "RETRY_TIMES": http.retries,
        "HTTPCACHE_ENABLED": False,
        # No listening sockets in a crawl: Scrapy's telnet console, and the remote-control
        # HTTP server that runs Python code sent to it (on by default since Scrapy 2.19).
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,
        "COOKIES_ENABLED": False,
        "LOG_LEVEL": "WARNING",
    }


class ReviewsListener(Listener):
    """Reviews in schema.org markup (JSON-LD, microdata) on product pages, crawled by Scrapy."""

    kind = "reviews"
    Options = ReviewsOptions
    options: ReviewsOptions

    def fetch(self, cursor: dict[str, Any] | None) -> Batch:
        cursor = cursor or {}
        marks = cursor.get("start_urls")
        marks = marks if isinstance(marks, dict) else {}
        seen = cursor.get("seen")
        seen_ids = [str(s) for s in seen] if isinstance(seen, list) else []
        config = {
            "start_urls": self.options.start_urls,
            "allowed_domains": self.options.domains(),
            "max_pages": self.options.max_pages,
            "next_selector": self.options.next_selector,
            "stop_at_seen": self.options.stop_at_seen,
            "marks": {u: m for u, m in marks.items() if u in self.options.start_urls},
            "seen": seen_ids,
            "settings": scrapy_settings(self.http.settings, self.options),
        }
        started = time.monotonic()
        try:
            output = run_crawl(config, timeout=self.options.timeout, stop=self.http.stop)
        finally:
            self.http.network_seconds += time.monotonic() - started
        self.http.requests_made += _int(output.stats.get("downloader/request_count"))
        return _Result(self.options, marks, seen_ids, cursor).batch(output)


class _Result:
    """Turns a crawl's records into a Batch and the next cursor."""

    def __init__(
        self,
        options: ReviewsOptions,
        marks: dict[str, Any],
        seen_ids: list[str],
        cursor: dict[str, Any],
    ) -> None:
        self.options = options
        self.marks = marks
        self.seen_ids = seen_ids
        rejected = cursor.get("rejected")
        self.rejected_before = [str(h) for h in rejected] if isinstance(rejected, list) else []

    def batch(self, output: CrawlOutput) -> Batch:
        if output.errors:
            raise ListenError("crawl failed: " + "; ".join(output.errors[:3]))
        starts = {url: _StartState() for url in self.options.start_urls}
        reviews: list[tuple[str, dict[str, Any]]] = []
        rejected: list[dict[str, Any]] = []
        for record in output.records:
            state = starts.get(str(record.get("start")))
            kind = record.get("type")
            if kind == "review" and isinstance(record.get("review"), dict):
                reviews.append((str(record.get("start")), record["review"]))
            elif kind == "rejected":
                rejected.append(record)
            elif kind == "page" and state is not None:
                state.pages += 1
                state.reviews += _int(record.get("reviews"))
                if record.get("aggregates") and state.aggregate is None:
                    state.aggregate = record["aggregates"][0]
                if record.get("stopped") == "max_pages":
                    state.truncated = True
            elif kind == "error" and state is not None:
                state.errors.append(record)
        self._raise_when_nothing_read(starts)
        warnings = self._warnings(starts, output.stats)
        items, skipped, new_marks, seen_now = self._items(starts, reviews)
        quarantined, hashes = self._quarantine(rejected)
        cursor: dict[str, Any] = {
            "start_urls": new_marks,
            "seen": _last_unique([*self.seen_ids, *seen_now], MAX_SEEN_IDS),
        }
        if hashes:
            cursor["rejected"] = hashes
        return Batch(
            items=items,
            cursor=cursor,
            skipped=skipped,
            warnings=warnings,
            quarantined=quarantined,
        )

    def _raise_when_nothing_read(self, starts: dict[str, _StartState]) -> None:
        failed = {url: s for url, s in starts.items() if s.pages == 0}
        if len(failed) < len(starts):
            return
        errors = [e for s in failed.values() for e in s.errors]
        if errors and all(e.get("refused") for e in errors):
            raise SourceBlocked(
                "robots.txt disallows every start URL: " + ", ".join(e["url"] for e in errors)
            )
        reasons = "; ".join(f"{e.get('url')}: {e.get('reason')}" for e in errors[:5])
        if any(e.get("status") in (401, 403) for e in errors):
            raise SourceBlocked(f"the site refuses this client: {reasons}")
        raise SourceUnavailable(f"no page could be read: {reasons or 'no response'}")

    def _warnings(self, starts: dict[str, _StartState], stats: dict[str, Any]) -> list[str]:
        warnings: list[str] = []
        refused = [e["url"] for s in starts.values() for e in s.errors if e.get("refused")]
        forbidden = max(_int(stats.get("robotstxt/forbidden")), len(refused))
        if forbidden:
            shown = ", ".join(refused[:3]) + (", ..." if len(refused) > 3 else "")
            warnings.append(
                f"robots.txt refused {forbidden} page(s); they were not fetched"
                + (f": {shown}" if shown else "")
            )
        for url, state in starts.items():
            other = [e for e in state.errors if not e.get("refused")]
            if state.pages == 0 and other:
                warnings.append(f"{url}: not read ({other[0].get('reason')})")
            elif other:
                warnings.append(
                    f"{url}: {len(other)} page(s) of its listing failed "
                    f"({other[0].get('url')}: {other[0].get('reason')}); the next run reads "
                    "the listing again"
                )
            if state.pages and not state.reviews and state.aggregate is None:
                warnings.append(
                    f"{url}: no schema.org reviews on {state.pages} page(s) read; if the site "
                    "shows reviews there, its markup may have changed"
                )
            if state.truncated:
                if url in self.marks:
                    warnings.append(
                        f"{url}: stopped after {state.pages} page(s) (max_pages) before "
                        "reaching reviews seen by the previous run; reviews in between may "
                        "be missing"
                    )
                else:
                    warnings.append(
                        f"{url}: first run stopped after {state.pages} page(s) (max_pages); "
                        "older reviews were not fetched"
                    )
        offsite = _int(stats.get("offsite/filtered"))
        if offsite:
            warnings.append(f"{offsite} link(s) outside allowed_domains were not followed")
        return warnings

    def _items(
        self, starts: dict[str, _StartState], reviews: list[tuple[str, dict[str, Any]]]
    ) -> tuple[list[NewMention], int, dict[str, Any], list[str]]:
        keep = KeywordFilter(self.options.keywords)
        known = set(self.seen_ids)
        items: list[NewMention] = []
        skipped = 0
        seen_now: list[str] = []
        newest: dict[str, datetime] = {}
        for start, review in reviews:
            external_id = str(review.get("external_id") or "")
            if not external_id or external_id in seen_now:
                continue
            seen_now.append(external_id)
            published = review_time(review.get("published"))
            if published is not None and (start not in newest or published > newest[start]):
                newest[start] = published
            if external_id in known:
                continue
            item = _to_mention(start, review)
            if keep.matches(item.title, item.text):
                items.append(item)
            else:
                skipped += 1
        new_marks: dict[str, Any] = {}
        for url, state in starts.items():
            old = self.marks.get(url) if isinstance(self.marks.get(url), dict) else None
            if state.pages == 0 or any(not e.get("refused") for e in state.errors):
                # A listing read in part: the next run reads it again from the top.
                if old is not None:
                    new_marks[url] = old
                continue
            mark = dict(old or {})
            before = review_time(mark.get("newest"))
            latest = newest.get(url)
            if latest is not None and (before is None or latest > before):
                mark["newest"] = latest.isoformat()
            mark["pages"] = state.pages
            if state.aggregate is not None:
                mark["aggregate_rating"] = {
                    k: state.aggregate.get(k) for k in ("value", "count", "reviews", "raw")
                }
                mark["product"] = state.aggregate.get("product")
            new_marks[url] = mark
        return items, skipped, new_marks, seen_now

    def _quarantine(self, rejected: list[dict[str, Any]]) -> tuple[list[Rejected], list[str]]:
        before = set(self.rejected_before)
        hashes = list(self.rejected_before)
        quarantined: list[Rejected] = []
        for record in rejected:
            payload = str(record.get("payload") or "")
            digest = hashlib.sha1(
                f"{record.get('url')}\x00{payload}".encode("utf-8", "surrogatepass"),
                usedforsecurity=False,
            ).hexdigest()[:16]
            if digest in before:
                continue
            before.add(digest)
            hashes.append(digest)
            quarantined.append(
                Rejected(reason=str(record.get("reason") or "unreadable block"), payload=payload)
            )
        return quarantined, hashes[-MAX_REJECTED_HASHES:]


class _StartState:
    """What the crawl of one start URL gave: pages read, errors, the rating summary."""

    def __init__(self) -> None:
        self.pages = 0
        self.reviews = 0
        self.errors: list[dict[str, Any]] = []
        self.aggregate: dict[str, Any] | None = None
        self.truncated = False


def _to_mention(start: str, review: dict[str, Any]) -> NewMention:
    author = review.get("author") or None
    page_url = str(review.get("page_url") or start)
    platform = f"reviews:{urlsplit(page_url).netloc.lower()}"
    extra = {
        "start_url": start,
        "page_url": page_url,
        "product": review.get("product") or {},
        "rating_raw": review.get("rating_raw"),
        "aggregate_rating": review.get("aggregate_rating"),
        "published_raw": review.get("published_raw"),
        "markup": review.get("format"),
    }
    rating = review.get("rating")
    return NewMention(
        external_id=str(review["external_id"])[:500],
        text=str(review.get("body") or review.get("title") or ""),
        title=review.get("title") or None,
        # The review's own address, else the listing's first page: a review that moves to
        # page 2 keeps its URL (and its content hash).
        url=review.get("url") or start,
        author_handle=author,
        author_name=author,
        author_url=review.get("author_url"),
        author_platform=platform if author else None,
        published_at=review_time(review.get("published")),
        updated_at=review_time(review.get("modified")),
        kind="review",
        lang=review.get("lang") or None,
        rating=float(rating) if isinstance(rating, int | float) else None,
        extra={k: v for k, v in extra.items() if v is not None},
    )


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _last_unique(values: list[str], limit: int) -> list[str]:
    unique = list(dict.fromkeys(reversed(values)))
    return list(reversed(unique[:limit]))
