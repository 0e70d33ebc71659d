"""Blind spots: when a source was not heard from, so its counts are unknown, not zero.

A source is blind from the start of a run that failed, was blocked (a rate limit, a 403)
or was cut short, until the start of its next successful run; a source switched off is
blind from its last run on. Reads only, inside the caller's session.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, select

from storage.models import ListenerRun, Source

OK = ("ok", "not_modified")
NOT_AN_OUTCOME = ("running",)


@dataclass(frozen=True)
class BlindWindow:
    """A source not heard from between `start` and `end`, and why."""

    source: str
    start: datetime
    end: datetime
    reason: str
    """The failing runs' status (failed, blocked, interrupted, cancelled) or `disabled`."""

    def overlaps(self, start: datetime, end: datetime) -> bool:
        """Whether any of [start, end) was blind."""
        return self.start < end and start < self.end


def blind_windows(
    session: Session, *, since: datetime, until: datetime, sources: Iterable[str] | None = None
) -> list[BlindWindow]:
    """Every blind window of a source overlapping [since, until), oldest first."""
    query = select(Source).order_by(col(Source.name))
    if sources is not None:
        query = query.where(col(Source.name).in_(sorted(set(sources))))
    out: list[BlindWindow] = []
    for source in session.exec(query).all():
        runs = session.exec(
            select(ListenerRun)
            .where(ListenerRun.source_id == source.id)
            .where(col(ListenerRun.status).not_in(NOT_AN_OUTCOME))
            .order_by(col(ListenerRun.started_at), col(ListenerRun.id))
        ).all()
        start: datetime | None = None
        reason = ""
        for run in runs:
            if run.status in OK:
                if start is not None:
                    out.append(BlindWindow(source.name, start, run.started_at, reason))
                    start = None
            elif start is None:
                start, reason = run.started_at, run.status
        if start is not None:
            out.append(BlindWindow(source.name, start, until, reason))
        elif not source.enabled:
            last = runs[-1].finished_at or runs[-1].started_at if runs else None
            if last is not None:
                out.append(BlindWindow(source.name, last, until, "disabled"))
    return sorted((w for w in out if w.overlaps(since, until)), key=lambda w: (w.start, w.source))


def unknown_days(
    blind: Sequence[BlindWindow], start: datetime, end: datetime
) -> dict[str, list[str]]:
    """UTC day (ISO) -> the sources not heard from on it, for the days of [start, end)."""
    out: dict[str, set[str]] = {}
    for window in blind:
        day = max(window.start, start).date()
        while day <= min(window.end, end).date():
            day_start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
            if window.overlaps(day_start, day_start + timedelta(days=1)):
                out.setdefault(day.isoformat(), set()).add(window.source)
            day += timedelta(days=1)
    return {day: sorted(names) for day, names in sorted(out.items())}
