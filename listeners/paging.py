"""Walking paged listings back to the stored cursor, shared by every API listener.

Listing APIs truncate silently (a page of 25 or 100, the rest behind a `next` token), so a
listener walks pages newest-first until it reaches what the previous run saw, the listing
ends, or `max_pages` is hit. In the last case the batch carries a warning: items between the
last page read and the cursor may be missing, and the operator should know.

The cursor a listener stores is `{"streams": {key: mark}, "rejected": [...]}`: one mark per
listing it walks (a subreddit, a hashtag on one instance, an app in one country), where a
mark is the newest position seen (a time or an increasing id) and the ids seen at exactly
that position, so items sharing a timestamp are neither lost nor fetched twice.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field

from listeners.base import Batch, SourceOptions
from listeners.errors import ListenError
from listeners.keywords import KeywordFilter
from storage.mentions import NewMention
from storage.quarantine import Rejected

Position = float | int | str

MAX_MARK_IDS = 200
MAX_REJECTED_HASHES = 500


@dataclass
class Entry:
    """One item of a listing, parsed: a mention, or the reason it could not be read."""

    position: Position | None
    key: str | None
    item: NewMention | None = None
    rejected: Rejected | None = None


@dataclass
class Page:
    """One page of a listing, newest first; `next` is what fetches the next page, or None."""

    entries: list[Entry]
    next: Any = None


@dataclass
class Mark:
    """The newest position a stream has seen, with the ids seen at exactly that position."""

    position: Position
    keys: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, data: Any) -> Mark | None:
        if not isinstance(data, dict) or not isinstance(data.get("at"), int | float | str):
            return None
        keys = data.get("ids")
        return cls(data["at"], [str(k) for k in keys] if isinstance(keys, list) else [])

    def dump(self) -> dict[str, Any]:
        return {"at": self.position, "ids": self.keys[-MAX_MARK_IDS:]}

    def covers(self, entry: Entry) -> bool:
        """True for an entry at or before this mark (already fetched by an earlier run)."""
        if entry.position is None:
            return False
        try:
            if entry.position < self.position:  # type: ignore[operator]
                return True
            return entry.position == self.position and entry.key in self.keys
        except TypeError:  # a cursor from an older version of the listener
            return False


def advance(mark: Mark | None, entries: Iterable[Entry]) -> Mark | None:
    """The mark after seeing `entries`: the newest position and the ids at it."""
    best = mark
    for entry in entries:
        if entry.position is None:
            continue
        key = [entry.key] if entry.key else []
        try:
            if best is None or entry.position > best.position:  # type: ignore[operator]
                best = Mark(entry.position, key)
            elif entry.position == best.position and entry.key and entry.key not in best.keys:
                best = Mark(best.position, [*best.keys, *key])
        except TypeError:
            best = Mark(entry.position, key)
    return best


@dataclass
class Walk:
    """What walking one listing gave: the new entries, pages read, and any warning."""

    entries: list[Entry]
    pages: int
    warning: str | None = None
    # Entries the mark covers that were on the pages read anyway: passed on so an edit or a
    # deletion of a recent item reaches the stored copy, at no extra request.
    seen_again: list[Entry] = field(default_factory=list)


def walk(
    fetch: Callable[[Any], Page],
    *,
    start: Any,
    mark: Mark | None,
    max_pages: int,
    label: str,
) -> Walk:
    """Fetch pages from `start` until one reaches `mark`, the listing ends, or `max_pages`.

    Entries the mark covers are dropped; a page holding any of them is the last one read,
    since everything after it is older.
    """
    entries: list[Entry] = []
    again: list[Entry] = []
    token = start
    pages = 0
    while True:
        page = fetch(token)
        pages += 1
        reached = False
        for entry in page.entries:
            if mark is not None and mark.covers(entry):
                reached = True
                again.append(entry)
            else:
                entries.append(entry)
        if reached or page.next is None or not page.entries:
            return Walk(entries, pages, seen_again=again)
        if pages >= max_pages:
            if mark is None:
                warning = (
                    f"{label}: stopped after {pages} page(s) (max_pages) with more pages "
                    "left; older items were not fetched"
                )
            else:
                warning = (
                    f"{label}: stopped after {pages} page(s) (max_pages) before reaching the "
                    "previous run's newest item; items in between may be missing"
                )
            return Walk(entries, pages, warning, again)
        token = page.next


class Collector:
    """Gathers the entries of one or more listings into a Batch and the next cursor."""

    def __init__(self, keywords: Iterable[str], cursor: dict[str, Any] | None) -> None:
        cursor = cursor or {}
        streams = cursor.get("streams")
        self._old = streams if isinstance(streams, dict) else {}
        rejected = cursor.get("rejected")
        self._rejected_before = [str(h) for h in rejected] if isinstance(rejected, list) else []
        self.previous = cursor
        # Listener-specific cursor keys (e.g. ids to re-check for deletion), stored as given.
        self.state: dict[str, Any] = {}
        self._filter = KeywordFilter(keywords)
        self._marks: dict[str, dict[str, Any]] = {}
        self._entries: list[Entry] = []
        self._again: list[Entry] = []
        self.warnings: list[str] = []
        self.pages = 0

    def mark(self, stream: str) -> Mark | None:
        """The mark the previous run left for `stream`."""
        return Mark.load(self._old.get(stream))

    def walk(
        self,
        stream: str,
        fetch: Callable[[Any], Page],
        *,
        start: Any = None,
        max_pages: int,
        label: str | None = None,
    ) -> list[Entry]:
        """Walk one listing back to its mark, keep its new entries, and advance the mark."""
        previous = self.mark(stream)
        result = walk(fetch, start=start, mark=previous, max_pages=max_pages, label=label or stream)
        self.pages += result.pages
        if result.warning:
            self.warnings.append(result.warning)
        self.add(stream, result.entries, previous)
        self._again.extend(result.seen_again)
        return result.entries

    def add(self, stream: str, entries: list[Entry], previous: Mark | None = None) -> None:
        """Keep `entries` (already known to be new) of `stream` and advance its mark."""
        previous = previous if previous is not None else self.mark(stream)
        self._entries.extend(entries)
        new = advance(previous, entries)
        if new is not None:
            self._marks[stream] = new.dump()
        elif stream in self._old:
            self._marks[stream] = self._old[stream]

    def include(self, entries: list[Entry]) -> None:
        """Keep entries that belong to no walked listing (e.g. a thread's comments)."""
        self._entries.extend(entries)

    def entries(self) -> list[Entry]:
        """Every entry kept so far."""
        return list(self._entries)

    def keep(self, stream: str) -> None:
        """Carry `stream`'s mark over unchanged (it was not read this run)."""
        if stream in self._old:
            self._marks[stream] = self._old[stream]

    def batch(self) -> Batch:
        """Items that pass the keyword filter, rejected items not quarantined before, cursor."""
        items: list[NewMention] = []
        quarantined: list[Rejected] = []
        skipped = 0
        seen_rejects = set(self._rejected_before)
        hashes = list(self._rejected_before)
        for entry in self._entries:
            if entry.rejected is not None:
                digest = _digest(entry.rejected)
                if digest not in seen_rejects:
                    seen_rejects.add(digest)
                    hashes.append(digest)
                    quarantined.append(entry.rejected)
                continue
            item = entry.item
            if item is None:
                continue
            # A deletion must reach the stored copy even though "[deleted]" has no keyword.
            if item.deleted or self._filter.matches(item.title, item.text):
                items.append(item)
            else:
                skipped += 1
        for entry in self._again:
            # Already fetched before: only to notice edits and deletions, so neither counted
            # as skipped nor quarantined again.
            again = entry.item
            if again is not None and (
                again.deleted or self._filter.matches(again.title, again.text)
            ):
                items.append(again)
        # A deletion seen this run (e.g. a 404 on re-check) wins over a stale copy of the item.
        gone = {i.external_id for i in items if i.deleted}
        if gone:
            items = [i for i in items if i.deleted or i.external_id not in gone]
        cursor: dict[str, Any] = {**self.state, "streams": self._marks}
        if hashes:
            cursor["rejected"] = hashes[-MAX_REJECTED_HASHES:]
        return Batch(
            items=items,
            cursor=cursor,
            skipped=skipped,
            warnings=self.warnings,
            quarantined=quarantined,
        )


def _digest(rejected: Rejected) -> str:
    text = f"{rejected.external_id or ''}\x00{rejected.payload}"
    return hashlib.sha1(text.encode("utf-8", "surrogatepass"), usedforsecurity=False).hexdigest()[
        :16
    ]


def reject(reason: str, payload: str, key: str | None, position: Position | None = None) -> Entry:
    """An entry for an item that cannot be stored, kept for the quarantine."""
    return Entry(position, key, rejected=Rejected(reason=reason, payload=payload, external_id=key))


class PagedOptions(SourceOptions):
    """Options every paged API listener has."""

    max_pages: int = Field(
        10,
        ge=1,
        le=1000,
        description="Most pages read per listing in one run. When the previous run's newest "
        "item is not reached by then, the run stores what it read and warns that items may "
        "be missing.",
    )


def env_value(name: str | None, what: str) -> str | None:
    """The value of the environment variable `name` (a credential), or None if `name` is unset.

    A configured but empty variable is an error that names the variable, never its value.
    """
    if not name:
        return None
    value = os.environ.get(name, "").strip()
    if not value:
        raise ListenError(f"{what}: environment variable {name} is not set or empty")
    return value
