"""Customer-care response metrics: first response time and time to resolution.

Both run from the mention's time (published, else fetched): the first response is the
first approved reply, resolution when a person marked the case resolved. Cases still
waiting count in the totals but not in the times: an unanswered mention has no FRT yet.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from storage.audit import record as audit
from storage.models import CareCase
from storage.outreach import cases_since, get_case, record_response, resolve_case
from storage.types import utcnow


@dataclass(frozen=True)
class ResponseMetrics:
    """Counts and median / 90th-percentile times of the cases opened since `since`."""

    since: datetime
    cases: int
    responded: int
    resolved: int
    first_response_median: timedelta | None
    first_response_p90: timedelta | None
    resolution_median: timedelta | None
    resolution_p90: timedelta | None

    @property
    def resolution_rate(self) -> float | None:
        """Share of cases resolved; None without cases."""
        return self.resolved / self.cases if self.cases else None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, times in seconds."""
        return {
            "since": self.since.isoformat(),
            "cases": self.cases,
            "responded": self.responded,
            "resolved": self.resolved,
            "resolution_rate": self.resolution_rate,
            **{
                name: None if value is None else value.total_seconds()
                for name, value in (
                    ("first_response_median_s", self.first_response_median),
                    ("first_response_p90_s", self.first_response_p90),
                    ("resolution_median_s", self.resolution_median),
                    ("resolution_p90_s", self.resolution_p90),
                )
            },
        }


def percentile(values: Sequence[float], share: float) -> float:
    """The `share` quantile (0..1) with linear interpolation between ranks."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = share * (len(ordered) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class CaseTimes:
    """One mention's times: first response and resolution, None while they are due."""

    mention_id: int
    opened_at: datetime
    first_response: timedelta | None
    resolution: timedelta | None


def case_times(case: CareCase) -> CaseTimes:
    """First response time and time to resolution of one case, from the mention's time."""

    def since_opened(at: datetime | None) -> timedelta | None:
        return None if at is None else max(timedelta(0), at - case.opened_at)

    return CaseTimes(
        case.mention_id,
        case.opened_at,
        since_opened(case.first_response_at),
        since_opened(case.resolved_at),
    )


def _summary(seconds: list[float]) -> tuple[timedelta | None, timedelta | None]:
    if not seconds:
        return None, None
    median = statistics.median(seconds)
    return timedelta(seconds=median), timedelta(seconds=percentile(seconds, 0.9))


def response_metrics(session: Session, since: datetime) -> ResponseMetrics:
    """First response and resolution times of the mentions written since `since`."""
    cases = cases_since(session, since=since)
    times = [case_times(c) for c in cases]
    first = [t.first_response.total_seconds() for t in times if t.first_response is not None]
    resolved = [t.resolution.total_seconds() for t in times if t.resolution is not None]
    frt_median, frt_p90 = _summary(first)
    ttr_median, ttr_p90 = _summary(resolved)
    return ResponseMetrics(
        since=since,
        cases=len(cases),
        responded=len(first),
        resolved=len(resolved),
        first_response_median=frt_median,
        first_response_p90=frt_p90,
        resolution_median=ttr_median,
        resolution_p90=ttr_p90,
    )


def mark_responded(
    session: Session,
    *,
    mention_id: int,
    by: str,
    at: datetime | None = None,
    draft_id: int | None = None,
) -> CareCase | None:
    """Record the mention's first response (e.g. when a person approves its reply)."""
    case = record_response(session, mention_id=mention_id, at=at or utcnow(), draft_id=draft_id)
    if case is not None:
        audit(
            session,
            actor=by,
            action="case.responded",
            subject_type="mention",
            subject_id=mention_id,
            details={"draft_id": draft_id},
        )
    return case


def mark_resolved(
    session: Session,
    *,
    mention_id: int,
    by: str,
    at: datetime | None = None,
    resolution: str | None = None,
) -> CareCase | None:
    """Mark the mention's case resolved, once; None when the mention has no case."""
    case = get_case(session, mention_id=mention_id)
    if case is None or case.resolved_at is not None:
        return case
    resolve_case(session, mention_id=mention_id, by=by, at=at, resolution=resolution)
    audit(
        session,
        actor=by,
        action="case.resolved",
        subject_type="mention",
        subject_id=mention_id,
        details={"resolution": resolution},
    )
    return case
