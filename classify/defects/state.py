"""A cluster's whole memory, small and bounded, serialisable to JSON plus one bytes blob."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from classify.defects.model import STATUSES, ClusterStatus, Sample, Vector, require_utc

FORMAT = 1
_KEYS = uuid.UUID("6f1d2c1e-4a5b-4c3d-9e8f-0a1b2c3d4e5f")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def cluster_key(product: str, first_mention_id: int) -> str:
    """A cluster's identity: derived from its product and first member, stable across runs."""
    return uuid.uuid5(_KEYS, f"{product}\x1f{first_mention_id}").hex


def hour_index(at: datetime) -> int:
    """Whole hours since the Unix epoch (UTC)."""
    return int((at - _EPOCH) // timedelta(hours=1))


def author_hash(author: str) -> str:
    """A short digest, so cluster state holds no handles."""
    return hashlib.blake2b(author.encode("utf-8", "replace"), digest_size=8).hexdigest()


@dataclass
class ClusterState:
    """One group of similar complaints of one product, as the detector remembers it.

    Store `to_json()` (a JSON-able dict) and `vectors_bytes()` (float32: the sum of the
    members' vectors, then the kept samples' vectors); rebuild with `from_json(data, blob)`.
    Call `dismiss` / `resolve` when a person acts on the cluster's alert.
    """

    key: str
    product: str
    dim: int
    vector_sum: Vector
    created_at: datetime
    first_at: datetime
    last_at: datetime
    size: int = 0
    counted: int = 0
    author_counts: dict[str, int] = field(default_factory=dict)
    untracked_authors: int = 0
    hourly: dict[int, int] = field(default_factory=dict)
    daily: dict[str, int] = field(default_factory=dict)
    sources: dict[str, int] = field(default_factory=dict)
    languages: dict[str, int] = field(default_factory=dict)
    terms: dict[str, int] = field(default_factory=dict)
    keywords: list[str] = field(default_factory=list)
    title: str = ""
    samples: list[Sample] = field(default_factory=list)
    sample_vectors: Vector = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    status: ClusterStatus = "new"
    status_at: datetime | None = None
    alert_level: int = 0
    """Highest level alerted so far (0: never)."""
    burst_seen: bool = False
    """The burst test has passed at least once: only such clusters alert."""
    dismissed_size: int = 0
    """`counted` when the cluster was dismissed."""
    reopened_at: datetime | None = None
    reopened_counted: int = 0
    """`counted` when the cluster re-opened after being resolved."""

    # -- derived -------------------------------------------------------------------------

    @property
    def centroid(self) -> Vector:
        """Unit-length mean direction of the members."""
        norm = float(np.linalg.norm(self.vector_sum))
        out: Vector = (self.vector_sum / max(norm, 1e-12)).astype(np.float32, copy=False)
        return out

    @property
    def authors(self) -> int:
        """Distinct authors (exact up to `max_tracked_authors`)."""
        return len(self.author_counts) + self.untracked_authors

    @property
    def language(self) -> str | None:
        """The members' most common language, if known."""
        if not self.languages:
            return None
        return max(sorted(self.languages), key=lambda k: self.languages[k])

    def count_between(self, start: datetime, end: datetime) -> int:
        """Counted members with start <= time < end (hour resolution)."""
        lo, hi = hour_index(start), hour_index(end)
        return sum(n for h, n in self.hourly.items() if lo <= h < hi)

    def representatives(self, k: int) -> list[Sample]:
        """The `k` kept samples closest to the centroid, closest first."""
        if not self.samples:
            return []
        sims = self.sample_vectors @ self.centroid
        order = np.argsort(-sims, kind="stable")[:k]
        return [self.samples[int(i)] for i in order]

    # -- actions by people ----------------------------------------------------------------

    def dismiss(self, at: datetime) -> None:
        """Not a defect: keep absorbing similar complaints, alert only on a large escalation."""
        self.status = "dismissed"
        self.status_at = require_utc(at, "at")
        self.dismissed_size = self.counted

    def resolve(self, at: datetime) -> None:
        """Fixed: the cluster re-opens (and may alert again) when complaints resume."""
        self.status = "resolved"
        self.status_at = require_utc(at, "at")

    # -- storage ---------------------------------------------------------------------------

    def vectors_bytes(self) -> bytes:
        """float32 rows: the vector sum, then one row per kept sample."""
        rows = [self.vector_sum.reshape(1, self.dim)]
        if len(self.samples):
            rows.append(self.sample_vectors.reshape(len(self.samples), self.dim))
        return np.concatenate(rows).astype("<f4").tobytes()

    def to_json(self) -> dict[str, Any]:
        """Everything but the vectors, as JSON-able values."""

        def iso(at: datetime | None) -> str | None:
            return at.isoformat() if at else None

        return {
            "format": FORMAT,
            "key": self.key,
            "product": self.product,
            "dim": self.dim,
            "created_at": iso(self.created_at),
            "first_at": iso(self.first_at),
            "last_at": iso(self.last_at),
            "size": self.size,
            "counted": self.counted,
            "author_counts": self.author_counts,
            "untracked_authors": self.untracked_authors,
            "hourly": {str(h): n for h, n in self.hourly.items()},
            "daily": self.daily,
            "sources": self.sources,
            "languages": self.languages,
            "terms": self.terms,
            "keywords": self.keywords,
            "title": self.title,
            "samples": [
                {
                    "mention_id": s.mention_id,
                    "text": s.text,
                    "at": iso(s.at),
                    "author": s.author,
                    "source": s.source,
                }
                for s in self.samples
            ],
            "status": self.status,
            "status_at": iso(self.status_at),
            "alert_level": self.alert_level,
            "burst_seen": self.burst_seen,
            "dismissed_size": self.dismissed_size,
            "reopened_at": iso(self.reopened_at),
            "reopened_counted": self.reopened_counted,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], vectors: bytes) -> ClusterState:
        """The inverse of `to_json` + `vectors_bytes`; refuses unknown formats and bad blobs."""
        if data.get("format") != FORMAT:
            raise ValueError(f"unknown cluster state format {data.get('format')!r}")
        if data["status"] not in STATUSES:
            raise ValueError(f"unknown cluster status {data['status']!r}")
        dim = int(data["dim"])
        samples = [
            Sample(
                mention_id=int(s["mention_id"]),
                text=str(s["text"]),
                at=_dt(s["at"]),
                author=str(s["author"]),
                source=str(s["source"]),
            )
            for s in data["samples"]
        ]
        flat = np.frombuffer(vectors, dtype="<f4")
        if flat.size != dim * (1 + len(samples)):
            raise ValueError(
                f"cluster {data['key']}: vector blob has {flat.size} floats, "
                f"expected {dim * (1 + len(samples))}"
            )
        rows = flat.reshape(1 + len(samples), dim).astype(np.float32)
        return cls(
            key=str(data["key"]),
            product=str(data["product"]),
            dim=dim,
            vector_sum=rows[0].copy(),
            created_at=_dt(data["created_at"]),
            first_at=_dt(data["first_at"]),
            last_at=_dt(data["last_at"]),
            size=int(data["size"]),
            counted=int(data["counted"]),
            author_counts={str(k): int(v) for k, v in data["author_counts"].items()},
            untracked_authors=int(data["untracked_authors"]),
            hourly={int(h): int(n) for h, n in data["hourly"].items()},
            daily={str(d): int(n) for d, n in data["daily"].items()},
            sources={str(k): int(v) for k, v in data["sources"].items()},
            languages={str(k): int(v) for k, v in data["languages"].items()},
            terms={str(k): int(v) for k, v in data["terms"].items()},
            keywords=[str(k) for k in data["keywords"]],
            title=str(data["title"]),
            samples=samples,
            sample_vectors=rows[1:].copy(),
            status=data["status"],
            status_at=_opt_dt(data["status_at"]),
            alert_level=int(data["alert_level"]),
            burst_seen=bool(data["burst_seen"]),
            dismissed_size=int(data["dismissed_size"]),
            reopened_at=_opt_dt(data["reopened_at"]),
            reopened_counted=int(data["reopened_counted"]),
        )


def _dt(value: str) -> datetime:
    return require_utc(datetime.fromisoformat(value), "stored time")


def _opt_dt(value: str | None) -> datetime | None:
    return _dt(value) if value else None
