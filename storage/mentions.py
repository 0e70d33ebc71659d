"""Idempotent ingest of mentions and the queries that read them back."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, func, select

from storage.fingerprint import (
    MAX_DISTANCE,
    bands,
    distance,
    simhash,
    to_signed,
    to_unsigned,
)
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
    """Insert new mentions and update edited ones, inside the caller's transaction."""
    counts = IngestCounts()
    items = dedupe(items)
    authors = _authors(session, items)
    fetched_at = utcnow()
    for start in range(0, len(items), _CHUNK):
        chunk = items[start : start + _CHUNK]
        existing = {
            m.external_id: m
            for m in session.exec(
                select(Mention)
                .where(Mention.source_id == source_id)
                .where(col(Mention.external_id).in_([i.external_id for i in chunk]))
            ).all()
        }
        created: list[Mention] = []
        for item in chunk:
            key = _author_key(item)
            author = authors.get(key) if key else None
            stored = existing.get(item.external_id)
            if stored is None:
                if item.deleted:
                    # Never seen, already gone: nothing to keep.
                    counts.unchanged += 1
                    continue
                mention = Mention(
                    source_id=source_id,
                    external_id=item.external_id,
                    url=item.url,
                    author_id=author.id if author else None,
                    title=item.title,
                    text=item.text,
                    content_hash=item.content_hash,
                    published_at=item.published_at,
                    fetched_at=fetched_at,
                    kind=item.kind,
                    lang=item.lang,
                    rating=item.rating,
                    parent_external_id=item.parent_external_id,
                    extra=item.extra,
                )
                created.append(mention)
            elif item.deleted:
                if stored.deleted_at is None:
                    # Deleted or made private upstream: flagged so nobody answers it, the
                    # text kept as evidence (e.g. for a defect cluster it belongs to).
                    stored.deleted_at = fetched_at
                    session.add(stored)
                    counts.deleted += 1
                else:
                    counts.unchanged += 1
            elif stored.content_hash != item.content_hash:
                stored.title = item.title
                stored.text = item.text
                stored.url = item.url
                stored.content_hash = item.content_hash
                stored.edited_at = item.updated_at or fetched_at
                stored.rating = item.rating
                stored.extra = item.extra
                session.add(stored)
                counts.updated += 1
            else:
                counts.unchanged += 1
        if created:
            _link_near_duplicates(session, created)
            counts.new += len(created)
            counts.new_ids.extend(m.id or 0 for m in created)
            counts.duplicates += sum(m.duplicate_of_id is not None for m in created)
        session.flush()
    return counts


NEAR_DUPLICATE_WINDOW = timedelta(days=30)


def _link_near_duplicates(session: Session, created: list[Mention]) -> None:
    """Fingerprint new mentions, store them, and point each copy at its original.

    One candidate query per chunk: stored mentions sharing a SimHash band with any new
    one, from the last NEAR_DUPLICATE_WINDOW. Earlier mentions of the same chunk count
    as originals too, so a repost fetched together with its original is still caught.
    """
    fingerprints: list[int | None] = []
    for mention in created:
        # The body only: titles are often the site's ("Re: …", a thread name), not the author's.
        value = simhash(mention.text)
        fingerprints.append(value)
        if value is not None:
            mention.simhash = to_signed(value)
            (mention.simhash_b0, mention.simhash_b1, mention.simhash_b2, mention.simhash_b3) = (
                bands(value)
            )
    wanted = [bands(v) for v in fingerprints if v is not None]
    # (band number, band value) -> earlier mentions with that band: only those can be
    # within MAX_DISTANCE, so each new mention is compared with a handful, not all.
    index: dict[tuple[int, int], list[tuple[int, int, int | None]]] = {}

    def remember(mention_id: int, value: int, original: int | None) -> None:
        for number, band in enumerate(bands(to_unsigned(value))):
            index.setdefault((number, band), []).append((mention_id, value, original))

    if wanted:
        since = created[0].fetched_at - NEAR_DUPLICATE_WINDOW
        band_columns = (
            Mention.simhash_b0,
            Mention.simhash_b1,
            Mention.simhash_b2,
            Mention.simhash_b3,
        )
        rows = session.exec(
            select(Mention.id, Mention.simhash, Mention.duplicate_of_id)
            .where(
                or_(
                    *(
                        col(column).in_({b[i] for b in wanted})
                        for i, column in enumerate(band_columns)
                    )
                )
            )
            .where(col(Mention.fetched_at) >= since)
            .order_by(col(Mention.id))
        ).all()
        for row_id, value, original in rows:
            if value is not None:
                remember(row_id or 0, value, original)
    session.add_all(created)
    session.flush()
    for mention, value in zip(created, fingerprints, strict=True):
        if value is None:
            continue
        candidates = sorted(
            {
                entry
                for number, band in enumerate(bands(value))
                for entry in index.get((number, band), [])
            }
        )
        for candidate_id, candidate_hash, original_id in candidates:
            if distance(candidate_hash, value) <= MAX_DISTANCE:
                mention.duplicate_of_id = original_id or candidate_id
                break
        remember(mention.id or 0, to_signed(value), mention.duplicate_of_id)


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
