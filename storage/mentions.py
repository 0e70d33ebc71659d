"""Idempotent ingest of mentions and the queries that read them back."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import any_, bindparam, or_, update
from sqlalchemy import insert as sql_insert
from sqlalchemy import select as sql_select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, func, select

from storage.fingerprint import MAX_DISTANCE, bands, simhash, to_signed
from storage.models import Author, Customer, Mention, Source
from storage.types import utcnow

_CHUNK = 500


@dataclass(frozen=True, eq=False)
class NewMention:
    """A mention as a listener fetched it, before storage."""

    external_id: str
    text: str
    title: str | None = None
    url: str | None = None
    author_handle: str | None = None
    author_name: str | None = None
    author_url: str | None = None
    author_platform: str | None = None
    published_at: datetime | None = None
    updated_at: datetime | None = None
    kind: str = "post"
    lang: str | None = None
    rating: float | None = None
    parent_external_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    deleted: bool = False

    @property
    def content_hash(self) -> str:
        """Fingerprint of what a person reads, to notice upstream edits."""
        digest = hashlib.sha256()
        for part in (self.title or "", self.text, self.url or "", "deleted" * self.deleted):
            digest.update(part.encode("utf-8", "surrogatepass"))
            digest.update(b"\x00")
        return digest.hexdigest()


@dataclass
class IngestCounts:
    """How many fetched items were new, changed, or already stored unchanged."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    duplicates: int = 0
    new_ids: list[int] = field(default_factory=list)


def dedupe(items: Iterable[NewMention]) -> list[NewMention]:
    """One item per external id; where a feed repeats one, the most recently updated wins."""
    chosen: dict[str, NewMention] = {}
    for item in items:
        current = chosen.get(item.external_id)
        if current is None or _newer(item, current):
            chosen[item.external_id] = item
    return list(chosen.values())


def _newer(candidate: NewMention, current: NewMention) -> bool:
    a = candidate.updated_at or candidate.published_at
    b = current.updated_at or current.published_at
    return a is not None and (b is None or a > b)


def ingest(session: Session, *, source_id: int, items: Sequence[NewMention]) -> IngestCounts:
    """Insert new mentions and update edited ones, inside the caller's transaction.

    Each chunk costs a handful of statements whatever its size: one read of what is already
    stored, one batched INSERT and one read of the new ids, one read of near-duplicate
    candidates, and one executemany UPDATE each for edits, deletions and links to originals.
    """
    counts = IngestCounts()
    items = dedupe(items)
    authors = _authors(session, items)
    fetched_at = utcnow()
    for start in range(0, len(items), _CHUNK):
        chunk = items[start : start + _CHUNK]
        existing = {
            row.external_id: row
            for row in session.execute(
                sql_select(
                    _TABLE.c.id, _TABLE.c.external_id, _TABLE.c.content_hash, _TABLE.c.deleted_at
                )
                .where(_TABLE.c.source_id == source_id)
                .where(_one_of(session, _TABLE.c.external_id, [i.external_id for i in chunk]))
            )
        }
        created: list[dict[str, Any]] = []
        edits: list[dict[str, Any]] = []
        deletions: list[dict[str, Any]] = []
        for item in chunk:
            stored = existing.get(item.external_id)
            if stored is None:
                if item.deleted:
                    # Never seen, already gone: nothing to keep.
                    counts.unchanged += 1
                    continue
                key = _author_key(item)
                author = authors.get(key) if key else None
                created.append(_row(item, source_id, author.id if author else None, fetched_at))
            elif item.deleted:
                if stored.deleted_at is None:
                    # Deleted or made private upstream: flagged so nobody answers it, the
                    # text kept as evidence (e.g. for a defect cluster it belongs to).
                    deletions.append({"_id": stored.id, "deleted_at": fetched_at})
                    counts.deleted += 1
                else:
                    counts.unchanged += 1
            elif stored.content_hash != item.content_hash:
                edits.append(
                    {
                        "_id": stored.id,
                        "title": item.title,
                        "text": item.text,
                        "url": item.url,
                        "content_hash": item.content_hash,
                        "edited_at": item.updated_at or fetched_at,
                        "rating": item.rating,
                        "extra": item.extra,
                    }
                )
                counts.updated += 1
            else:
                counts.unchanged += 1
        for changes in (edits, deletions):
            if changes:
                _update_by_id(session, changes)
        if created:
            ids = _insert_linking_near_duplicates(session, created)
            counts.new += len(ids)
            counts.new_ids.extend(ids.values())
            counts.duplicates += sum(row["duplicate_of_id"] is not None for row in created)
    return counts


