"""Reddit: keyword search and subreddit listings through Reddit's JSON API."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import Field, field_validator, model_validator

from listeners.base import BaseUrl, Batch, Listener, RecheckResult, StoredMention
from listeners.errors import BadContent, ListenError, SourceBlocked
from listeners.http import HttpResponse
from listeners.jsonpath import decode, dumps, get_path, parse_time
from listeners.paging import Collector, Entry, Page, PagedOptions, env_value, reject
from listeners.text import markdown_to_text
from storage.mentions import NewMention

WEB = "https://www.reddit.com"
_SUBREDDIT = re.compile(r"^[A-Za-z0-9_]{2,21}$")
_GONE = ("[deleted]", "[removed]")


class RedditOptions(PagedOptions):
    query: str | None = Field(
        None,
        description='Search terms, in Reddit search syntax (e.g. `"Acme Tab 3"`). With '
        "`subreddits`, searched within each of them; alone, across all of Reddit.",
    )
    subreddits: list[str] = Field(
        default_factory=list,
        description="Subreddit names without `r/`. Without `query`, their newest posts "
        "(`/r/<name>/new`) are read.",
    )
    comments: bool = Field(
        False,
        description="Also read comments: each subreddit's newest comments "
        "(`/r/<name>/comments`) or, for a site-wide search, the comment thread of each "
        "new matching post.",
    )
    base_url: BaseUrl = Field(
        WEB,
        description="Host of the public JSON endpoints (`<base_url>/search.json`), used "
        "without OAuth credentials.",
    )
    client_id_env: str | None = Field(
        None,
        description="Name of the environment variable holding the client id of a Reddit "
        "app (script or web app). With `client_secret_env`, enables OAuth app-only access "
        "at `oauth_url`, which Reddit does not block as it blocks anonymous requests.",
    )
    client_secret_env: str | None = Field(
        None,
        description="Name of the environment variable holding that app's secret.",
    )
    token_url: BaseUrl = Field(
        f"{WEB}/api/v1/access_token",
        description="OAuth token endpoint (client_credentials grant, HTTP Basic auth).",
    )
    oauth_url: BaseUrl = Field(
        "https://oauth.reddit.com", description="API host used with an OAuth token."
    )
    page_size: int = Field(
        100, ge=1, le=100, description="Items asked for per page (`limit`; Reddit's most is 100)."
    )
    max_threads: int = Field(
        25,
        ge=0,
        description="With `comments` and a site-wide search: most comment threads read per run.",
    )

    @field_validator("subreddits")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        names = [v.strip().removeprefix("/").removeprefix("r/") for v in value]
        for name in names:
            if not _SUBREDDIT.match(name):
                raise ValueError(f"{name!r} is not a subreddit name (letters, digits, _)")
        return names

    @model_validator(mode="after")
    def _something_to_read(self) -> RedditOptions:
        if not self.query and not self.subreddits:
            raise ValueError("set `query`, `subreddits`, or both")
        if bool(self.client_id_env) != bool(self.client_secret_env):
            raise ValueError("set both `client_id_env` and `client_secret_env`, or neither")
        return self


class RedditListener(Listener):
    """Reddit posts (and optionally comments) from search or subreddit listings."""

    kind = "reddit"
    Options = RedditOptions
    options: RedditOptions

    def fetch(self, cursor: dict[str, Any] | None) -> Batch:
        collector = Collector(self.options.keywords, cursor)
        oauth = bool(self.options.client_id_env)
        try:
            host, headers = self._access()
            for stream, path, params in self._listings():
                url = host + (path if oauth else f"{path}.json")
                entries = collector.walk(
                    stream,
                    self._pager(url, params, headers),
                    max_pages=self.options.max_pages,
                    label=f"reddit {stream}",
                )
                if self.options.comments and not self.options.subreddits:
                    collector.include(self._threads(host, headers, entries, oauth))
        except SourceBlocked as exc:
            raise self._explain(exc, oauth) from None
        return collector.batch()

    rechecks = True

    def recheck(self, mentions: Sequence[StoredMention]) -> list[RecheckResult]:
        """Posts and comments by fullname through `/api/info` (100 a request): `[deleted]`
        or `[removed]` is gone; a thing Reddit no longer lists (a private or banned
        subreddit) is private to ascolto."""
        oauth = bool(self.options.client_id_env)
        try:
            host, headers = self._access()
        except SourceBlocked as exc:
            raise self._explain(exc, oauth) from None
        url = host + ("/api/info" if oauth else "/api/info.json")
        names = [m.external_id for m in mentions if m.external_id.startswith(("t1_", "t3_"))]
        results: list[RecheckResult] = []
        for start in range(0, len(names), 100):
            chunk = names[start : start + 100]
            response = self.http.get(
                url, params={"id": ",".join(chunk), "raw_json": 1}, headers=headers
            )
            page = _listing_page(decode(response, f"reddit {url}"), url)
            now = {e.item.external_id: e.item for e in page.entries if e.item is not None}
            for name in chunk:
                item = now.get(name)
                if item is None:
                    results.append(RecheckResult(name, "private"))
                elif item.deleted:
                    results.append(RecheckResult(name, "deleted"))
                else:
                    results.append(RecheckResult(name, "present", item))
        return results

    def _listings(self) -> list[tuple[str, str, dict[str, Any]]]:
        opts = self.options
        found: list[tuple[str, str, dict[str, Any]]] = []
        base = {"limit": opts.page_size, "raw_json": 1}
        search = {**base, "q": opts.query, "sort": "new", "t": "all", "type": "link"}
        if opts.query and not opts.subreddits:
            found.append(("search", "/search", search))
        for sub in opts.subreddits:
            if opts.query:
                found.append((f"search r/{sub}", f"/r/{sub}/search", {**search, "restrict_sr": 1}))
            else:
                found.append((f"new r/{sub}", f"/r/{sub}/new", base))
            if opts.comments:
                found.append((f"comments r/{sub}", f"/r/{sub}/comments", base))
        return found

    def _access(self) -> tuple[str, dict[str, str]]:
        """The API host and headers: public JSON, or OAuth app-only with a fresh token."""
        opts = self.options
        client_id = env_value(opts.client_id_env, "reddit OAuth client id")
        secret = env_value(opts.client_secret_env, "reddit OAuth client secret")
        if client_id is None or secret is None:
            return opts.base_url.rstrip("/"), {"Accept": "application/json"}
        try:
            response = self.http.post(
                opts.token_url,
                data={"grant_type": "client_credentials"},
                auth=(client_id, secret),
                headers={"Accept": "application/json"},
            )
        except SourceBlocked as exc:
            raise SourceBlocked(
                f"Reddit refused the OAuth client credentials (HTTP "
                f"{getattr(exc.response, 'status', '401')} from the token endpoint): check "
                f"the app's id and secret in {opts.client_id_env} and {opts.client_secret_env}"
            ) from None
        token = get_path(decode(response, "reddit token endpoint"), "access_token")
        if not isinstance(token, str) or not token:
            raise BadContent("reddit token endpoint: the answer has no access_token")
        return opts.oauth_url.rstrip("/"), {
            "Accept": "application/json",
            "Authorization": f"bearer {token}",
        }

    def _pager(
        self, url: str, params: dict[str, Any], headers: dict[str, str]
    ) -> Callable[[Any], Page]:
        def fetch(after: Any) -> Page:
            query = {**params, **({"after": after, "count": 100} if after else {})}
            response = self.http.get(url, params=query, headers=headers)
            return _listing_page(decode(response, f"reddit {url}"), url)

        return fetch

    def _threads(
        self, host: str, headers: dict[str, str], posts: list[Entry], oauth: bool
    ) -> list[Entry]:
        """The comment threads of new posts, flattened, as the post's comments listing has them."""
        found: list[Entry] = []
        threads = [e.item for e in posts if e.item is not None and not e.item.deleted]
        for post in threads[: self.options.max_threads]:
            article = post.external_id.removeprefix("t3_")
            url = f"{host}/comments/{article}" + ("" if oauth else ".json")
            response = self.http.get(url, params={"raw_json": 1}, headers=headers)
            document = decode(response, f"reddit {url}")
            if not isinstance(document, list) or len(document) < 2:
                raise BadContent(f"reddit {url}: expected an array of two listings")
            found.extend(_children(document[1], url))
        return found

    def _explain(self, exc: SourceBlocked, oauth: bool) -> SourceBlocked:
        response: HttpResponse | None = exc.response
        if response is None:
            return exc
        kind = response.headers.get("content-type", "")
        if response.status == 403 and "html" in kind:
            if oauth:
                return SourceBlocked(
                    "Reddit answered HTTP 403 'Blocked' to the OAuth client: check that "
                    "http.user_agent is unique and descriptive and the app is not suspended"
                )
            return SourceBlocked(
                "Reddit blocked anonymous access (HTTP 403 'Blocked', an HTML page instead "
                "of JSON). Reddit now refuses many unauthenticated clients: create a Reddit "
                "app and set client_id_env and client_secret_env to use OAuth app-only access"
            )
        reason = ""
        try:
            body = decode(response)
            reason = str(get_path(body, "reason") or get_path(body, "message") or "")
        except ListenError:
            pass
        if reason:
            where = response.url.split("?", 1)[0]
            return SourceBlocked(
                f"Reddit refused {where} (HTTP {response.status}, reason {reason!r}): the "
                "subreddit is private, quarantined or banned, or the token lacks access"
            )
        return SourceBlocked(
            f"{exc} (set client_id_env and client_secret_env for Reddit's OAuth access)"
            if not oauth
            else str(exc)
        )


