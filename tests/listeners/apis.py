"""Recorded API listings served page by page, one scenario per listener kind.

Each scenario scripts the feed server with the fixture files under tests/data/<kind>/ so a
source reads at least two pages, and knows which items only the second page holds.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from ascolto.database import prepare
from ascolto.settings import Settings
from storage.models import ListenerRun, Mention, QuarantinedItem, Source
from tests.feedserver import FeedServer, Reply

HTTP = {"backoff": 0.05, "retries": 2, "per_host_interval": 0, "read_timeout": 3}
APP = "1598765432"
MASTODON_HOST = "https://mastodon.example"


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return (
            "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
        )
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value)
    return str(value)


def api_source(name: str, kind: str, **options: Any) -> str:
    """A `[[sources]]` TOML table (on the tests' 127.0.0.1 servers)."""
    lines = ["[[sources]]", f"name = {json.dumps(name)}", f"kind = {json.dumps(kind)}"]
    options.setdefault("allow_private_addresses", True)
    lines += [f"{key} = {toml_value(value)}" for key, value in options.items()]
    return "\n".join(lines) + "\n\n"


def setup(make_settings: Any, body: str, **http: Any) -> tuple[Settings, Engine]:
    settings = make_settings(body, http={**HTTP, **http})
    return settings, prepare(settings)


def mentions(engine: Engine, source: str = "src") -> dict[str, Mention]:
    with Session(engine) as session:
        rows = session.exec(
            select(Mention)
            .join(Source, col(Source.id) == Mention.source_id)
            .where(Source.name == source)
        ).all()
    return {m.external_id: m for m in rows}


def runs(engine: Engine, source: str = "src") -> list[ListenerRun]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(ListenerRun)
                .join(Source, col(Source.id) == ListenerRun.source_id)
                .where(Source.name == source)
                .order_by(col(ListenerRun.id))
            ).all()
        )


def quarantined(engine: Engine) -> list[QuarantinedItem]:
    with Session(engine) as session:
        return list(session.exec(select(QuarantinedItem).order_by(col(QuarantinedItem.id))))


@dataclass
class Scenario:
    """How to serve a kind's recorded listing over two or more pages."""

    kind: str
    options: Callable[[FeedServer], dict[str, Any]]
    pages: Callable[[FeedServer], None]
    # The first page's route (path, query) so tests can script failures on it.
    first: tuple[str, dict[str, str] | None]
    truncated: str
    page2_ids: set[str] = field(default_factory=set)

    def source(self, server: FeedServer, name: str = "src", **extra: Any) -> str:
        return api_source(name, self.kind, **{**self.options(server), **extra})

    def route_first(self, server: FeedServer, *replies: Reply) -> None:
        path, query = self.first
        server.route(path, *replies, query=query)


# -- reddit --------------------------------------------------------------------------------


def reddit_pages(server: FeedServer) -> None:
    server.route("/search.json", Reply.recorded("reddit/search_page1.json"))
    server.route(
        "/search.json", Reply.recorded("reddit/search_page2.json"), query={"after": "t3_1p4t9mw"}
    )


REDDIT = Scenario(
    kind="reddit",
    options=lambda s: {"query": '"Acme Tab 3"', "base_url": s.url("")},
    pages=reddit_pages,
    first=("/search.json", None),
    truncated="reddit/search_truncated.json",
    page2_ids={"t3_1p4r1hc", "t3_1p4pk0a"},
)

# -- hacker news ---------------------------------------------------------------------------

HN_PATH = "/api/v1/search_by_date"


def hn_pages(server: FeedServer) -> None:
    server.route(
        HN_PATH, Reply.recorded("hackernews/search_by_date_page0.json"), query={"page": "0"}
    )
    server.route(
        HN_PATH, Reply.recorded("hackernews/search_by_date_page1.json"), query={"page": "1"}
    )
    server.route(
        HN_PATH, Reply.recorded("hackernews/search_by_date_page2_empty.json"), query={"page": "2"}
    )


HACKERNEWS = Scenario(
    kind="hackernews",
    options=lambda s: {"query": "acme", "base_url": s.url("/api/v1")},
    pages=hn_pages,
    first=(HN_PATH, {"page": "0"}),
    truncated="hackernews/search_by_date_truncated.json",
    page2_ids={"hn:46012870", "hn:46012001", "hn:46010377"},
)