_TABLE = Mention.__table__  # type: ignore[attr-defined]


def _row(
    item: NewMention, source_id: int, author_id: int | None, fetched_at: datetime
) -> dict[str, Any]:
    """The INSERT parameters of a new mention, fingerprinted; every row has every key so
    a chunk is one executemany."""
    # The body only: titles are often the site's ("Re: …", a thread name), not the author's.
    value = simhash(item.text)
    b0, b1, b2, b3 = bands(value) if value is not None else (None, None, None, None)
    return {
        "source_id": source_id,
        "external_id": item.external_id,
        "url": item.url,
        "author_id": author_id,
        "title": item.title,
        "text": item.text,
        "content_hash": item.content_hash,
        "published_at": item.published_at,
        "fetched_at": fetched_at,
        "edited_at": None,
        "kind": item.kind,
        "lang": item.lang,
        "rating": item.rating,
        "parent_external_id": item.parent_external_id,
        "extra": item.extra,
        "deleted_at": None,
        "withdrawn_at": None,
        "simhash": to_signed(value) if value is not None else None,
        "simhash_b0": b0,
        "simhash_b1": b1,
        "simhash_b2": b2,
        "simhash_b3": b3,
        "duplicate_of_id": None,
    }


def _update_by_id(session: Session, changes: list[dict[str, Any]]) -> None:
    """One executemany UPDATE of the same columns on many mentions; mentions the session
    already holds are expired so they read the new values back."""
    columns = [name for name in changes[0] if name != "_id"]
    session.execute(
        update(_TABLE)
        .where(_TABLE.c.id == bindparam("_id"))
        .values({name: bindparam(name, type_=_TABLE.c[name].type) for name in columns}),
        changes,
    )
    ids = {change["_id"] for change in changes}
    for held in list(session.identity_map.values()):
        if isinstance(held, Mention) and held.id in ids:
            session.expire(held)


NEAR_DUPLICATE_WINDOW = timedelta(days=30)
# New fingerprints compared with all candidates at once: bounds the (block x candidates)
# matrix to a few megabytes.
_DISTANCE_BLOCK = 64
_BAND_COLUMNS = ("simhash_b0", "simhash_b1", "simhash_b2", "simhash_b3")


