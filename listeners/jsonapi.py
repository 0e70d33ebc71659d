"""Any JSON API that lists items: paths in settings say where the list and each field are."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import Any
from urllib.parse import urljoin, urlsplit

from pydantic import Field, field_validator

from listeners.base import Batch, HttpUrl, Listener
from listeners.errors import BadContent
from listeners.jsonpath import decode, dumps, get_path, parse_time, text_or_none
from listeners.paging import Collector, Entry, Page, PagedOptions, Position, env_value, reject
from listeners.text import clean_text, html_to_text
from storage.mentions import NewMention
from storage.types import is_digits

TEXT_FIELDS = ("title", "url", "author_handle", "author_name", "author_url", "lang")
TIME_FIELDS = ("published_at", "updated_at")
FIELDS = frozenset(
    {
        "external_id",
        "text",
        "kind",
        "rating",
        "parent_external_id",
        "deleted",
        *TEXT_FIELDS,
        *TIME_FIELDS,
    }
)
KINDS = ("post", "comment", "review", "story")


class JsonApiOptions(PagedOptions):
    url: HttpUrl = Field(description="Address of the first page of the listing (http or https).")
    params: dict[str, str] = Field(
        default_factory=dict, description="Extra query parameters sent with the first page."
    )
    auth_header_env: str | None = Field(
        None,
        description="Name of an environment variable holding the whole value of the "
        "authentication header (e.g. `Bearer abc…`). The value never goes in settings.",
    )
    auth_header_name: str = Field(
        "Authorization", description="Header that carries `auth_header_env`'s value."
    )
    items_path: str = Field(
        "",
        description="Dotted path to the list of items in each page (`data.items`; list "
        "positions are numbers: `results.0.hits`); empty when the page is the list.",
    )
    fields: dict[str, str] = Field(
        description="Where each mention field is in an item, as dotted paths: "
        "`external_id` and `text` are required; also `title`, `url`, `author_handle`, "
        "`author_name`, `author_url`, `published_at`, `updated_at` (ISO 8601 or epoch "
        "seconds), `kind` (post, comment, review, story), `lang`, `rating`, "
        "`parent_external_id`, `deleted` (true for a deleted item)."
    )
    next_path: str | None = Field(
        None,
        description="Dotted path, in each page, to the next page: an address (absolute or "
        "relative) or a token sent as `next_param`. No value there ends the listing.",
    )
    next_param: str = Field(
        "cursor", description="Query parameter carrying a next-page token that is not an address."
    )
    cursor_field: str | None = Field(
        None,
        description="Dotted path, in each item, of a value that grows with newer items "
        "(a timestamp or an increasing id). Its newest value is the cursor: later runs read "
        "pages (newest first) only back to it. Without it every run reads every page.",
    )
    cursor_param: str | None = Field(
        None,
        description="Query parameter that sends the stored cursor value to the API "
        "(e.g. `since`), for APIs that can filter on the server.",
    )
    platform: str | None = Field(
        None, description="Platform name for authors (default: the API's host name)."
    )

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - FIELDS)
        if unknown:
            raise ValueError(f"unknown field(s) {unknown}; known: {sorted(FIELDS)}")
        missing = [f for f in ("external_id", "text") if not value.get(f)]
        if missing:
            raise ValueError(f"a path for {' and '.join(missing)} is required")
        return value


class JsonApiListener(Listener):
    """A JSON API listing, mapped to mentions by dotted paths in settings."""

    kind = "json"
    Options = JsonApiOptions
    options: JsonApiOptions

    def fetch(self, cursor: dict[str, Any] | None) -> Batch:
        collector = Collector(self.options.keywords, cursor)
        collector.walk(
            "items",
            self._pager(collector),
            max_pages=self.options.max_pages,
            label=f"json {self.options.url}",
        )
        return collector.batch()

    def _pager(self, collector: Collector) -> Callable[[Any], Page]:
        opts = self.options
        headers = {"Accept": "application/json"}
        value = env_value(opts.auth_header_env, "json API credentials")
        if value:
            headers[opts.auth_header_name] = value
        first: dict[str, Any] = dict(opts.params)
        mark = collector.mark("items")
        if opts.cursor_param and mark is not None:
            first[opts.cursor_param] = mark.position
        platform = opts.platform or urlsplit(opts.url).hostname or "json"
        host = urlsplit(opts.url).netloc

        def fetch(token: Any) -> Page:
            url, params = opts.url, first
            if isinstance(token, str) and token.startswith(("http://", "https://", "/")):
                url, params = urljoin(opts.url, token), {}
                if urlsplit(url).netloc != host:
                    # The credentials must not follow a link to another host.
                    raise BadContent(f"json {opts.url}: next page {url} is on another host")
            elif token is not None:
                params = {**first, opts.next_param: token}
            document = decode(self.http.get(url, params=params, headers=headers), f"json {url}")
            items = get_path(document, opts.items_path)
            if not isinstance(items, list):
                where = f"at `{opts.items_path}`" if opts.items_path else "as the document"
                raise BadContent(f"json {url}: expected a list of items {where}")
            following = get_path(document, opts.next_path) if opts.next_path else None
            if isinstance(following, int | float) and not isinstance(following, bool):
                following = str(following)
            if not isinstance(following, str) or not following:
                following = None
            return Page([self._entry(item, platform) for item in items], following)

        return fetch

    def _entry(self, item: Any, platform: str) -> Entry:
        fields = self.options.fields
        payload = dumps(item)
        raw_id = get_path(item, fields["external_id"])
        external_id = text_or_none(raw_id)
        if not external_id or not external_id.strip():
            return reject(f"item without an id at `{fields['external_id']}`", payload, None)
        position: Position | None = None
        if self.options.cursor_field:
            position = _position(get_path(item, self.options.cursor_field))
            if position is None:
                return reject(
                    f"item without a usable `{self.options.cursor_field}` (cursor_field)",
                    payload,
                    external_id,
                )
        raw_text = get_path(item, fields["text"])
        if not isinstance(raw_text, str):
            return reject(f"item without text at `{fields['text']}`", payload, external_id)
        values: dict[str, Any] = {"external_id": external_id[:500], "text": html_to_text(raw_text)}
        for name in TEXT_FIELDS:
            if name in fields:
                raw = get_path(item, fields[name])
                if raw is not None and text_or_none(raw) is None:
                    return reject(f"`{name}` is not text", payload, external_id)
                text = text_or_none(raw)
                values[name] = html_to_text(text) if name == "title" else clean_text(text or "")
                values[name] = values[name] or None
        for name in TIME_FIELDS:
            if name in fields:
                try:
                    values[name] = parse_time(get_path(item, fields[name]))
                except ValueError as exc:
                    return reject(f"`{name}`: {exc}", payload, external_id)
        if "rating" in fields:
            raw = get_path(item, fields["rating"])
            try:
                values["rating"] = None if raw is None else float(raw)
            except (TypeError, ValueError):
                return reject(f"`rating` {raw!r} is not a number", payload, external_id)
        if "kind" in fields:
            kind = get_path(item, fields["kind"])
            values["kind"] = kind if kind in KINDS else "post"
        if "parent_external_id" in fields:
            values["parent_external_id"] = text_or_none(
                get_path(item, fields["parent_external_id"])
            )
        if "deleted" in fields:
            values["deleted"] = bool(get_path(item, fields["deleted"]))
        if values.get("author_handle"):
            values["author_platform"] = platform
        return Entry(position, external_id, item=NewMention(**values))


def _position(value: Any) -> Position | None:
    """A comparable cursor value: numbers as they are, times as UTC ISO text, digit strings
    as integers, other text as is."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if is_digits(text) and len(text) < 19:
        return int(text)
    try:
        when = parse_time(text)
    except ValueError:
        return text
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if when else None
