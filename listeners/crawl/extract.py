"""schema.org reviews from an HTML page: JSON-LD and microdata, normalised to plain dicts.

Pure functions without Scrapy, so they can be tested on their own and run in the crawl's
child process. What they return is JSON-serialisable: it crosses the process boundary.

- JSON-LD: every `<script type="application/ld+json">` block, with `@graph`, top-level
  arrays, `Product.review` / `Product.reviews` and `Review.itemReviewed`. A block that is
  not valid JSON is reported as rejected (reason and raw text) and the rest of the page is
  still read.
- Microdata: `itemscope`/`itemtype`/`itemprop` (and `itemref`) by the WHATWG algorithm, plus
  the common `content` attribute on any element (Google reads it; `content="3.6"` beats the
  visible "3,6").
- Ratings are normalised to 1-5 from `ratingValue` within `worstRating` (default 1) and
  `bestRating` (default 5); the raw values are kept.
- A review without an id gets `sha1:` of (product key, author, datePublished, body), where the
  product key is the product's `@id`, `url`, SKU/GTIN or name on that site, so a review keeps
  its id when it moves from page 1 to page 2.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from parsel import Selector

from listeners.keywords import fold
from listeners.text import clean_text, html_to_text

REVIEW_TYPES = frozenset({"Review", "UserReview", "CriticReview", "EmployerReview"})
AGGREGATE_TYPES = frozenset({"AggregateRating"})
_SCHEMA_PREFIXES = ("http://schema.org/", "https://schema.org/", "schema:")
_URL_ATTRIBUTES = {
    "a": "href",
    "area": "href",
    "link": "href",
    "audio": "src",
    "embed": "src",
    "iframe": "src",
    "img": "src",
    "source": "src",
    "track": "src",
    "video": "src",
    "object": "data",
}
_PRODUCT_ID_KEYS = ("sku", "gtin13", "gtin14", "gtin12", "gtin8", "gtin", "mpn", "productID")
_NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)?")
_COMMENT_WRAPPER = re.compile(r"^\s*(?:<!--|//\s*<!\[CDATA\[)|(?:-->|//\s*\]\]>)\s*$")
MAX_ITEMS_PER_PAGE = 1000


@dataclass
class PageData:
    """What one page holds: reviews, ratings summaries, unreadable blocks, pagination."""

    reviews: list[dict[str, Any]] = field(default_factory=list)
    aggregates: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, str]] = field(default_factory=list)
    next_urls: list[str] = field(default_factory=list)


def extract_page(text: str, url: str, next_selector: str | None = None) -> PageData:
    """Reviews and aggregate ratings on the page at `url` and the links to its next page."""
    selector = Selector(text=text, base_url=url)
    page = PageData()
    host = urlsplit(url).netloc.lower()
    found: list[tuple[dict[str, Any], dict[str, Any], str]] = []
    aggregates: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for block in json_ld_blocks(selector):
        try:
            data = json.loads(block, strict=False)
        except ValueError as exc:
            page.rejected.append(
                {"reason": f"malformed JSON-LD block on {url}: {exc}", "payload": block}
            )
            continue
        walker = _Walker()
        walker.walk(data, {})
        found += [(review, product, "json-ld") for review, product in walker.reviews]
        aggregates += walker.aggregates
    walker = _Walker()
    walker.walk(microdata_items(selector, url), {})
    found += [(review, product, "microdata") for review, product in walker.reviews]
    aggregates += walker.aggregates

    summaries: dict[str, dict[str, Any]] = {}
    for node, product in aggregates:
        summary = aggregate_summary(node, product, host)
        if summary is not None:
            summaries.setdefault(summary["product_key"], summary)
    page.aggregates = list(summaries.values())
    seen: set[tuple[str, str]] = set()
    for node, product, fmt in found[:MAX_ITEMS_PER_PAGE]:
        review = normalise_review(node, product, fmt, url, host)
        if review is None:
            continue
        # Many sites publish the same reviews as JSON-LD and as microdata: keep one.
        key = (fold(review["author"] or ""), fold(review["body"] or review["title"] or ""))
        if key in seen:
            continue
        seen.add(key)
        summary = summaries.get(review["product_key"])
        if summary is None and len(summaries) == 1:
            summary = next(iter(summaries.values()))
        review["aggregate_rating"] = _public_summary(summary)
        page.reviews.append(review)
    page.next_urls = next_links(selector, url, next_selector)
    return page


def json_ld_blocks(selector: Selector) -> list[str]:
    """The text of every JSON-LD script block, without HTML-comment or CDATA wrappers."""
    blocks = []
    for script in selector.xpath("//script[@type]"):
        kind = (script.attrib.get("type") or "").split(";")[0].strip().lower()
        if kind != "application/ld+json":
            continue
        text = "".join(script.xpath("text()").getall())
        text = _COMMENT_WRAPPER.sub("", text.strip()).strip()
        if text:
            blocks.append(text)
    return blocks


def next_links(selector: Selector, url: str, next_selector: str | None = None) -> list[str]:
    """Absolute URLs of the next page: `rel="next"` links, then `next_selector`'s matches."""
    values: list[str] = selector.xpath(
        "//link[contains(concat(' ', normalize-space(translate(@rel, 'NEXT', 'next')), ' '),"
        " ' next ')]/@href"
        " | //a[contains(concat(' ', normalize-space(translate(@rel, 'NEXT', 'next')), ' '),"
        " ' next ')]/@href"
    ).getall()
    if next_selector:
        for node in select(selector, next_selector):
            root = node.root
            if isinstance(root, str):
                values.append(root)
            elif node.attrib.get("href"):
                values.append(node.attrib["href"])
    links: list[str] = []
    for value in values:
        absolute = urljoin(url, value.strip())
        if urlsplit(absolute).scheme in ("http", "https") and absolute not in links:
            links.append(absolute.split("#", 1)[0])
    return links


