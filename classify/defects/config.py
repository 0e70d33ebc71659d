"""How the defect detector groups complaints and when a group becomes an alert."""

from __future__ import annotations

import itertools
from dataclasses import dataclass


@dataclass(frozen=True)
class DefectConfig:
    """Thresholds of the defect detector; defaults chosen by `benchmarks/defects.py`.

    Sizes are counted per author with a cap (`max_posts_per_author`), so one person posting
    twenty times adds at most that many to a cluster's size and one to its authors.
    """

    # Grouping.
    similarity: float = 0.70
    """Mean cosine similarity to a cluster's members at which a complaint joins it
    (average linkage; tuned for the default `concat` encoder, where two unrelated
    complaints score about 0.5)."""
    merge_similarity: float = 0.72
    """Two clusters of one product whose members are this similar on average become one."""
    related_similarity: float = 0.66
    """A cluster that has alerted (and was not dismissed) absorbs a cluster of its product
    whose members are this similar to its own on average: one fault found in pieces gives
    one alert that grows, not one alert per piece."""

    # Level 1 (the first alert) and the escalations after it.
    min_size: int = 3
    """Counted members (see `max_posts_per_author`) a cluster needs for level 1."""
    min_authors: int = 3
    """Distinct authors a cluster needs for level 1."""
    escalation_factors: tuple[float, ...] = (1.0, 3.0, 10.0)
    """Level n needs `escalation_factors[n-1]` times `min_size` and `min_authors`."""
    max_posts_per_author: int = 2
    """Posts of one author counted towards a cluster's size and its recent rate."""

    # The burst test: is the cluster's recent rate unusual for a theme of this product?
    window_hours: float = 36.0
    """Recent window for the rate, the growth and the product's complaint volume."""
    background_share: float = 0.02
    """Share of a product's complaints one ordinary theme is assumed to hold at most."""
    rate_factor: float = 2.0
    """Recent members must exceed this many times the expected count for the theme."""
    min_recent: int = 3
    """Counted members in the recent window a cluster needs to alert (at most the
    level-1 size): slow themes that reach the size over weeks are not outbreaks."""
    growth_factor: float = 2.0
    """A cluster is `growing` when its recent window holds this many times the previous."""

    # Lifecycle.
    resolve_after_days: float = 7.0
    """A cluster with no new member for this long becomes `resolved` (re-opens on the next)."""
    forget_after_days: float = 14.0
    """Clusters below level-1 size, never alerted, quiet this long are dropped (`expired`)."""
    max_clusters_per_product: int = 5000
    """Live clusters kept per product; the quietest small ones are dropped beyond it."""
    dismissed_factor: float = 3.0
    """A dismissed cluster alerts again only once its size reaches this times its size
    when it was dismissed."""

    # Evidence.
    representatives: int = 5
    """Mentions closest to the centroid reported as examples."""
    keywords: int = 8
    """Keywords (c-TF-IDF) kept per cluster."""
    max_samples: int = 16
    """Member vectors kept per cluster to choose the representatives."""
    max_terms: int = 200
    """Term counts kept per cluster for its keywords."""
    max_tracked_authors: int = 1024
    """Authors remembered per cluster (enough for any threshold; beyond, each new member
    is counted as a new author)."""
    history_days: int = 90
    """Days of daily counts kept per cluster (growth over time)."""

    # Names and keywords.
    ignore_words: frozenset[str] = frozenset()
    """Words never used as keywords: the brand's and its products' own names (case-folded)."""
    product_names: tuple[str, ...] = ()
    """Every product's name, to name a trigger such as "with Acme Buds"."""
    languages: tuple[tuple[str, str], ...] = ()
    """(product, language) pairs: clusters are named in their team's language (en, it);
    products not listed are named in English."""

    def language_of(self, product: str) -> str:
        """The language a product's clusters are named in."""
        return dict(self.languages).get(product, "en")

    def __post_init__(self) -> None:
        sims = (self.similarity, self.merge_similarity, self.related_similarity)
        if not all(0.0 < s <= 1.0 for s in sims):
            raise ValueError("similarity thresholds must be in (0, 1]")
        if self.related_similarity > self.similarity:
            raise ValueError("related_similarity must be at most similarity")
        if min(self.min_size, self.min_authors, self.max_posts_per_author, self.min_recent) < 1:
            raise ValueError(
                "min_size, min_authors, max_posts_per_author and min_recent must be >= 1"
            )
        factors = self.escalation_factors
        if not factors or any(b <= a for a, b in itertools.pairwise(factors)):
            raise ValueError("escalation_factors must be non-empty and increasing")
        if self.window_hours <= 0 or self.resolve_after_days <= 0 or self.forget_after_days <= 0:
            raise ValueError("windows and lifetimes must be positive")

    @property
    def levels(self) -> int:
        """How many escalation levels there are."""
        return len(self.escalation_factors)

    def level_size(self, level: int) -> tuple[int, int]:
        """(counted members, distinct authors) needed for `level` (1-based)."""
        factor = self.escalation_factors[min(level, self.levels) - 1]
        return round(self.min_size * factor), round(self.min_authors * factor)
