"""The mentions list: filter by source, product, sentiment, issue type, language and date,
search the text, and page through millions of mentions (see `storage.mention_search`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel
from sqlmodel import Session

from ascolto.settings import Settings
from ascolto.web.deps import AppEngine, AppSettings, CurrentViewer, csrf_protect
from ascolto.web.links import safe_url
from ascolto.web.params import MAX_ID
from ascolto.web.templating import render
from classify.datasets import ISSUE_TYPES, SENTIMENT_LABELS
from storage.mention_search import MentionFilter, MentionRow, search_mentions, source_names
from storage.types import whole_number

router = APIRouter(tags=["mentions"], dependencies=[Depends(csrf_protect)])
PAGE = 50


class Filters(BaseModel):
    """The list's query parameters; empty form fields count as not given."""

    source: str | None = None
    product: str | None = None
    sentiment: str | None = None
    issue: str | None = None
    language: str | None = None
    since: date | None = None
    until: date | None = None
    q: str | None = None
    complaint: bool | None = None
    check: bool | None = None

    def where(self, min_confidence: float = 0.0) -> MentionFilter:
        """The storage filter: `until` includes its whole day; `check` keeps the labels
        less sure than `min_confidence` that nobody confirmed yet."""
        return MentionFilter(
            source=self.source,
            product=self.product,
            sentiment=self.sentiment,
            issue=self.issue,
            language=self.language,
            since=_midnight(self.since),
            until=_midnight(self.until + timedelta(days=1)) if self.until else None,
            text=self.q,
            complaint=self.complaint,
            unsure_below=min_confidence if self.check and min_confidence > 0 else None,
        )

    def query(self, **extra: str) -> str:
        """The filters as a query string, for the next page's link."""
        values = {k: str(v) for k, v in self.model_dump().items() if v not in (None, "")}
        return urlencode({**values, **extra})


def _midnight(day: date | None) -> datetime | None:
    return None if day is None else datetime(day.year, day.month, day.day, tzinfo=UTC)


def _blank(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


def _day(name: str, value: str | None) -> date | None:
    value = _blank(value)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise HTTPException(422, f"{name}: expected a date such as 2026-11-25") from None


def filters(
    source: Annotated[str | None, Query(max_length=200)] = None,
    product: Annotated[str | None, Query(max_length=200)] = None,
    sentiment: Annotated[
        str | None, Query(max_length=20, description="negative, neutral or positive")
    ] = None,
    issue: Annotated[
        str | None, Query(max_length=20, description="Issue type, e.g. defect")
    ] = None,
    language: Annotated[str | None, Query(max_length=20, description="e.g. en, it")] = None,
    since: Annotated[str | None, Query(max_length=10, description="First day, YYYY-MM-DD")] = None,
    until: Annotated[str | None, Query(max_length=10, description="Last day, YYYY-MM-DD")] = None,
    q: Annotated[str | None, Query(max_length=500, description="Words the text contains")] = None,
    complaint: Annotated[bool | None, Query(description="Only complaints (true) or not")] = None,
    check: Annotated[
        bool | None,
        Query(description="Only labels that wait for a person (`[classify] min_confidence`)"),
    ] = None,
) -> Filters:
    """The list's filters from the query string."""
    return Filters(
        source=_blank(source),
        product=_blank(product),
        sentiment=_blank(sentiment),
        issue=_blank(issue),
        language=_blank(language),
        since=_day("since", since),
        until=_day("until", until),
        q=_blank(q),
        complaint=complaint,
        check=check or None,
    )


def cursor_of(row: MentionRow) -> str:
    """Where the next page starts: after this row."""
    return f"{row.written_at.isoformat()}~{row.id}"


def parse_cursor(value: str | None) -> tuple[datetime, int] | None:
    """The (written time, id) of a `cursor`; a bad one is a 422."""
    if not value:
        return None
    try:
        # An unencoded "+" of the time zone arrives as a space.
        when, _, ident = value.replace(" ", "+").partition("~")
        at = datetime.fromisoformat(when)
        ident_number = whole_number(ident, low=1, high=MAX_ID)
        if at.tzinfo is None or ident_number is None:
            raise ValueError("no time zone, or no id")
        return at.astimezone(UTC), ident_number
    except (ValueError, OverflowError):
        raise HTTPException(422, "cursor: expected the value of a previous page's link") from None


Cursor = Annotated[
    str | None, Query(max_length=100, description="From a previous page's next link")
]
Limit = Annotated[int, Query(ge=1, le=200)]
Filtered = Annotated[Filters, Depends(filters)]


def _page(
    engine: Any, settings: Settings, shown: Filters, cursor: str | None, limit: int
) -> list[MentionRow]:
    before = parse_cursor(cursor)
    where = shown.where(settings.classify.min_confidence)
    with Session(engine) as session:
        return search_mentions(session, where, limit=limit, before=before)


@router.get("/mentions", response_class=HTMLResponse, summary="Mentions, filtered and searched")
def mentions_page(
    request: Request,
    engine: AppEngine,
    settings: AppSettings,
    viewer: CurrentViewer,
    shown: Filtered,
    cursor: Cursor = None,
) -> HTMLResponse:
    rows = _page(engine, settings, shown, cursor, PAGE + 1)
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    with Session(engine) as session:
        sources = source_names(session)
    next_link = f"/mentions?{shown.query(cursor=cursor_of(rows[-1]))}" if more else None
    return render(
        request,
        "mentions.html",
        {
            "rows": rows,
            "shown": shown,
            "next_link": next_link,
            "first_link": f"/mentions?{shown.query()}" if cursor else None,
            "sources": sources,
            "products": [p.name for p in settings.products],
            "sentiments": SENTIMENT_LABELS,
            "issues": ISSUE_TYPES,
            "safe_url": safe_url,
            "checking": settings.classify.min_confidence > 0,
        },
    )


@router.get("/api/v1/mentions", summary="Mentions, filtered and searched, newest first")
def mentions_api(
    engine: AppEngine,
    settings: AppSettings,
    viewer: CurrentViewer,
    shown: Filtered,
    cursor: Cursor = None,
    limit: Limit = PAGE,
) -> dict[str, Any]:
    rows = _page(engine, settings, shown, cursor, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "mentions": [r.as_dict() for r in rows],
        "next_cursor": cursor_of(rows[-1]) if more else None,
    }