def select(selector: Selector, query: str) -> Any:
    """Apply a CSS selector, or an XPath one when it starts with `/`, `(` or `xpath:`."""
    if query.startswith("xpath:"):
        return selector.xpath(query.removeprefix("xpath:"))
    if query.startswith(("/", "(", "./")):
        return selector.xpath(query)
    return selector.css(query)


def check_selector(query: str) -> None:
    """Raise ValueError when `query` is not a valid CSS or XPath selector."""
    try:
        select(Selector(text="<html></html>"), query)
    except Exception as exc:  # cssselect and lxml raise their own error classes
        raise ValueError(f"not a valid CSS or XPath selector: {exc}") from None


# --- microdata -------------------------------------------------------------------------------


def microdata_items(selector: Selector, base_url: str) -> list[dict[str, Any]]:
    """Top-level microdata items as JSON-LD-shaped dicts (`@type`, `@id`, properties)."""
    root = selector.root
    items = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        if element.get("itemscope") is not None and element.get("itemprop") is None:
            items.append(_microdata_item(element, base_url, root, depth=0))
    return items


def _microdata_item(element: Any, base_url: str, root: Any, depth: int) -> dict[str, Any]:
    item: dict[str, Any] = {}
    types = (element.get("itemtype") or "").split()
    if types:
        item["@type"] = types if len(types) > 1 else types[0]
    if element.get("itemid"):
        item["@id"] = urljoin(base_url, element.get("itemid"))
    if element.get("lang"):
        item["@language"] = element.get("lang")
    values: dict[str, list[Any]] = {}
    for prop in _microdata_properties(element, root):
        if prop.get("itemscope") is not None and depth < 20:
            value: Any = _microdata_item(prop, base_url, root, depth + 1)
        else:
            value = _microdata_value(prop, base_url)
        for name in (prop.get("itemprop") or "").split():
            values.setdefault(_short_name(name), []).append(value)
    for name, found in values.items():
        item[name] = found[0] if len(found) == 1 else found
    return item


def _microdata_properties(element: Any, root: Any) -> list[Any]:
    """Elements holding properties of the item on `element`, in document order; nested items
    are properties themselves, but their own properties are not."""
    pending = list(reversed([c for c in element if isinstance(c.tag, str)]))
    for ref in (element.get("itemref") or "").split():
        target = root.xpath("//*[@id=$ref]", ref=ref)
        if target:
            pending.insert(0, target[0])
    properties: list[Any] = []
    # The elements themselves, not id()s: lxml's proxies are made on the fly, and an id can
    # come back for another element once a proxy is freed. Holding them keeps them unique.
    visited: set[Any] = set()
    while pending:
        node = pending.pop()
        if node in visited:
            continue
        visited.add(node)
        if node.get("itemprop") is not None:
            properties.append(node)
        if node.get("itemscope") is None:
            pending.extend(reversed([c for c in node if isinstance(c.tag, str)]))
    return properties


