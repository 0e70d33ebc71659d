"""RSS and Atom feeds: news alerts for a brand keyword, forum and blog feeds."""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
from pydantic import Field

from listeners.base import Batch, HttpUrl, Listener, SourceOptions
from listeners.dates import parse_localized_date
from listeners.errors import BadContent
from listeners.keywords import KeywordFilter
from listeners.text import clean_text, to_text
from storage.mentions import NewMention

# Feeds from Italian, Portuguese, Spanish, French and German sites date entries in their
# language ("Seg, 24 Set 2018"); feedparser tries this before its own RFC 822 reader.
feedparser.registerDateHandler(parse_localized_date)

ACCEPT = "application/atom+xml, application/rss+xml, application/xml;q=0.9, */*;q=0.5"

# Encoding complaints are normal for real feeds; feedparser recovers and says so.
_HARMLESS = ("CharacterEncodingOverride", "CharacterEncodingUnknown", "NonXMLContentType")
# A complete document ends with the root element's end tag (rss, feed or rdf:RDF).
_ROOT_CLOSED = re.compile(
    rb"</\s*(?:[\w.-]+:)?(?:rss|feed|rdf)\s*>\s*(?:<!--.*?-->\s*)*\Z", re.IGNORECASE | re.DOTALL
)


class RssOptions(SourceOptions):
    url: HttpUrl = Field(description="Address of the RSS or Atom feed (http or https).")
    auth_header_env: str | None = Field(
        None,
        description="Name of an environment variable holding an Authorization header for "
        "the feed, for private feeds. The value itself never goes in settings.",
    )


class RssListener(Listener):
    """Reads an RSS 0.9x/1.0/2.0 or Atom feed with conditional GET."""

    kind = "rss"
    Options = RssOptions
    options: RssOptions

    def fetch(self, cursor: dict[str, Any] | None) -> Batch:
        cursor = cursor or {}
        headers = self._request_headers(cursor)
        response = self.http.get(self.options.url, headers=headers)
        if response.status == 304:
            return Batch(items=[], cursor=cursor, not_modified=True)
        parsed = feedparser.parse(
            response.content,
            response_headers={"content-type": response.headers.get("content-type", "")},
            sanitize_html=True,
            # Links inside entry markup are dropped with the tags: resolving them is wasted.
            resolve_relative_uris=False,
        )
        problem = _parse_problem(parsed)
        if not parsed.entries and (problem or not parsed.get("version")):
            page = _html_page_problem(response.content, response.headers, response.url)
            reason = page or problem or "the document is not an RSS or Atom feed"
            raise BadContent(f"{self.options.url}: {reason}")
        if problem and not _ROOT_CLOSED.search(response.content[-4096:]):
            # Entries recovered from a cut-off body would be stored cut off: fail the run,
            # the next one fetches the whole feed.
            raise BadContent(f"{self.options.url}: the feed is truncated ({problem})")
        warnings = [f"feed is not well-formed ({problem}); entries recovered"] if problem else []
        platform = f"rss:{urlsplit(response.url).netloc}"
        keep = KeywordFilter(self.options.keywords)
        items = []
        for entry in parsed.entries:
            item = _to_mention(entry, platform)
            if item is not None and keep.matches(item.title, item.text):
                items.append(item)
        new_cursor = {
            "etag": response.headers.get("etag"),
            "last_modified": response.headers.get("last-modified"),
        }
        return Batch(
            items=items,
            cursor=new_cursor,
            skipped=len(parsed.entries) - len(items),
            warnings=warnings,
        )

    def _request_headers(self, cursor: dict[str, Any]) -> dict[str, str]:
        headers = {"Accept": ACCEPT}
        if cursor.get("etag"):
            headers["If-None-Match"] = cursor["etag"]
        if cursor.get("last_modified"):
            headers["If-Modified-Since"] = cursor["last_modified"]
        if self.options.auth_header_env:
            value = os.environ.get(self.options.auth_header_env)
            if value:
                headers["Authorization"] = value
        return headers


_HTML_START = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)\b", re.I | re.S)
_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json")


class _FeedLinks(HTMLParser):
    """The feeds an HTML page advertises with `<link rel="alternate" type="...+xml">`."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): value or "" for name, value in attrs}
        rels = values.get("rel", "").lower().split()
        kind = values.get("type", "").lower().split(";")[0].strip()
        if tag == "link" and "alternate" in rels and kind in _FEED_TYPES and values.get("href"):
            self.found.append(values["href"].strip())


def _html_page_problem(content: bytes, headers: Mapping[str, str], url: str) -> str | None:
    """What to say when the address is a web page instead of a feed, naming the feed
    the page links to (people paste a site's address where its feed's belongs)."""
    content_type = headers.get("content-type", "").lower()
    if "html" not in content_type and not _HTML_START.match(content[:4096]):
        return None
    links = _FeedLinks()
    try:
        links.feed(content[:1_000_000].decode("utf-8", "replace"))
    except Exception:  # a page too broken to read names no feed
        links.found = []
    if links.found:
        feed = urljoin(url, links.found[0])
        return f"this is an HTML page, not a feed; it links to its feed at {feed}: use that url"
    return "this is an HTML page, not a feed, and it links to no feed"


def _parse_problem(parsed: Any) -> str | None:
    if not parsed.get("bozo"):
        return None
    exc = parsed.get("bozo_exception")
    if exc is None or type(exc).__name__ in _HARMLESS:
        return None
    return f"{type(exc).__name__}: {exc}"


def _to_mention(entry: Any, platform: str) -> NewMention | None:
    title = _text(entry.get("title"), entry.get("title_detail"))
    body = _body(entry)
    if not title and not body:
        return None
    link = entry.get("link") or None
    external_id = entry.get("id") or link or _fingerprint(title, body)
    detail = entry.get("author_detail") or {}
    # RSS puts "email (Name)" in <author>; keep the name, not the address.
    author = clean_text(detail.get("name") or entry.get("author") or "") or None
    updated = dict.get(entry, "updated_parsed")
    return NewMention(
        external_id=str(external_id)[:500],
        title=title or None,
        text=body or title,
        url=link,
        author_handle=author,
        author_name=author,
        author_url=detail.get("href"),
        author_platform=platform if author else None,
        # dict.get: FeedParserDict.get falls back from `updated` to `published`, which
        # would make every dated entry look edited.
        published_at=_when(dict.get(entry, "published_parsed") or updated),
        updated_at=_when(updated),
    )


def _body(entry: Any) -> str:
    contents = entry.get("content") or []
    if contents:
        return "\n".join(_text(c.get("value"), c) for c in contents).strip()
    return _text(entry.get("summary") or entry.get("description"), entry.get("summary_detail"))


def _text(value: Any, detail: Any) -> str:
    """Text of a feed value in the type feedparser says it has, decoded once.

    feedparser has already undone the XML escaping: text/plain values are text as they are
    (`a < b` stays), HTML values still carry their own one layer of markup and references.
    """
    if not isinstance(value, str):
        return ""
    kind = detail.get("type", "text/html") if isinstance(detail, Mapping) else "text/html"
    return to_text(value, "text" if kind == "text/plain" else "html")


def _when(value: time.struct_time | None) -> datetime | None:
    if not value:
        return None
    # feedparser normalises every date it understands to UTC.
    return datetime(*value[:6], tzinfo=UTC)


def _fingerprint(title: str, body: str) -> str:
    return "sha1:" + hashlib.sha1(f"{title}\n{body}".encode(), usedforsecurity=False).hexdigest()