def _listing_page(document: Any, url: str) -> Page:
    data = get_path(document, "data")
    if get_path(document, "kind") != "Listing" or not isinstance(data, dict):
        raise BadContent(f"reddit {url}: expected a Listing, got {dumps(document)[:120]}")
    after = data.get("after")
    return Page(_children(document, url), after if isinstance(after, str) and after else None)


def _children(listing: Any, url: str) -> list[Entry]:
    children = get_path(listing, "data.children")
    if not isinstance(children, list):
        raise BadContent(f"reddit {url}: the listing has no data.children list")
    found: list[Entry] = []
    for child in children:
        kind = get_path(child, "kind")
        data = get_path(child, "data")
        if kind in ("t1", "t3") and isinstance(data, dict):
            found.append(_entry(kind, data))
            replies = data.get("replies")
            if kind == "t1" and isinstance(replies, dict):
                found.extend(_children(replies, url))
        elif kind != "more":
            found.append(reject(f"unexpected listing child of kind {kind!r}", dumps(child), None))
    return found


def _entry(kind: str, data: dict[str, Any]) -> Entry:
    payload = dumps({"kind": kind, "data": data})
    name = data.get("name")
    if not isinstance(name, str) or not name.startswith(f"{kind}_"):
        return reject(f"reddit {kind} without a valid `name`", payload, None)
    created = data.get("created_utc")
    if not isinstance(created, int | float) or isinstance(created, bool):
        return reject("reddit item without a numeric created_utc", payload, name)
    body_key = "body" if kind == "t1" else "selftext"
    body = data.get(body_key, "")
    title = data.get("title", data.get("link_title"))
    author = data.get("author")
    if not isinstance(body, str) or (title is not None and not isinstance(title, str)):
        return reject(f"reddit {kind} with a non-text {body_key} or title", payload, name)
    if kind == "t3" and not isinstance(title, str):
        return reject("reddit post without a title", payload, name)
    deleted = bool(data.get("removed_by_category")) or body in _GONE
    # Titles and bodies are Markdown source (HTML-escaped once without raw_json=1): `<` is
    # text there, never a tag.
    title_text = markdown_to_text(title) if title else ""
    text = markdown_to_text(body)
    if kind == "t3" and not text:
        text = title_text  # a link post: its title is what people read
    if not text and not deleted:
        return reject(f"reddit {kind} with no text", payload, name)
    permalink = data.get("permalink")
    edited = data.get("edited")
    person = author if isinstance(author, str) and author not in _GONE else None
    extra = {
        k: data[k]
        for k in ("subreddit", "score", "num_comments", "link_flair_text", "stickied", "domain")
        if data.get(k) is not None
    }
    if kind == "t3" and data.get("is_self") is False and isinstance(data.get("url"), str):
        extra["link_url"] = data["url"]
    if kind == "t1" and isinstance(data.get("link_title"), str):
        extra["link_title"] = data["link_title"]
    if data.get("removed_by_category"):
        extra["removed_by_category"] = data["removed_by_category"]
    item = NewMention(
        external_id=name,
        text="" if deleted else text,
        title=None if deleted or kind == "t1" else title_text or None,
        url=f"{WEB}{permalink}" if isinstance(permalink, str) else _url_from_ids(kind, data),
        author_handle=person,
        author_name=person,
        author_url=f"{WEB}/user/{person}" if person else None,
        author_platform="reddit" if person else None,
        published_at=parse_time(created),
        updated_at=(
            parse_time(edited)
            if isinstance(edited, int | float) and not isinstance(edited, bool) and edited
            else None
        ),
        kind="comment" if kind == "t1" else "post",
        parent_external_id=data.get("parent_id") if kind == "t1" else None,
        extra=extra,
        deleted=deleted,
    )
    return Entry(float(created), name, item=item)


def _url_from_ids(kind: str, data: dict[str, Any]) -> str | None:
    """A permalink from ids, for items that come without one (older listings, morechildren).

    Reddit resolves any slug, so `_` stands for the post's title.
    """
    subreddit, item = data.get("subreddit"), data.get("id")
    if not isinstance(subreddit, str) or not _SUBREDDIT.match(subreddit):
        return None
    if not isinstance(item, str) or not item.isalnum():
        return None
    if kind == "t3":
        return f"{WEB}/r/{subreddit}/comments/{item}/"
    link = data.get("link_id")
    if not isinstance(link, str) or not link.startswith("t3_") or not link[3:].isalnum():
        return None
    return f"{WEB}/r/{subreddit}/comments/{link[3:]}/_/{item}/"