# -- mastodon ------------------------------------------------------------------------------

TAG_PATH = "/api/v1/timelines/tag/acme"


def mastodon_pages(server: FeedServer) -> None:
    here = {MASTODON_HOST: server.url("")}
    server.route(TAG_PATH, Reply.recorded("mastodon/tag_page1.json", replace=here))
    server.route(
        TAG_PATH,
        Reply.recorded("mastodon/tag_page2.json", replace=here),
        query={"max_id": "117670182912257577"},
    )
    server.route(
        TAG_PATH,
        Reply.recorded("mastodon/tag_page3_empty.json", replace=here),
        query={"max_id": "117667301302001771"},
    )


MASTODON = Scenario(
    kind="mastodon",
    options=lambda s: {"instances": [s.url("")], "hashtags": ["acme"]},
    pages=mastodon_pages,
    first=(TAG_PATH, None),
    truncated="mastodon/tag_truncated.json",
    page2_ids={
        "https://techhub.example/users/priya/statuses/117668191401038669",
        "https://mastodon.example/users/giulia/statuses/117667301302001771",
    },
)

# -- bluesky -------------------------------------------------------------------------------

SEARCH_PATH = "/xrpc/app.bsky.feed.searchPosts"


def bluesky_pages(server: FeedServer) -> None:
    server.route(SEARCH_PATH, Reply.recorded("bluesky/search_posts_page1.json"))
    server.route(
        SEARCH_PATH, Reply.recorded("bluesky/search_posts_page2.json"), query={"cursor": "3"}
    )


BLUESKY = Scenario(
    kind="bluesky",
    options=lambda s: {"query": "acme", "base_url": s.url("")},
    pages=bluesky_pages,
    first=(SEARCH_PATH, None),
    truncated="bluesky/search_posts_truncated.json",
    page2_ids={
        "at://did:plc:u2vptr2mzf2pvqixkhatnuqn/app.bsky.feed.post/3n2z26axbkt2b",
        "at://did:plc:zxfvndxh4vasbqbcvxmcen5k/app.bsky.feed.post/3n2ykzjnyic2b",
        "at://did:plc:u2vptr2mzf2pvqixkhatnuqn/app.bsky.feed.post/3n2xydulzk22b",
    },
)

# -- app store -----------------------------------------------------------------------------


def appstore_path(country: str, page: int, app: str = APP) -> str:
    return f"/{country}/rss/customerreviews/page={page}/id={app}/sortby=mostrecent/json"


def appstore_pages(server: FeedServer) -> None:
    server.route(appstore_path("it", 1), Reply.recorded("appstore/reviews_it_page1.json"))
    server.route(appstore_path("it", 2), Reply.recorded("appstore/reviews_it_page2.json"))


APPSTORE = Scenario(
    kind="appstore",
    options=lambda s: {"app_ids": [APP], "countries": ["it"], "base_url": s.url("")},
    pages=appstore_pages,
    first=(appstore_path("it", 1), None),
    truncated="appstore/reviews_truncated.json",
    page2_ids={"appstore:12340011223", "appstore:12339900112"},
)

# -- generic JSON (served the Bluesky search format, a real cursor-paged API) ---------------

JSON = Scenario(
    kind="json",
    options=lambda s: {
        "url": s.url(SEARCH_PATH),
        "params": {"q": "acme"},
        "items_path": "posts",
        "fields": {
            "external_id": "uri",
            "text": "record.text",
            "published_at": "record.createdAt",
            "author_handle": "author.handle",
            "author_name": "author.displayName",
            "lang": "record.langs.0",
        },
        "next_path": "cursor",
        "next_param": "cursor",
        "cursor_field": "indexedAt",
    },
    pages=bluesky_pages,
    first=(SEARCH_PATH, None),
    truncated="bluesky/search_posts_truncated.json",
    page2_ids=BLUESKY.page2_ids,
)

SCENARIOS = {s.kind: s for s in (REDDIT, HACKERNEWS, MASTODON, BLUESKY, APPSTORE, JSON)}