def _insert_linking_near_duplicates(
    session: Session, created: list[dict[str, Any]]
) -> dict[str, int]:
    """Store new mentions and point each copy at its original; returns the new ids by
    external id, in the order of `created`.

    One candidate query per chunk: stored mentions sharing a SimHash band with any new
    one, from the last NEAR_DUPLICATE_WINDOW (any fingerprint within MAX_DISTANCE shares
    a band, so no copy is missed). Earlier mentions of the same chunk count as originals
    too, so a repost fetched together with its original is still caught. The distances of
    the whole chunk to every candidate are counted in one vectorised step.
    """
    wanted = [{row[name] for row in created if row[name] is not None} for name in _BAND_COLUMNS]
    stored = np.empty((0, 3), dtype=np.int64)
    if any(wanted):
        since = created[0]["fetched_at"] - NEAR_DUPLICATE_WINDOW
        band_columns = [_TABLE.c[name] for name in _BAND_COLUMNS]
        rows = session.execute(
            sql_select(
                _TABLE.c.id,
                _TABLE.c.simhash,
                func.coalesce(_TABLE.c.duplicate_of_id, _TABLE.c.id),
            )
            .where(
                or_(
                    *(
                        _one_of(session, column, values)
                        for column, values in zip(band_columns, wanted, strict=True)
                    )
                )
            )
            .where(_TABLE.c.fetched_at >= since)
            .where(_TABLE.c.simhash.is_not(None))
        ).all()
        if rows:
            # Plain tuples: numpy probing each Row for array protocols is slow.
            stored = np.array([tuple(row) for row in rows], dtype=np.int64)
    ids = _insert(session, created)
    # The new mentions that have a fingerprint, in the order given.
    new = [(ids[row["external_id"]], row) for row in created if row["simhash"] is not None]
    if not new:
        return ids
    new_ids = np.array([mention_id for mention_id, _row in new], dtype=np.int64)
    values = np.array([row["simhash"] for _id, row in new], dtype=np.int64)
    stored_id, stored_original = _earliest_close(values, stored)
    near_new = _close(values, values)
    originals = np.zeros(len(new), dtype=np.int64)
    links: list[dict[str, int]] = []
    for j, (mention_id, row) in enumerate(new):
        # The earliest mention within MAX_DISTANCE is the copy's original (or, when that
        # one is itself a copy, the one it points at): stored ones, then earlier new ones.
        best_id, best_original = int(stored_id[j]), int(stored_original[j])
        earlier = np.flatnonzero(near_new[j, :j])
        if earlier.size:
            first = earlier[np.argmin(new_ids[earlier])]
            if not best_id or new_ids[first] < best_id:
                best_id, best_original = int(new_ids[first]), int(originals[first])
        originals[j] = best_original or mention_id
        if best_id:
            row["duplicate_of_id"] = best_original
            links.append({"_id": mention_id, "duplicate_of_id": best_original})
    if links:
        _update_by_id(session, links)
    return ids


