"""Mastodon: hashtag timelines and status search on one or more instances."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote, urlsplit

from pydantic import Field, field_validator, model_validator

from listeners.base import BaseUrl, Batch, Listener, RecheckResult, StoredMention
from listeners.errors import BadContent, ListenError, SourceBlocked
from listeners.jsonpath import decode, dumps, parse_time
from listeners.paging import Collector, Entry, Page, PagedOptions, env_value, reject
from listeners.text import clean_text, html_to_text
from storage.mentions import NewMention
from storage.types import is_digits

_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="?([^";,]+)"?')


class MastodonOptions(PagedOptions):
    instances: list[BaseUrl] = Field(
        description="Base addresses of the Mastodon instances to read, e.g. "
        "`https://mastodon.social`. Each is read separately, with its own cursor."
    )
    hashtags: list[str] = Field(
        default_factory=list,
        description="Hashtags without `#`; each instance's `/api/v1/timelines/tag/<tag>` is read.",
    )
    query: str | None = Field(
        None,
        description="Full-text status search (`/api/v2/search?type=statuses`). Most "
        "instances answer it only for an authenticated user: set `token_env`.",
    )
    token_env: str | None = Field(
        None,
        description="Name of the environment variable holding an access token (read "
        "scope) for the instances; required where anonymous access is disabled.",
    )
    page_size: int = Field(40, ge=1, le=40, description="Statuses per page (`limit`, at most 40).")
    check_deleted: int = Field(
        0,
        ge=0,
        le=100,
        description="Re-check this many of the most recent statuses each run "
        "(`GET /api/v1/statuses/:id`) and mark those answering 404 as deleted; timelines "
        "never show deletions. Costs one request per status.",
    )

    @field_validator("instances")
    @classmethod
    def _some(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one instance")
        return value

    @field_validator("hashtags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        return [v.strip().lstrip("#") for v in value if v.strip().lstrip("#")]

    @model_validator(mode="after")
    def _something_to_read(self) -> MastodonOptions:
        if not self.hashtags and not self.query:
            raise ValueError("set `hashtags`, `query`, or both")
        return self


class MastodonListener(Listener):
    """Mastodon statuses from hashtag timelines and search, on the configured instances."""

    kind = "mastodon"
    Options = MastodonOptions
    options: MastodonOptions

    def fetch(self, cursor: dict[str, Any] | None) -> Batch:
        opts = self.options
        collector = Collector(opts.keywords, cursor)
        token = env_value(opts.token_env, "mastodon access token")
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        blocked: list[str] = []
        streams = 0
        for instance in opts.instances:
            reads: list[tuple[str, str, dict[str, Any], bool]] = [
                (
                    f"{instance} #{tag}",
                    f"{instance}/api/v1/timelines/tag/{quote(tag, safe='')}",
                    {"limit": opts.page_size},
                    False,
                )
                for tag in opts.hashtags
            ]
            if opts.query:
                search = {"q": opts.query, "type": "statuses", "limit": opts.page_size}
                reads.append((f"{instance} search", f"{instance}/api/v2/search", search, True))
            for stream, url, params, is_search in reads:
                streams += 1
                try:
                    collector.walk(
                        stream,
                        self._pager(instance, url, params, headers, is_search, collector, stream),
                        max_pages=opts.max_pages,
                        label=f"mastodon {stream}",
                    )
                except SourceBlocked as exc:
                    collector.keep(stream)
                    blocked.append(f"{stream}: {exc}")
        if opts.query and not token:
            collector.warnings.append(
                "mastodon search without token_env: most instances return no statuses to "
                "anonymous searches"
            )
        if blocked and len(blocked) == streams:
            hint = "" if token else "; set token_env to an access token of the instance"
            raise SourceBlocked("mastodon refused every read (" + "; ".join(blocked) + ")" + hint)
        collector.warnings.extend(f"blocked: {b}" for b in blocked)
        if opts.check_deleted:
            self._recheck(collector, headers)
        return collector.batch()

    rechecks = True

    def recheck(self, mentions: Sequence[StoredMention]) -> list[RecheckResult]:
        """Each status again (`GET /api/v1/statuses/:id` on its instance): 404 or 410 is
        deleted, 401 or 403 private; only the configured instances are asked."""
        token = env_value(self.options.token_env, "mastodon access token")
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        known = {i.rstrip("/") for i in self.options.instances}
        results: list[RecheckResult] = []
        failed: list[ListenError] = []
        for mention in mentions:
            instance = mention.extra.get("instance")
            status_id = mention.extra.get("status_id")
            if instance not in known or not isinstance(status_id, str) or not is_digits(status_id):
                continue
            url = f"{instance}/api/v1/statuses/{quote(status_id, safe='')}"
            try:
                response = self.http.get(url, headers=headers)
            except ListenError as exc:
                status = getattr(exc.response, "status", None)
                if status in (404, 410):
                    results.append(RecheckResult(mention.external_id, "deleted"))
                elif status in (401, 403):
                    results.append(RecheckResult(mention.external_id, "private"))
                else:
                    failed.append(exc)  # unknown this time, asked again next time
                continue
            entry = _entry(decode(response, f"mastodon {url}"), str(instance))
            if entry.item is not None and entry.item.external_id == mention.external_id:
                results.append(RecheckResult(mention.external_id, "present", entry.item))
        if failed and not results:
            raise failed[0]
        return results

    def _pager(
        self,
        instance: str,
        url: str,
        params: dict[str, Any],
        headers: dict[str, str],
        is_search: bool,
        collector: Collector,
        stream: str,
    ) -> Callable[[Any], Page]:
        mark = collector.mark(stream)
        host = urlsplit(instance).netloc
        first = dict(params)
        if mark is not None:
            first["min_id" if is_search else "since_id"] = str(mark.position)

        def fetch(token: Any) -> Page:
            if is_search:
                offset = int(token or 0)
                response = self.http.get(url, params={**first, "offset": offset}, headers=headers)
                document = decode(response, f"mastodon {url}")
                statuses = document.get("statuses") if isinstance(document, dict) else None
                if not isinstance(statuses, list):
                    raise BadContent(f"mastodon {url}: expected an object with `statuses`")
                more = len(statuses) >= int(params["limit"])
                entries = [_entry(s, instance) for s in statuses]
                return Page(entries, offset + len(statuses) if more else None)
            response = self.http.get(token or url, params=None if token else first, headers=headers)
            document = decode(response, f"mastodon {url}")
            if not isinstance(document, list):
                raise BadContent(f"mastodon {url}: expected a JSON array of statuses")
            following = next_link(response.headers.get("link", ""))
            if following and urlsplit(following).netloc != host:
                collector.warnings.append(
                    f"mastodon {url}: next page link points to another host; not followed"
                )
                following = None
            return Page([_entry(s, instance) for s in document], following)

        return fetch

    def _recheck(self, collector: Collector, headers: dict[str, str]) -> None:
        """Ask for the most recent statuses again; a 404 means deleted upstream."""
        previous = (collector.previous or {}).get("recent")
        recent = [r for r in previous if _pair(r)] if isinstance(previous, list) else []
        gone: list[Entry] = []
        for instance, status_id, uri in recent[: self.options.check_deleted]:
            url = f"{instance}/api/v1/statuses/{quote(str(status_id), safe='')}"
            try:
                self.http.get(url, headers=headers)
            except ListenError as exc:
                if getattr(exc.response, "status", None) not in (404, 410):
                    raise
                item = NewMention(external_id=uri, text="", deleted=True)
                gone.append(Entry(None, uri, item=item))
        collector.include(gone)
        fresh = [
            [e.item.extra["instance"], e.key, e.item.external_id]
            for e in collector.entries()
            if e.item is not None and not e.item.deleted and "instance" in e.item.extra
        ]
        fresh.sort(key=lambda r: int(r[1]) if is_digits(str(r[1])) else 0, reverse=True)
        deleted = {e.key for e in gone}
        keep = [r for r in fresh + recent if r[2] not in deleted]
        unique: dict[str, list[Any]] = {}
        for row in keep:
            unique.setdefault(str(row[2]), row)
        collector.state["recent"] = list(unique.values())[: self.options.check_deleted]


def _pair(row: Any) -> bool:
    return isinstance(row, list) and len(row) == 3 and all(isinstance(v, str) for v in row)


def next_link(header: str) -> str | None:
    """The `rel="next"` address of an RFC 8288 Link header, if any."""
    for url, rel in _LINK.findall(header or ""):
        if "next" in rel.split():
            return str(url)
    return None


def _entry(status: Any, instance: str) -> Entry:
    payload = dumps(status)
    if not isinstance(status, dict):
        return reject("status is not an object", payload, None)
    status_id = status.get("id")
    if not isinstance(status_id, str) or not is_digits(status_id):
        return reject("status without a numeric string id", payload, None)
    position = int(status_id)
    reblog = status.get("reblog")
    shown: dict[str, Any] = reblog if isinstance(reblog, dict) else status
    uri = shown.get("uri") or f"{instance}/statuses/{status_id}"
    content = shown.get("content")
    spoiler = shown.get("spoiler_text") or ""
    account = shown.get("account")
    if not isinstance(uri, str) or not isinstance(content, str) or not isinstance(spoiler, str):
        return reject("status with a non-text uri, content or spoiler_text", payload, status_id)
    if not isinstance(account, dict):
        return reject("status without an account", payload, status_id)
    try:
        published = parse_time(shown.get("created_at"))
        edited = parse_time(shown.get("edited_at"))
    except ValueError as exc:
        return reject(f"status with a bad date: {exc}", payload, status_id)
    text = html_to_text(content)
    media = [
        m.get("remote_url") or m.get("url")
        for m in shown.get("media_attachments") or []
        if isinstance(m, dict) and (m.get("remote_url") or m.get("url"))
    ]
    if not text and not media and not spoiler:
        return reject("status with no text", payload, status_id)
    acct = account.get("acct")
    handle = None
    if isinstance(acct, str) and acct:
        handle = acct if "@" in acct else f"{acct}@{urlsplit(instance).netloc}"
    display = account.get("display_name") or account.get("username")
    lang = shown.get("language")
    extra: dict[str, Any] = {
        "instance": instance,
        "status_id": status_id,
        **{
            k: shown[k]
            for k in ("replies_count", "reblogs_count", "favourites_count", "in_reply_to_id")
            if shown.get(k) is not None
        },
    }
    tags = [t.get("name") for t in shown.get("tags") or [] if isinstance(t, dict)]
    if tags:
        extra["tags"] = tags
    if media:
        extra["media"] = media
    if shown.get("sensitive"):
        extra["sensitive"] = True
    item = NewMention(
        external_id=uri,
        text=text,
        title=clean_text(spoiler) or None,
        url=shown.get("url") if isinstance(shown.get("url"), str) else uri,
        author_handle=handle,
        author_name=clean_text(display) if isinstance(display, str) else handle,
        author_url=account.get("url") if isinstance(account.get("url"), str) else None,
        author_platform="fediverse" if handle else None,
        published_at=published,
        updated_at=edited,
        kind="comment" if shown.get("in_reply_to_id") else "post",
        lang=lang if isinstance(lang, str) and lang else None,
        extra=extra,
    )
    return Entry(position, status_id, item=item)
