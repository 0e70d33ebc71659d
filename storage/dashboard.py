"""The overview's counts: mentions per day by sentiment and by source (from the
`MentionDay` rollup, kept by triggers of migration 0010), open complaints, active alerts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from storage.mention_search import written_at
from storage.models import (
    Alert,
    CareCase,
    Classification,
    ListenerRun,
    Mention,
    MentionDay,
    Source,
)

ACTIVE_ALERTS = ("open", "acknowledged")
UNLABELLED = "unlabelled"


@dataclass(frozen=True)
class DayCount:
    """How many mentions of one group (a sentiment or a source) were written on one day."""

    day: date
    group: str
    count: int


def _day(session: Session, at: Any) -> ColumnElement[Any]:
    """The UTC calendar day of a timestamp, as SQL."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", at))
    # SQLite keeps naive UTC text, 'YYYY-MM-DD HH:MM:SS...'.
    return func.substr(at, 1, 10)


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def mentions_per_day(session: Session, *, since: datetime, by: str = "sentiment") -> list[DayCount]:
    """Mentions written on the UTC days from `since`'s day on, per day and per sentiment
    (`by="sentiment"`, `unlabelled` for those not classified yet) or per source
    (`by="source"`), read from the `MentionDay` rollup the database keeps up to date."""
    day = col(MentionDay.day)
    count = func.sum(col(MentionDay.mentions))
    query: Any
    if by == "sentiment":
        group: Any = col(MentionDay.sentiment)
        query = select(day, group, count)
    elif by == "source":
        group = col(Source.name)
        query = select(day, group, count).join(Source, col(Source.id) == col(MentionDay.source_id))
    else:
        raise ValueError(f"by={by!r}: expected sentiment or source")
    query = (
        query.where(day >= since.astimezone(UTC).date())
        .group_by(day, group)
        .having(count != 0)
        .order_by(day, group)
    )
    return [DayCount(_as_date(d), str(g), int(n)) for d, g, n in session.exec(query).all()]


def counted_per_day(session: Session, *, since: datetime, by: str = "sentiment") -> list[DayCount]:
    """The same figures as `mentions_per_day`, counted from the mentions themselves: what
    the rollup must always equal."""
    written = written_at()
    day = _day(session, written).label("day")
    first = datetime.combine(since.astimezone(UTC).date(), datetime.min.time(), tzinfo=UTC)
    query: Any
    if by == "sentiment":
        group = func.coalesce(col(Classification.sentiment), UNLABELLED).label("grp")
        query = (
            select(day, group, func.count())
            .select_from(Mention)
            .join(Classification, col(Classification.mention_id) == col(Mention.id), isouter=True)
        )
    elif by == "source":
        group = col(Source.name).label("grp")
        query = (
            select(day, group, func.count())
            .select_from(Mention)
            .join(Source, col(Source.id) == col(Mention.source_id))
        )
    else:
        raise ValueError(f"by={by!r}: expected sentiment or source")
    query = (
        query.where(written >= first)
        .where(col(Mention.deleted_at).is_(None))
        .group_by(day, group)
        .order_by(day, group)
    )
    return [DayCount(_as_date(d), str(g), int(n)) for d, g, n in session.exec(query).all()]


def open_complaints(session: Session) -> int:
    """Care cases (complaints and questions waiting for a person) not resolved yet."""
    query = select(func.count()).select_from(CareCase).where(col(CareCase.resolved_at).is_(None))
    return int(session.exec(query).one())


def active_alerts(session: Session, *, limit: int = 10) -> tuple[int, list[Alert]]:
    """How many alerts are open or acknowledged, and the newest of them."""
    where = col(Alert.status).in_(ACTIVE_ALERTS)
    total = int(session.exec(select(func.count()).select_from(Alert).where(where)).one())
    newest = session.exec(select(Alert).where(where).order_by(col(Alert.id).desc()).limit(limit))
    return total, list(newest.all())


def items_per_day(session: Session, *, since: datetime) -> list[DayCount]:
    """New items stored per source and per UTC day of their run, since `since`."""
    started = col(ListenerRun.started_at)
    day = _day(session, started).label("day")
    query: Any = (
        select(day, col(Source.name), func.coalesce(func.sum(col(ListenerRun.items_new)), 0))
        .select_from(ListenerRun)
        .join(Source, col(Source.id) == col(ListenerRun.source_id))
        .where(started >= since)
        .group_by(day, col(Source.name))
        .order_by(day)
    )
    return [DayCount(_as_date(d), str(g), int(n)) for d, g, n in session.exec(query).all()]


def runs_with_errors(session: Session, *, since: datetime) -> dict[str, int]:
    """Failed runs per source since `since`."""
    query: Any = (
        select(col(Source.name), func.count())
        .select_from(ListenerRun)
        .join(Source, col(Source.id) == col(ListenerRun.source_id))
        .where(col(ListenerRun.started_at) >= since)
        .where(col(ListenerRun.error).is_not(None))
        .group_by(col(Source.name))
    )
    return {str(name): int(n) for name, n in session.exec(query).all()}


@dataclass(frozen=True)
class CaseTimes:
    """Care cases opened since a time: counts, and first-response and resolution times in
    seconds (median and 90th percentile, linear between ranks; None without any)."""

    cases: int
    responded: int
    resolved: int
    first_response: tuple[float, float] | None
    resolution: tuple[float, float] | None


def _quantiles(values: list[float]) -> tuple[float, float] | None:
    if not values:
        return None
    ordered = sorted(values)

    def at(share: float) -> float:
        rank = share * (len(ordered) - 1)
        low = int(rank)
        high = min(low + 1, len(ordered) - 1)
        return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)

    return at(0.5), at(0.9)


def case_times(session: Session, *, since: datetime) -> CaseTimes:
    """Response and resolution times of the cases opened since `since`, computed by the
    database on PostgreSQL (percentile_cont), so a month of cases is never loaded."""
    opened = col(CareCase.opened_at)
    first, resolved = col(CareCase.first_response_at), col(CareCase.resolved_at)
    if session.get_bind().dialect.name == "postgresql":

        def seconds(at: Any) -> Any:
            return func.greatest(func.extract("epoch", at - opened), 0)

        def quantile(share: float, at: Any) -> Any:
            return func.percentile_cont(share).within_group(seconds(at)).filter(at.is_not(None))

        row = session.exec(
            select(  # type: ignore[call-overload]
                func.count(),
                func.count(first),
                func.count(resolved),
                quantile(0.5, first),
                quantile(0.9, first),
                quantile(0.5, resolved),
                quantile(0.9, resolved),
            ).where(opened >= since)
        ).one()
        n, responded, done, f50, f90, r50, r90 = row
        return CaseTimes(
            int(n),
            int(responded),
            int(done),
            None if f50 is None else (float(f50), float(f90)),
            None if r50 is None else (float(r50), float(r90)),
        )
    rows = session.exec(select(opened, first, resolved).where(opened >= since)).all()
    firsts = [max(0.0, (f - o).total_seconds()) for o, f, _ in rows if f is not None]
    dones = [max(0.0, (r - o).total_seconds()) for o, _, r in rows if r is not None]
    return CaseTimes(len(rows), len(firsts), len(dones), _quantiles(firsts), _quantiles(dones))
