"""Walking paged listings back to the cursor: the rules every API listener shares."""

from __future__ import annotations

from typing import Any

from listeners.paging import Collector, Entry, Mark, Page, advance, walk
from storage.mentions import NewMention


def entry(position: int, key: str | None = None, text: str = "Acme") -> Entry:
    key = key or f"id{position}"
    return Entry(position, key, item=NewMention(external_id=key, text=text))


def listing(*pages: list[int]) -> Any:
    """A listing of pages of positions, newest first; the token is the page number."""

    def fetch(token: Any) -> Page:
        number = token or 0
        nxt = number + 1 if number + 1 < len(pages) else None
        return Page([entry(p) for p in pages[number]], nxt)

    return fetch


def test_walk_stops_at_the_page_that_reaches_the_mark() -> None:
    fetch = listing([9, 8, 7], [6, 5, 4], [3, 2, 1])
    result = walk(fetch, start=None, mark=Mark(5, ["id5"]), max_pages=10, label="x")
    assert [e.position for e in result.entries] == [9, 8, 7, 6]
    assert result.pages == 2
    assert result.warning is None
    assert [e.position for e in result.seen_again] == [5, 4]


def test_max_pages_before_the_mark_warns_that_items_may_be_missing() -> None:
    fetch = listing([9, 8], [7, 6], [5, 4])
    result = walk(fetch, start=None, mark=Mark(4, ["id4"]), max_pages=2, label="r/acme")
    assert [e.position for e in result.entries] == [9, 8, 7, 6]
    assert result.warning is not None
    assert "r/acme" in result.warning
    assert "may be missing" in result.warning


def test_same_position_new_id_is_kept() -> None:
    mark = Mark(5, ["a"])
    assert mark.covers(entry(5, "a"))
    assert not mark.covers(entry(5, "b"))
    assert mark.covers(entry(4, "z"))
    assert advance(mark, [entry(5, "b")]) == Mark(5, ["a", "b"])
    assert advance(mark, [entry(6, "c"), entry(6, "d")]) == Mark(6, ["c", "d"])


def test_collector_filters_keywords_and_stores_marks_per_stream() -> None:
    collector = Collector(["acme"], None)
    collector.walk("one", listing([3, 2], [1]), max_pages=5)
    collector.add("two", [entry(10, text="nothing relevant")])
    batch = collector.batch()
    assert [i.external_id for i in batch.items] == ["id3", "id2", "id1"]
    assert batch.skipped == 1
    assert batch.cursor == {
        "streams": {"one": {"at": 3, "ids": ["id3"]}, "two": {"at": 10, "ids": ["id10"]}}
    }
    later = Collector(["acme"], batch.cursor)
    later.walk("one", listing([4, 3, 2]), max_pages=5)
    again = later.batch()
    # id4 is new; id3 and id2 come back only to notice edits; unread stream "two" is dropped.
    assert [i.external_id for i in again.items] == ["id4", "id3", "id2"]
    assert again.cursor == {"streams": {"one": {"at": 4, "ids": ["id4"]}}}
