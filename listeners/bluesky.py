"""Bluesky posts through `app.bsky.feed.searchPosts`, anonymously or with an app password."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC
from typing import Any

from pydantic import Field, model_validator

from listeners.base import BaseUrl, Batch, Listener, RecheckResult, StoredMention
from listeners.errors import BadContent, ListenError, SourceBlocked
from listeners.jsonpath import decode, dumps, get_path, parse_time
from listeners.paging import Collector, Entry, Page, PagedOptions, env_value, reject
from listeners.text import clean_text
from storage.mentions import NewMention

SEARCH = "/xrpc/app.bsky.feed.searchPosts"
SESSION = "/xrpc/com.atproto.server.createSession"
THREAD = "/xrpc/app.bsky.feed.getPostThread"
WEB = "https://bsky.app"


class BlueskyOptions(PagedOptions):
    query: str = Field(
        description='Search terms (Lucene-like: words, `"phrases"`, `from:handle`, `#tag`).'
    )
    lang: str | None = Field(
        None, description="Only posts in this language (`lang`, e.g. `it`); all when unset."
    )
    base_url: BaseUrl = Field(
        "https://public.api.bsky.app",
        description="The public AppView, searched without credentials.",
    )
    identifier_env: str | None = Field(
        None,
        description="Name of the environment variable holding the handle (or DID) of the "
        "account to search as. With `password_env`, searches are authenticated, which "
        "Bluesky requires when it refuses anonymous search.",
    )
    password_env: str | None = Field(
        None,
        description="Name of the environment variable holding an app password of that "
        "account (Settings > App passwords), never the account password.",
    )
    service_url: BaseUrl = Field(
        "https://bsky.social",
        description="PDS or entryway where the session is created and authenticated "
        "searches are sent.",
    )
    page_size: int = Field(100, ge=1, le=100, description="Posts per page (`limit`).")

    @model_validator(mode="after")
    def _pair(self) -> BlueskyOptions:
        if bool(self.identifier_env) != bool(self.password_env):
            raise ValueError("set both `identifier_env` and `password_env`, or neither")
        return self


class BlueskyListener(Listener):
    """Bluesky posts matching a search, newest first (`searchPosts`, `sort=latest`)."""

    kind = "bluesky"
    Options = BlueskyOptions
    options: BlueskyOptions

    def fetch(self, cursor: dict[str, Any] | None) -> Batch:
        collector = Collector(self.options.keywords, cursor)
        host, headers = self._access()
        stream = "search"
        try:
            collector.walk(
                stream,
                self._pager(f"{host}{SEARCH}", headers, collector),
                max_pages=self.options.max_pages,
                label=f"bluesky {self.options.query!r}",
            )
        except SourceBlocked as exc:
            if "Authorization" in headers:
                raise SourceBlocked(f"Bluesky refused the authenticated search: {exc}") from None
            raise SourceBlocked(
                f"Bluesky's public AppView refused an unauthenticated search ({_why(exc)}): "
                "set identifier_env and password_env (a handle and an app password) to "
                "search with a session"
            ) from None
        except ListenError as exc:
            if getattr(exc.response, "status", None) == 400:
                raise ListenError(f"Bluesky rejected the search: {_why(exc)}") from None
            raise
        return collector.batch()

    rechecks = True

    def recheck(self, mentions: Sequence[StoredMention]) -> list[RecheckResult]:
        """Each post's thread without replies (`getPostThread`, depth 0): the error
        `NotFound` or a `#notFoundPost` is deleted, a `#blockedPost` private."""
        host, headers = self._access()
        url = f"{host}{THREAD}"
        results: list[RecheckResult] = []
        failed: list[ListenError] = []
        for mention in mentions:
            uri = mention.external_id
            if not uri.startswith("at://"):
                continue
            params = {"uri": uri, "depth": 0, "parentHeight": 0}
            try:
                response = self.http.get(url, params=params, headers=headers)
            except ListenError as exc:
                if getattr(exc.response, "status", None) == 400 and " NotFound" in _why(exc):
                    results.append(RecheckResult(uri, "deleted"))
                else:
                    failed.append(exc)  # unknown this time, asked again next time
                continue
            thread = get_path(decode(response, "bluesky getPostThread"), "thread")
            kind = get_path(thread, "$type")
            if kind == "app.bsky.feed.defs#notFoundPost" or get_path(thread, "notFound"):
                results.append(RecheckResult(uri, "deleted"))
            elif kind == "app.bsky.feed.defs#blockedPost" or get_path(thread, "blocked"):
                results.append(RecheckResult(uri, "private"))
            else:
                entry = _entry(get_path(thread, "post"))
                if entry.item is not None and entry.item.external_id == uri:
                    results.append(RecheckResult(uri, "present", entry.item))
        if failed and not results:
            raise failed[0]
        return results

    def _access(self) -> tuple[str, dict[str, str]]:
        opts = self.options
        identifier = env_value(opts.identifier_env, "bluesky identifier")
        password = env_value(opts.password_env, "bluesky app password")
        headers = {"Accept": "application/json"}
        if identifier is None or password is None:
            return opts.base_url.rstrip("/"), headers
        service = opts.service_url.rstrip("/")
        try:
            response = self.http.post(
                f"{service}{SESSION}",
                json={"identifier": identifier, "password": password},
                headers=headers,
            )
        except ListenError as exc:
            if exc.response is None:
                raise
            raise SourceBlocked(
                f"Bluesky refused to create a session ({_why(exc)}): check the handle in "
                f"{opts.identifier_env} and the app password in {opts.password_env}"
            ) from None
        token = get_path(decode(response, "bluesky createSession"), "accessJwt")
        if not isinstance(token, str) or not token:
            raise BadContent("bluesky createSession: the answer has no accessJwt")
        return service, {**headers, "Authorization": f"Bearer {token}"}

    def _pager(
        self, url: str, headers: dict[str, str], collector: Collector
    ) -> Callable[[Any], Page]:
        opts = self.options
        params: dict[str, Any] = {"q": opts.query, "sort": "latest", "limit": opts.page_size}
        if opts.lang:
            params["lang"] = opts.lang
        mark = collector.mark("search")
        if mark is not None and isinstance(mark.position, str):
            params["since"] = mark.position  # inclusive; the ids at the mark are dropped

        def fetch(token: Any) -> Page:
            query = {**params, **({"cursor": token} if token else {})}
            document = decode(self.http.get(url, params=query, headers=headers), "bluesky")
            posts = get_path(document, "posts")
            if not isinstance(posts, list):
                raise BadContent(f"bluesky {url}: expected an object with a `posts` list")
            following = get_path(document, "cursor")
            return Page(
                [_entry(p) for p in posts],
                following if isinstance(following, str) and following and posts else None,
            )

        return fetch


def _why(exc: ListenError) -> str:
    response = exc.response
    if response is None:
        return str(exc)
    try:
        body = decode(response)
    except ListenError:
        return f"HTTP {response.status}"
    error, message = get_path(body, "error"), get_path(body, "message")
    return f"HTTP {response.status} {error or ''}: {message or ''}".strip(" :")


def _entry(post: Any) -> Entry:
    payload = dumps(post)
    uri = get_path(post, "uri")
    if not isinstance(uri, str) or not uri.startswith("at://"):
        return reject("post without an at:// uri", payload, None)
    record = get_path(post, "record")
    text = get_path(record, "text")
    if not isinstance(record, dict) or not isinstance(text, str):
        return reject("post without a record text", payload, uri)
    try:
        created = parse_time(record.get("createdAt"))
        indexed = parse_time(post.get("indexedAt"))
    except ValueError as exc:
        return reject(f"post with a bad date: {exc}", payload, uri)
    if created is None and indexed is None:
        return reject("post without createdAt or indexedAt", payload, uri)
    # searchPosts sorts by "sortAt", the earlier of the two (back-dated posts sort late).
    sort_at = min(t for t in (created, indexed) if t is not None)
    position = sort_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    author = get_path(post, "author") or {}
    handle = author.get("handle") if isinstance(author, dict) else None
    handle = handle if isinstance(handle, str) and handle else None
    display = author.get("displayName") if isinstance(author, dict) else None
    langs = record.get("langs")
    lang = langs[0] if isinstance(langs, list) and langs and isinstance(langs[0], str) else None
    rkey = uri.rsplit("/", 1)[-1]
    profile = handle or (uri.split("/")[2] if uri.count("/") >= 2 else "")
    parent = get_path(record, "reply.parent.uri")
    extra: dict[str, Any] = {
        k: post[k]
        for k in ("likeCount", "repostCount", "replyCount", "quoteCount")
        if isinstance(post.get(k), int)
    }
    link = get_path(record, "embed.external.uri")
    if isinstance(link, str):
        extra["link"] = link
    if isinstance(langs, list):
        extra["langs"] = langs
    item = NewMention(
        external_id=uri,
        text=clean_text(text),
        url=f"{WEB}/profile/{profile}/post/{rkey}",
        author_handle=handle,
        author_name=clean_text(display) if isinstance(display, str) and display else handle,
        author_url=f"{WEB}/profile/{handle}" if handle else None,
        author_platform="bluesky" if handle else None,
        published_at=created or indexed,
        kind="comment" if isinstance(parent, str) else "post",
        lang=lang,
        parent_external_id=parent if isinstance(parent, str) else None,
        extra=extra,
    )
    return Entry(position, uri, item=item)