def _microdata_value(element: Any, base_url: str) -> str:
    tag = str(element.tag).lower()
    if tag == "meta" or element.get("content") is not None:
        return str(element.get("content") or "")
    if tag in _URL_ATTRIBUTES:
        value = element.get(_URL_ATTRIBUTES[tag])
        return urljoin(base_url, value) if value else ""
    if tag in ("data", "meter") and element.get("value") is not None:
        return str(element.get("value"))
    if tag == "time" and element.get("datetime"):
        return str(element.get("datetime"))
    # The markup, not the flat text: html_to_text later keeps paragraphs apart.
    return _inner_html(element)


def _inner_html(element: Any) -> str:
    parts = [html.escape(element.text or "", quote=False)]
    for child in element:
        parts.append(Selector(root=child, type="html").get() if isinstance(child.tag, str) else "")
        parts.append(html.escape(child.tail or "", quote=False))
    return "".join(parts)


# --- walking the schema.org graph ------------------------------------------------------------


class _Walker:
    """Finds Review and AggregateRating nodes with the product (or place) they are about."""

    def __init__(self) -> None:
        self.reviews: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self.aggregates: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self._budget = 20_000

    def walk(self, node: Any, product: dict[str, Any], depth: int = 0) -> None:
        self._budget -= 1
        if self._budget < 0 or depth > 40:
            return
        if isinstance(node, list):
            for child in node:
                self.walk(child, product, depth + 1)
            return
        if not isinstance(node, dict):
            return
        types = node_types(node)
        reviewed = node.get("itemReviewed")
        if isinstance(reviewed, list):
            reviewed = reviewed[0] if reviewed else None
        if types & REVIEW_TYPES:
            about = product_info(reviewed) if isinstance(reviewed, dict) else product
            self.reviews.append((node, about))
            return
        if types & AGGREGATE_TYPES:
            about = product_info(reviewed) if isinstance(reviewed, dict) else product
            self.aggregates.append((node, about))
            return
        context = product
        if any(k in node for k in ("review", "reviews", "aggregateRating")) or (
            types and not types & {"WebPage", "WebSite", "BreadcrumbList", "ItemList"}
        ):
            info = product_info(node)
            if info:
                context = info
        for key, value in node.items():
            if key not in ("@context", "itemReviewed") and isinstance(value, dict | list):
                self.walk(value, context, depth + 1)


def node_types(node: dict[str, Any]) -> set[str]:
    """The node's schema.org types without their vocabulary prefix."""
    value = node.get("@type", node.get("type"))
    values = value if isinstance(value, list) else [value]
    return {_short_name(v) for v in values if isinstance(v, str)}


def _short_name(value: str) -> str:
    value = value.strip()
    for prefix in _SCHEMA_PREFIXES:
        if value.startswith(prefix):
            return value[len(prefix) :]
    return value


def product_info(node: dict[str, Any]) -> dict[str, Any]:
    """What identifies the reviewed thing: @id, url, name, SKU/GTIN (strings only)."""
    info: dict[str, Any] = {}
    for key in ("@id", "url", "name", *_PRODUCT_ID_KEYS):
        value = _first_text(node.get(key))
        if value:
            info[key] = value[:500]
    return info


def product_key(product: dict[str, Any], host: str, page_url: str) -> str:
    """A stable key of the reviewed product on this site, for ids and rating summaries."""
    for key in ("@id", "url"):
        if product.get(key):
            return str(product[key])
    for key in _PRODUCT_ID_KEYS:
        if product.get(key):
            return f"{host}|{key}:{product[key]}"
    if product.get("name"):
        return f"{host}|name:{fold(str(product['name']))}"
    return page_url