def _earliest_close(values: np.ndarray, stored: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each fingerprint, the lowest-id stored (id, fingerprint, original) row within
    MAX_DISTANCE: its id and original, 0 where none is. In blocks, to bound memory."""
    found_id = np.zeros(len(values), dtype=np.int64)
    found_original = np.zeros(len(values), dtype=np.int64)
    if not stored.size:
        return found_id, found_original
    none = np.iinfo(np.int64).max
    for start in range(0, len(values), _DISTANCE_BLOCK):
        block = values[start : start + _DISTANCE_BLOCK]
        close = _close(block, stored[:, 1])
        first = np.where(close, stored[:, 0], none).argmin(axis=1)
        hit = close[np.arange(len(block)), first]
        found_id[start : start + len(block)] = np.where(hit, stored[first, 0], 0)
        found_original[start : start + len(block)] = np.where(hit, stored[first, 2], 0)
    return found_id, found_original


def _close(values: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Which pairs of fingerprints are within MAX_DISTANCE bits: one row per `values`."""
    if not others.size:
        return np.zeros((len(values), 0), dtype=bool)
    differing = np.bitwise_xor(values[:, None], others[None, :]).view(np.uint64)
    return np.asarray(np.bitwise_count(differing) <= MAX_DISTANCE)


def _insert(session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert new mentions of one source; their ids by external id, in row order.

    An executemany of a one-row INSERT, then one read of the ids: drivers send the
    executemany as a batch (PostgreSQL's pipeline) of one short, parsed-once statement,
    where a multi-row INSERT … RETURNING costs the driver a parse of thousands of
    placeholders per chunk. A mention another writer stored meanwhile fails the unique
    constraint, and with it the run, so nothing is stored twice and nothing is lost."""
    session.execute(sql_insert(_TABLE), rows)
    statement = (
        sql_select(_TABLE.c.external_id, _TABLE.c.id)
        .where(_TABLE.c.source_id == rows[0]["source_id"])
        .where(_one_of(session, _TABLE.c.external_id, [row["external_id"] for row in rows]))
    )
    given: dict[str, int] = dict(session.execute(statement).tuples().all())
    return {row["external_id"]: given[row["external_id"]] for row in rows}


def _one_of(session: Session, column: Any, values: Collection[Any]) -> Any:
    """`column IN values`; on PostgreSQL `= ANY` of one array parameter, because the driver
    parses a statement of hundreds of placeholders anew each time it is sent."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(values)


def _author_key(item: NewMention) -> tuple[str, str] | None:
    if not item.author_handle or not item.author_platform:
        return None
    return item.author_platform, item.author_handle


def _authors(session: Session, items: Sequence[NewMention]) -> dict[tuple[str, str], Author]:
    """The items' authors, created where new. Runs of other sources (other workers) may
    create the same authors at the same time: inserts skip what already exists, so neither
    run fails, and both read back the one stored row."""
    wanted: dict[tuple[str, str], NewMention] = {}
    for item in items:
        key = _author_key(item)
        if key and key not in wanted:
            wanted[key] = item
    found = _find_authors(session, list(wanted))
    missing = [(key, item) for key, item in wanted.items() if key not in found]
    if not missing:
        return found
    customers = _customers_by_email(session, [key[1] for key, _item in missing])
    now = utcnow()
    rows = [
        {
            "platform": key[0],
            "handle": key[1],
            "display_name": item.author_name,
            "url": item.author_url,
            "customer_id": customers.get(key[1].strip().lower()),
            "first_seen_at": now,
        }
        for key, item in missing
    ]
    insert: Any = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    for start in range(0, len(rows), _CHUNK):
        statement = insert(Author).values(rows[start : start + _CHUNK])
        session.execute(statement.on_conflict_do_nothing(index_elements=["platform", "handle"]))
    found.update(_find_authors(session, [key for key, _item in missing]))
    return found


def _find_authors(
    session: Session, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], Author]:
    found: dict[tuple[str, str], Author] = {}
    for platform in {k[0] for k in keys}:
        handles = [k[1] for k in keys if k[0] == platform]
        for start in range(0, len(handles), _CHUNK):
            rows = session.exec(
                select(Author)
                .where(Author.platform == platform)
                .where(col(Author.handle).in_(handles[start : start + _CHUNK]))
            ).all()
            found.update({(a.platform, a.handle): a for a in rows})
    return found


def _customers_by_email(session: Session, handles: Sequence[str]) -> dict[str, int]:
    """New authors whose handle is a known customer's e-mail address are that customer."""
    emails = sorted({h.strip().lower() for h in handles if "@" in h})
    found: dict[str, int] = {}
    for start in range(0, len(emails), _CHUNK):
        rows = session.exec(
            select(Customer.id, Customer.email).where(
                col(Customer.email).in_(emails[start : start + _CHUNK])
            )
        ).all()
        found.update({email or "": customer_id or 0 for customer_id, email in rows})
    return found


def list_mentions(
    session: Session,
    *,
    since: datetime | None = None,
    source: str | None = None,
    limit: int | None = 100,
) -> list[dict[str, Any]]:
    """Mentions, newest first, as plain dicts ready for JSON or a table."""
    published = func.coalesce(Mention.published_at, Mention.fetched_at)
    query: Any = (
        select(Mention, Source.name, Author.handle, Author.display_name)
        .join(Source, col(Source.id) == Mention.source_id)
        .join(Author, col(Author.id) == Mention.author_id, isouter=True)
    )
    if since is not None:
        query = query.where(published >= since)
    if source:
        query = query.where(Source.name == source)
    query = query.order_by(published.desc(), col(Mention.id).desc())
    if limit:
        query = query.limit(limit)
    rows = []
    for mention, source_name, handle, display_name in session.exec(query).all():
        rows.append(
            {
                "id": mention.id,
                "source": source_name,
                "external_id": mention.external_id,
                "url": mention.url,
                "author": display_name or handle,
                "title": mention.title,
                "text": mention.text,
                "published_at": _iso(mention.published_at),
                "fetched_at": _iso(mention.fetched_at),
                "edited_at": _iso(mention.edited_at),
            }
        )
    return rows


def count_by_source(session: Session) -> dict[int, int]:
    """Stored mentions per source id."""
    query = select(Mention.source_id, func.count()).group_by(col(Mention.source_id))
    return dict(session.exec(query).all())


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
