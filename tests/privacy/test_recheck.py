"""Deletions and edits at the sources reach the stored mentions: every kind that can tell
is asked again over real HTTP, with the answers its service gives for deleted, private and
edited posts (see tests/data/privacy/SOURCE.md for where each shape comes from)."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ascolto.privacy.recheck import recheck_sources
from ascolto.runtime.runner import run_source
from ascolto.settings import Settings
from listeners.appstore import AppStoreListener
from storage.classifications import LabelsRecord, pending_mentions, save_labels
from storage.db import session_scope
from storage.models import Mention
from tests.feedserver import DATA, FeedServer, Reply
from tests.listeners.apis import (
    APPSTORE,
    BLUESKY,
    HACKERNEWS,
    MASTODON,
    MASTODON_HOST,
    REDDIT,
    appstore_path,
    setup,
)

PRIVACY = "[privacy]\nrecheck_days = 100000\n\n"


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


def stored(engine: Engine) -> dict[str, Mention]:
    with Session(engine) as session:
        return {m.external_id: m for m in session.exec(select(Mention)).all()}


def by_id(engine: Engine, mention_id: int) -> Mention:
    with Session(engine) as session:
        found = session.get(Mention, mention_id)
        assert found is not None
        return found


def listen(make_settings: Any, body: str) -> tuple[Settings, Engine, dict[str, Mention]]:
    settings, engine = setup(make_settings, PRIVACY + body)
    report = run_source(settings, engine, "src")
    assert report.status == "ok", report.error
    return settings, engine, stored(engine)


def json_reply(document: Any, status: int = 200) -> Reply:
    return Reply(
        body=json.dumps(document).encode(),
        status=status,
        content_type="application/json; charset=utf-8",
    )


def assert_withdrawn(mention: Mention) -> None:
    assert mention.deleted_at is not None
    assert mention.withdrawn_at is not None
    assert (mention.text, mention.title, mention.url, mention.author_id) == ("", None, None, None)


def label(engine: Engine, mention_id: int) -> None:
    with session_scope(engine) as session:
        mention = session.get(Mention, mention_id)
        assert mention is not None
        save_labels(
            session,
            records=[
                LabelsRecord(
                    mention_id=mention_id,
                    content_hash=mention.content_hash,
                    model_version="test",
                    sentiment="negative",
                )
            ],
        )


def relabelled(engine: Engine, mention_id: int) -> bool:
    with Session(engine) as session:
        return mention_id in {p.id for p in pending_mentions(session, model_version="test")}


def test_reddit_deleted_removed_private_and_edited(server: FeedServer, make_settings: Any) -> None:
    REDDIT.pages(server)
    settings, engine, before = listen(make_settings, REDDIT.source(server))
    listing = json.loads((DATA / "reddit/search_page1.json").read_text())
    children = [c for c in listing["data"]["children"] if c["data"]["name"] in before]
    deleted, edited = (c["data"] for c in children[:2])
    ids = [c["data"]["name"] for c in children[:2]]
    private = next(k for k in before if k.startswith("t3_") and k not in ids)
    second = json.loads((DATA / "reddit/search_page2.json").read_text())["data"]["children"]
    removed = next(c["data"] for c in second if c["data"]["name"] in before)
    listing["data"]["children"] = [*children, {"kind": "t3", "data": removed}]
    ids.append(removed["name"])
    label(engine, before[edited["name"]].id or 0)
    assert not relabelled(engine, before[edited["name"]].id or 0)

    deleted |= {"author": "[deleted]", "selftext": "[deleted]"}
    edited |= {"selftext": edited["selftext"] + " EDIT: fixed by the update", "edited": 1795600000}
    removed |= {"author": "[deleted]", "selftext": "[removed]", "removed_by_category": "moderator"}
    server.route("/api/info.json", json_reply(listing))

    report = recheck_sources(settings, engine)

    assert report.problems == {}
    asked = server.hits_path("/api/info.json")[0].query["id"].split(",")
    assert set(asked) == {k for k in before if k.startswith(("t1_", "t3_"))}
    after = stored(engine)
    assert_withdrawn(by_id(engine, before[ids[0]].id or 0))
    assert_withdrawn(by_id(engine, before[ids[2]].id or 0))
    assert_withdrawn(by_id(engine, before[private].id or 0))
    changed = after[edited["name"]]
    assert changed.text.endswith("EDIT: fixed by the update")
    assert changed.edited_at is not None
    # Its labels are stale: the classifier labels the new text again.
    assert relabelled(engine, changed.id or 0)


def test_mastodon_404_is_deleted_and_an_edit_is_stored(
    server: FeedServer, make_settings: Any
) -> None:
    MASTODON.pages(server)
    settings, engine, before = listen(make_settings, MASTODON.source(server))
    statuses = json.loads(
        (DATA / "mastodon/tag_page1.json").read_text().replace(MASTODON_HOST, server.url(""))
    )
    gone, changed = statuses[0], copy.deepcopy(statuses[1])
    changed["content"] = "<p>Update: the Acme Tab 3 battery is fine after 2.1.2</p>"
    changed["edited_at"] = "2026-11-25T10:00:00.000Z"
    server.route(
        f"/api/v1/statuses/{gone['id']}", Reply.file("mastodon/status_404.json", status=404)
    )
    server.route(f"/api/v1/statuses/{changed['id']}", json_reply(changed))
    for status in statuses[2:]:
        server.route(f"/api/v1/statuses/{status['id']}", json_reply(status))
    for mention in before.values():
        if mention.extra.get("status_id") not in {s["id"] for s in statuses}:
            server.route(f"/api/v1/statuses/{mention.extra['status_id']}", json_reply({}))

    report = recheck_sources(settings, engine)

    assert report.problems == {}
    gone_key = next(k for k, m in before.items() if m.extra.get("status_id") == gone["id"])
    assert_withdrawn(by_id(engine, before[gone_key].id or 0))
    edited_key = next(k for k, m in before.items() if m.extra.get("status_id") == changed["id"])
    assert by_id(engine, before[edited_key].id or 0).text.startswith("Update: the Acme Tab 3")


def test_bluesky_not_found_blocked_and_edited(server: FeedServer, make_settings: Any) -> None:
    BLUESKY.pages(server)
    settings, engine, before = listen(make_settings, BLUESKY.source(server))
    posts = json.loads((DATA / "bluesky/search_posts_page1.json").read_text())["posts"]
    gone, hidden, changed = posts[0], posts[1], copy.deepcopy(posts[2])
    changed["record"]["text"] = "Acme Tab 3: edited, the battery is fine now"
    path = "/xrpc/app.bsky.feed.getPostThread"
    server.route(path, json_reply({"thread": {"$type": "x", "post": {}}}))
    server.route(
        path,
        Reply.file(
            "privacy/bluesky_thread_not_found.json", status=400, content_type="application/json"
        ),
        query={"uri": gone["uri"]},
    )
    blocked = (
        (DATA / "privacy/bluesky_thread_blocked.json").read_text().replace("URI", hidden["uri"])
    )
    server.route(path, json_reply(json.loads(blocked)), query={"uri": hidden["uri"]})
    server.route(
        path,
        json_reply({"thread": {"$type": "app.bsky.feed.defs#threadViewPost", "post": changed}}),
        query={"uri": changed["uri"]},
    )

    report = recheck_sources(settings, engine)

    assert report.problems == {}
    assert_withdrawn(by_id(engine, before[gone["uri"]].id or 0))
    assert_withdrawn(by_id(engine, before[hidden["uri"]].id or 0))
    assert by_id(engine, before[changed["uri"]].id or 0).text.endswith("the battery is fine now")


def test_hacker_news_404_and_deleted_items(server: FeedServer, make_settings: Any) -> None:
    HACKERNEWS.pages(server)
    settings, engine, before = listen(make_settings, HACKERNEWS.source(server))
    hits = json.loads((DATA / "hackernews/search_by_date_page0.json").read_text())["hits"]
    missing, deleted, changed = hits[0], hits[1], hits[2]
    server.route(
        f"/api/v1/items/{missing['objectID']}",
        Reply.file("privacy/hn_item_404.json", status=404, content_type="application/json"),
    )
    server.route(
        f"/api/v1/items/{deleted['objectID']}",
        Reply(
            body=(DATA / "privacy/hn_item_deleted.json")
            .read_bytes()
            .replace(b"ID", deleted["objectID"].encode()),
            content_type="application/json",
        ),
    )
    comment = "comment" in changed["_tags"]
    item = {
        "id": int(changed["objectID"]),
        "created_at": changed["created_at"],
        "created_at_i": int(changed["created_at_i"]),
        "type": "comment" if comment else "story",
        "author": changed["author"],
        "title": changed.get("title"),
        "text": "Edited: acme shipped a real fix in 2.1.2",
        "points": changed.get("points"),
        "parent_id": int(changed["parent_id"]) if changed.get("parent_id") else None,
        "story_id": int(changed["story_id"]) if changed.get("story_id") else None,
        "children": [],
    }
    server.route(f"/api/v1/items/{changed['objectID']}", json_reply(item))
    for hit in hits[3:]:
        server.route(f"/api/v1/items/{hit['objectID']}", Reply(status=500))

    report = recheck_sources(settings, engine, now=None)

    # An item the source fails to answer is unknown, not deleted: asked again next time.
    assert report.problems == {}
    for hit in hits[3:]:
        assert by_id(engine, before[f"hn:{hit['objectID']}"].id or 0).withdrawn_at is None
    assert_withdrawn(by_id(engine, before[f"hn:{missing['objectID']}"].id or 0))
    assert_withdrawn(by_id(engine, before[f"hn:{deleted['objectID']}"].id or 0))
    assert by_id(engine, before[f"hn:{changed['objectID']}"].id or 0).text == (
        "Edited: acme shipped a real fix in 2.1.2"
    )


def test_app_store_review_missing_between_others_is_deleted(
    server: FeedServer, make_settings: Any
) -> None:
    APPSTORE.pages(server)
    settings, engine, before = listen(make_settings, APPSTORE.source(server))
    feed = json.loads((DATA / "appstore/reviews_it_page1.json").read_text())
    entries = feed["feed"]["entry"]
    reviews = [e for e in entries if "im:rating" in e]
    gone = reviews[1]
    entries.remove(gone)
    server.route(appstore_path("it", 1), json_reply(feed))

    report = recheck_sources(settings, engine)

    assert report.problems == {}
    key = f"appstore:{gone['id']['label']}"
    assert_withdrawn(by_id(engine, before[key].id or 0))
    kept = [k for k in before if k != key]
    assert all(by_id(engine, before[k].id or 0).withdrawn_at is None for k in kept)
    assert AppStoreListener.rechecks


def test_a_deletion_seen_in_a_listing_is_withdrawn_by_the_next_recheck(
    server: FeedServer, make_settings: Any
) -> None:
    REDDIT.pages(server)
    settings, engine, before = listen(make_settings, REDDIT.source(server))
    listing = json.loads((DATA / "reddit/search_page1.json").read_text())
    first = listing["data"]["children"][0]["data"]
    first |= {"author": "[deleted]", "selftext": "[deleted]"}
    server.route("/search.json", json_reply(listing))
    run_source(settings, engine, "src")
    flagged = by_id(engine, before[first["name"]].id or 0)
    assert flagged.deleted_at is not None

    settings = settings.model_copy(update={"sources": []})
    report = recheck_sources(settings, engine, now=flagged.deleted_at + timedelta(minutes=1))
    assert report.withdrawn == {"all": 1}
    assert_withdrawn(by_id(engine, flagged.id or 0))