def _first_text(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("@id") or value.get("name") or value.get("@value")
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    return html_to_text(value) or None


# --- normalising -----------------------------------------------------------------------------


def normalise_review(
    node: dict[str, Any], product: dict[str, Any], fmt: str, page_url: str, host: str
) -> dict[str, Any] | None:
    """A review as a JSON-ready dict, or None when it has neither body nor title."""
    body = _text(node.get("reviewBody")) or _text(node.get("description"))
    body = body or _text(node.get("text"))
    title = _text(node.get("name")) or _text(node.get("headline"))
    if not body and not title:
        return None
    author, author_url = _author(node.get("author"), page_url)
    published_raw = _first_text(node.get("datePublished")) or _first_text(node.get("dateCreated"))
    published = parse_date(published_raw)
    modified = parse_date(_first_text(node.get("dateModified")))
    rating, rating_raw = _rating(node.get("reviewRating"))
    key = product_key(product, host, page_url)
    own_id = _first_text(node.get("@id")) or _first_text(node.get("identifier"))
    if own_id:
        external_id = urljoin(page_url, own_id) if own_id.startswith("#") else own_id
    else:
        external_id = review_fingerprint(key, author, published_raw, body or title)
    review_url = _first_text(node.get("url"))
    return {
        "external_id": external_id[:500],
        "title": title or None,
        "body": body or title,
        "author": author,
        "author_url": author_url,
        "published": published.isoformat() if published else None,
        "published_raw": published_raw,
        "modified": modified.isoformat() if modified else None,
        "rating": rating,
        "rating_raw": rating_raw,
        "lang": _first_text(node.get("inLanguage")) or node.get("@language"),
        "url": urljoin(page_url, review_url) if review_url else None,
        "page_url": page_url,
        "product": product,
        "product_key": key,
        "format": fmt,
    }


def review_fingerprint(key: str, author: str | None, published: str | None, body: str) -> str:
    """The id of a review the markup gives none: stable across pages and re-crawls."""
    text = "\x00".join((key, fold(author or ""), (published or "").strip(), clean_text(body)))
    return "sha1:" + hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def aggregate_summary(
    node: dict[str, Any], product: dict[str, Any], host: str
) -> dict[str, Any] | None:
    """An AggregateRating as {value (1-5), best, worst, count, reviews, product}."""
    value, raw = _rating(node)
    if value is None:
        return None
    return {
        "value": value,
        "raw": raw,
        "count": _integer(node.get("ratingCount")),
        "reviews": _integer(node.get("reviewCount")),
        "product": product,
        "product_key": product_key(product, host, ""),
    }


def _public_summary(summary: dict[str, Any] | None) -> dict[str, Any] | None:
    if summary is None:
        return None
    return {k: summary[k] for k in ("value", "raw", "count", "reviews")}


def _text(value: Any) -> str:
    if isinstance(value, list):
        value = " ".join(v for v in value if isinstance(v, str))
    if isinstance(value, dict):
        value = value.get("@value") or value.get("text") or ""
    return html_to_text(value) if isinstance(value, str) else ""


def _author(value: Any, page_url: str) -> tuple[str | None, str | None]:
    if isinstance(value, list):
        value = value[0] if value else None
    url = None
    if isinstance(value, dict):
        link = _first_text(value.get("url"))
        url = urljoin(page_url, link) if link else None
        value = value.get("name") or value.get("alternateName")
        if isinstance(value, list):
            value = value[0] if value else None
    name = html_to_text(value) if isinstance(value, str) else ""
    return (name[:200] or None), url


def _rating(node: Any) -> tuple[float | None, dict[str, Any] | None]:
    """(value on a 1-5 scale, raw values) from a Rating or AggregateRating node."""
    if isinstance(node, list):
        node = node[0] if node else None
    if isinstance(node, int | float | str) and not isinstance(node, bool):
        node = {"ratingValue": node}
    if not isinstance(node, dict):
        return None, None
    value = _number(node.get("ratingValue"))
    best = _number(node.get("bestRating"))
    worst = _number(node.get("worstRating"))
    raw = {
        "value": _first_text(node.get("ratingValue")),
        "best": _first_text(node.get("bestRating")),
        "worst": _first_text(node.get("worstRating")),
    }
    if value is None:
        return None, raw
    best = 5.0 if best is None else best
    worst = 1.0 if worst is None else worst
    if best <= worst:
        return None, raw
    scaled = value if (best, worst) == (5, 1) else 1 + (value - worst) * 4 / (best - worst)
    return round(min(5.0, max(1.0, scaled)), 2), raw


def _number(value: Any) -> float | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str):
        return None
    match = _NUMBER.search(html_to_text(value))
    return float(match.group().replace(",", ".")) if match else None


def _integer(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None else None


def parse_date(value: str | None) -> datetime | None:
    """A schema.org date or date-time in UTC; a bare date is midnight UTC; None if unreadable."""
    if not value:
        return None
    text = value.strip()
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        try:
            when = datetime.combine(date.fromisoformat(text[:10]), time())
        except ValueError:
            try:
                when = parsedate_to_datetime(text)
            except (TypeError, ValueError, IndexError):
                return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def to_json_line(value: Any) -> str:
    """One line of the child's output protocol."""
    return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))


def review_time(value: Any) -> datetime | None:
    """A review date as the spider reports it (ISO 8601 text), or None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
