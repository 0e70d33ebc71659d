"""The mentions list: filters, full-text search and keyset pages, fast on millions of rows.

Mentions are ordered by when they were written (published, else fetched) and then by id,
the order of the `ix_mention_written` index, so a page reads only the rows it shows plus
those its filters skip. Pages continue from the last row shown (`before`) instead of an
offset, which would read every earlier row again.

Search is PostgreSQL full text (`to_tsvector('simple', text)`, the GIN index
`ix_mention_search`; 'simple' because mentions come in many languages and stemming one
would mangle the others); on SQLite every word must occur in the text, case-insensitively.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Text, and_, cast, func, literal_column, tuple_, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from storage.classifications import sure_enough
from storage.models import Author, Classification, Mention, Source
from storage.types import UTCDateTime

MAX_QUERY_WORDS = 20


def written_at() -> ColumnElement[datetime]:
    """When a mention was written: published, else fetched (the index's expression)."""
    return type_coerce(
        func.coalesce(col(Mention.published_at), col(Mention.fetched_at)), UTCDateTime()
    )


@dataclass(frozen=True)
class MentionFilter:
    """What the list shows; every field is optional."""

    source: str | None = None
    product: str | None = None
    sentiment: str | None = None
    issue: str | None = None
    language: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None
    complaint: bool | None = None
    # Only labels that wait for a person: less sure than this and not confirmed.
    unsure_below: float | None = None


@dataclass(frozen=True)
class MentionRow:
    """One mention with its labels, as the list shows it."""

    id: int
    source: str
    url: str | None
    author: str | None
    title: str | None
    text: str
    written_at: datetime
    language: str | None
    sentiment: str | None
    complaint: bool | None
    issues: list[str]
    urgency: list[str]
    products: list[str]
    corrected_by: dict[str, str] = field(default_factory=dict)
    """Label field -> the person who set it (instead of the model)."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "id": self.id,
            "source": self.source,
            "url": self.url,
            "author": self.author,
            "title": self.title,
            "text": self.text,
            "written_at": self.written_at.isoformat(),
            "language": self.language,
            "sentiment": self.sentiment,
            "complaint": self.complaint,
            "issues": self.issues,
            "urgency": self.urgency,
            "products": self.products,
            "corrected_by": self.corrected_by,
        }


def _json_member(session: Session, column: Any, value: str) -> ColumnElement[bool]:
    """Whether a JSON list column holds `value`. On PostgreSQL, jsonb containment, which the
    GIN index `ix_classification_labels` answers (so a rare product and issue type start
    from the few labels that have them); on SQLite a text match on the serialised list."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(column, JSONB()).contains([value])
    needle = json.dumps(value).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return cast(column, Text()).like(f"%{needle}%", escape="\\")


def _words(text: str) -> list[str]:
    return [w for w in text.split() if w][:MAX_QUERY_WORDS]


def _search(session: Session, text: str) -> ColumnElement[bool] | None:
    words = _words(text)
    if not words:
        return None
    if session.get_bind().dialect.name == "postgresql":
        # The configuration written out, not bound: the index is on this exact expression.
        simple: ColumnElement[str] = literal_column("'simple'")
        return func.to_tsvector(simple, col(Mention.text)).op("@@")(
            func.plainto_tsquery(simple, " ".join(words))
        )
    lowered = func.lower(col(Mention.text))
    return and_(
        *(
            lowered.like(
                "%" + w.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%",
                escape="\\",
            )
            for w in words
        )
    )


def search_mentions(
    session: Session,
    where: MentionFilter,
    *,
    limit: int = 50,
    before: tuple[datetime, int] | None = None,
) -> list[MentionRow]:
    """Up to `limit` mentions matching `where`, newest first, older than `before` (the
    written time and id of the last row of the previous page)."""
    written = written_at()
    labels_needed = any(
        v is not None
        for v in (
            where.product,
            where.sentiment,
            where.issue,
            where.language,
            where.complaint,
            where.unsure_below,
        )
    )
    query: Any = (
        select(  # type: ignore[call-overload]
            Mention, Source.name, Author.handle, Author.display_name, Classification
        )
        .join(Source, col(Source.id) == col(Mention.source_id))
        .join(Author, col(Author.id) == col(Mention.author_id), isouter=True)
        .join(
            Classification,
            col(Classification.mention_id) == col(Mention.id),
            isouter=not labels_needed,
        )
        .where(col(Mention.deleted_at).is_(None))
    )
    if where.source:
        query = query.where(col(Source.name) == where.source)
    if where.sentiment:
        query = query.where(col(Classification.sentiment) == where.sentiment)
    if where.language:
        query = query.where(col(Classification.language) == where.language)
    if where.complaint is not None:
        query = query.where(col(Classification.complaint).is_(where.complaint))
    if where.unsure_below is not None:
        query = query.where(~sure_enough(where.unsure_below))
    if where.issue:
        query = query.where(_json_member(session, Classification.issues, where.issue))
    if where.product:
        query = query.where(_json_member(session, Classification.products, where.product))
    if where.since is not None:
        query = query.where(written >= where.since)
    if where.until is not None:
        query = query.where(written < where.until)
    if where.text:
        found = _search(session, where.text)
        if found is not None:
            query = query.where(found)
    if before is not None:
        query = query.where(tuple_(written, col(Mention.id)) < tuple_(*before))
    query = query.order_by(written.desc(), col(Mention.id).desc()).limit(limit)
    rows = []
    for mention, source, handle, display_name, labels in session.exec(query).all():
        rows.append(
            MentionRow(
                id=mention.id or 0,
                source=source,
                url=mention.url,
                author=display_name or handle,
                title=mention.title,
                text=mention.text,
                written_at=mention.published_at or mention.fetched_at,
                language=labels.language if labels else None,
                sentiment=labels.sentiment if labels else None,
                complaint=labels.complaint if labels else None,
                issues=list(labels.issues) if labels else [],
                urgency=list(labels.urgency) if labels else [],
                products=list(labels.products) if labels else [],
                corrected_by={f: c["by"] for f, c in labels.corrected.items()} if labels else {},
            )
        )
    return rows


def source_names(session: Session) -> list[str]:
    """Every source's name, for the list's filter."""
    return list(session.exec(select(Source.name).order_by(col(Source.name))).all())


__all__ = ["MentionFilter", "MentionRow", "search_mentions", "source_names", "written_at"]
