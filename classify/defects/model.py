"""What goes into the detector (`Complaint`) and what comes out (`Assessment`, `UpdateResult`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

Vector = npt.NDArray[np.float32]
ClusterStatus = Literal["new", "growing", "stable", "resolved", "dismissed"]
STATUSES: tuple[ClusterStatus, ...] = ("new", "growing", "stable", "resolved", "dismissed")


def require_utc(at: datetime, what: str) -> datetime:
    """`at` itself; naive datetimes are refused (a silent local-time guess shifts windows)."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (UTC), got naive {at!r}")
    return at


@dataclass(frozen=True)
class Complaint:
    """One complaint or defect mention of one product, with the classifier's embedding.

    `author` is any stable key of the writer (e.g. the author id as text); mentions without
    an author should pass a key unique to the mention, so they count as distinct authors
    only if the caller accepts that. `vector` is the L2-normalised float32 embedding.
    """

    mention_id: int
    product: str
    at: datetime
    author: str
    source: str
    text: str
    vector: Vector
    language: str | None = None


@dataclass(frozen=True)
class ProductRates:
    """A product's usual complaint volume, measured by the caller before the recent window."""

    complaints_per_day: float
    """Complaint mentions of the product per day over its baseline period."""
    days: float = 0.0
    """Length of that baseline period (0 when the product has just launched)."""
    blind: tuple[tuple[int, int], ...] = ()
    """Hours (as [start, end) hour indexes since the epoch) when a source was not heard
    from: a cluster's own pace is measured without them, so a gap is not read as calm."""

    def blind_hours(self, start: int, end: int) -> int:
        """Hours of [start, end) inside a blind window (overlaps counted once)."""
        hours: set[int] = set()
        for a, b in self.blind:
            hours.update(range(max(a, start), min(b, end)))
        return len(hours)


@dataclass(frozen=True)
class Sample:
    """A member mention kept as evidence."""

    mention_id: int
    text: str
    at: datetime
    author: str
    source: str


@dataclass(frozen=True)
class Measures:
    """A cluster's numbers at the time of an update (the reasons behind an assessment)."""

    size: int
    """Members, every post counted."""
    counted: int
    """Members with at most `max_posts_per_author` posts per author."""
    authors: int
    """Distinct authors."""
    recent: int
    """Counted members in the last `window_hours`."""
    previous: int
    """Counted members in the window before that."""
    growth: float
    """(recent + 1) / (previous + 1)."""
    product_recent: int
    """The product's complaints in the last window (every cluster of the product)."""
    expected: float
    """Members expected in the window: the larger of what an ordinary theme of this
    product would get and the cluster's own pace before both windows."""
    own_expected: float
    """The cluster's own pace before both windows, as members per window."""
    rate_ratio: float
    """recent / expected: the burst test passes at `rate_factor`."""
    baseline_ratio: float | None
    """The product's complaints in the window over its baseline (`ProductRates`), if known."""
    other_products_share: float
    """Largest share of another product's recent complaints held by a similar cluster."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-able."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class Assessment:
    """A cluster's state after an update; `raised_level` set means: alert now."""

    key: str
    product: str
    status: ClusterStatus
    level: int
    """Highest level the cluster has reached so far (0: none)."""
    raised_level: int | None
    """Level reached for the first time in this update: the caller raises one alert for it
    and de-duplicates on (key, level). Levels of one cluster only go up, also after a
    dismissed or resolved cluster alerts again."""
    reasons: tuple[str, ...]
    """Human-readable reasons, e.g. "12 members from 9 authors (level 1 needs 5 and 4)"."""
    measures: Measures
    title: str
    keywords: tuple[str, ...]
    representatives: tuple[Sample, ...]
    sources: dict[str, int]
    daily: dict[str, int]
    """Counted members per UTC day (ISO date), oldest first: growth over time."""
    first_at: datetime
    last_at: datetime

    def evidence(self) -> dict[str, Any]:
        """The JSON document an Alert stores as its evidence."""
        return {
            "keywords": list(self.keywords),
            "representatives": [
                {"mention_id": s.mention_id, "text": s.text, "at": s.at.isoformat()}
                for s in self.representatives
            ],
            "size": self.measures.size,
            "authors": self.measures.authors,
            "growth": {
                "recent": self.measures.recent,
                "previous": self.measures.previous,
                "ratio": self.measures.growth,
                "daily": self.daily,
            },
            "sources": self.sources,
            "measures": self.measures.as_dict(),
            "reasons": list(self.reasons),
            "first_at": self.first_at.isoformat(),
            "last_at": self.last_at.isoformat(),
        }


@dataclass
class UpdateResult:
    """What one `DefectDetector.update` changed."""

    clusters: list[Any]
    """Every live `ClusterState` (new ones included), to be stored by the caller."""
    assessments: list[Assessment] = field(default_factory=list)
    """One per cluster that got members or changed status in this update."""
    assignments: dict[int, str] = field(default_factory=dict)
    """mention id -> key of the cluster it joined (after merges)."""
    merged: dict[str, str] = field(default_factory=dict)
    """key of a cluster absorbed in this update -> key of the cluster that absorbed it."""
    expired: list[str] = field(default_factory=list)
    """Keys of small, never-alerted, quiet clusters dropped from the live set."""
    rejected: dict[int, str] = field(default_factory=dict)
    """mention id -> why the complaint was left out (bad vector, time after `now`, ...)."""

    @property
    def alerts(self) -> list[Assessment]:
        """Assessments that reached a new level in this update."""
        return [a for a in self.assessments if a.raised_level is not None]
