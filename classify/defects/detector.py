"""Incremental grouping of complaints and the decision to alert."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

import numpy as np

from classify.defects.assess import Context, Windows, assess, window_counts
from classify.defects.config import DefectConfig
from classify.defects.keywords import class_tfidf, make_title
from classify.defects.membership import add_member, merge_into, new_cluster, trim_history
from classify.defects.model import Complaint, ProductRates, UpdateResult, Vector, require_utc
from classify.defects.naming import cluster_name
from classify.defects.state import ClusterState

log = logging.getLogger(__name__)

# Another product's shares are only trusted once it has this many recent complaints.
MIN_OTHER_PRODUCT_COMPLAINTS = 20
# Complaints up to this far after `now` are accepted (clocks of sources drift).
CLOCK_SKEW = timedelta(minutes=5)


class DefectDetector:
    """Groups each product's complaints by meaning and says when a group is an outbreak.

    Pure: no database, no settings. The caller loads the live `ClusterState`s, calls
    `update` with the complaints classified since the last run, stores `result.clusters`,
    deletes `result.expired`, re-points `result.merged`, and raises one alert per
    `result.alerts` entry, de-duplicated on (cluster key, level).
    """

    def __init__(self, config: DefectConfig | None = None) -> None:
        self.config = config or DefectConfig()
        self.comparisons = 0
        """Complaint-to-cluster similarities computed so far (a cost counter)."""

    def update(
        self,
        clusters: Sequence[ClusterState],
        complaints: Sequence[Complaint],
        *,
        now: datetime,
        rates: Mapping[str, ProductRates] | None = None,
    ) -> UpdateResult:
        """Assign `complaints` to clusters (creating, merging, expiring), then assess.

        `clusters` are every live cluster of the watched products (other products' clusters
        make the cross-product comparison; pass all of them); they are updated in place.
        Complaints are processed in time order; a complaint later than `now` or with a bad
        vector is left out and listed in `result.rejected`. The cost depends on the number
        of live clusters and new complaints, not on history. `rates` gives each product's
        usual complaint volume (reported in the measures, never required).
        """
        require_utc(now, "now")
        live: dict[str, ClusterState] = {}
        for state in clusters:
            if state.key in live:
                raise ValueError(f"cluster {state.key} passed twice")
            live[state.key] = state
        result = UpdateResult(clusters=[])
        before = {key: state.status for key, state in live.items()}
        accepted = self._validate(complaints, now, live.values(), result.rejected)
        touched: set[str] = set()
        by_product: dict[str, list[ClusterState]] = {}
        for state in live.values():
            by_product.setdefault(state.product, []).append(state)
        incoming: dict[str, list[Complaint]] = {}
        for complaint in accepted:
            incoming.setdefault(complaint.product, []).append(complaint)
        for product, items in sorted(incoming.items()):
            states = by_product.setdefault(product, [])
            self._assign(states, items, now, touched, result.assignments)
            self._merge(states, touched, result.merged)
        for old in result.merged:
            live.pop(old, None)
            touched.discard(old)
        result.assignments = {m: _follow(k, result.merged) for m, k in result.assignments.items()}
        for product, states in by_product.items():
            self._lifecycle(product, states, now, touched, result.expired)
        for key in result.expired:
            live.pop(key, None)
            touched.discard(key)
        changed = {k for k, s in live.items() if k in before and before[k] != s.status}
        self._describe(by_product, touched)
        self._assess(by_product, touched | changed, now, rates or {}, result)
        result.clusters = [s for product in sorted(by_product) for s in by_product[product]]
        return result

    # -- steps --------------------------------------------------------------------------

    def _validate(
        self,
        complaints: Sequence[Complaint],
        now: datetime,
        states: Iterable[ClusterState],
        rejected: dict[int, str],
    ) -> list[Complaint]:
        dims = {s.dim for s in states}
        seen: set[int] = set()
        out = []
        for c in complaints:
            reason = None
            vector = np.asarray(c.vector, dtype=np.float32)
            norm = float(np.linalg.norm(vector)) if vector.ndim == 1 else 0.0
            if c.at.tzinfo is None or c.at.utcoffset() is None:
                reason = "time without a timezone"
            elif c.at > now + CLOCK_SKEW:
                reason = f"time {c.at.isoformat()} is after now {now.isoformat()}"
            elif vector.ndim != 1 or not np.isfinite(vector).all() or norm == 0.0:
                reason = "vector is not a finite, non-zero 1-d array"
            elif dims and vector.shape[0] not in dims:
                reason = f"vector has {vector.shape[0]} dimensions, clusters have {sorted(dims)}"
            elif not c.product:
                reason = "no product"
            elif c.mention_id in seen:
                reason = "mention passed twice"
            if reason:
                rejected[c.mention_id] = reason
                continue
            seen.add(c.mention_id)
            dims.add(vector.shape[0])
            if abs(norm - 1.0) > 1e-3 or vector is not c.vector:
                c = _with_vector(c, vector / norm)
            out.append(c)
        if rejected:
            log.warning("defect detector left out %d complaints", len(rejected))
        return sorted(out, key=lambda c: (c.at, c.mention_id))

    def _assign(
        self,
        states: list[ClusterState],
        items: list[Complaint],
        now: datetime,
        touched: set[str],
        assignments: dict[int, str],
    ) -> None:
        """Online average linkage: join the cluster whose members are most similar on average
        (at least `similarity`, or `related_similarity` for a cluster that alerted).

        The mean similarity of a vector to a cluster's members is its dot product with the
        members' vector sum over their number, so one matrix product per batch suffices.
        """
        config = self.config
        x = np.stack([c.vector for c in items])
        existing = len(states)
        if existing:
            means = np.stack([s.vector_sum / s.size for s in states])
            sims = x @ means.T
            self.comparisons += sims.size
            best = sims.argmax(axis=1)
            best_sim = sims[np.arange(len(items)), best]
        fresh = np.zeros((len(items), x.shape[1]), dtype=np.float32)
        n_fresh = 0
        fresh_rows: dict[str, int] = {}
        for i, complaint in enumerate(items):
            target, score = None, -1.0
            if existing:
                target, score = states[int(best[i])], float(best_sim[i])
            if n_fresh:
                fresh_sims = fresh[:n_fresh] @ x[i]
                self.comparisons += n_fresh
                j = int(fresh_sims.argmax())
                if float(fresh_sims[j]) > score:
                    target, score = states[existing + j], float(fresh_sims[j])
            if target is None or score < _threshold(target, config):
                target = new_cluster(complaint, now)
                states.append(target)
                fresh_rows[target.key] = n_fresh
                n_fresh += 1
            if target.status == "resolved" and (
                target.status_at is None or complaint.at > target.status_at
            ):
                target.status, target.status_at = "stable", now
                if target.alert_level > 0:
                    target.reopened_at, target.reopened_counted = complaint.at, target.counted
            add_member(target, complaint, config)
            if target.key in fresh_rows:
                fresh[fresh_rows[target.key]] = target.vector_sum / target.size
            touched.add(target.key)
            assignments[complaint.mention_id] = target.key

    def _merge(self, states: list[ClusterState], touched: set[str], merged: dict[str, str]) -> None:
        """Join clusters whose members became similar on average (one pass per update).

        An alerted cluster joins with a looser threshold (`related_similarity`), so the
        pieces of one fault end in the cluster that already alerted.
        """
        moved = [i for i, s in enumerate(states) if s.key in touched and s.size > 1]
        if not moved or len(states) < 2:
            return
        config = self.config
        means = np.stack([s.vector_sum / s.size for s in states])
        sims = means[moved] @ means.T
        self.comparisons += sims.size
        alerted = np.array([_alerted(s) for s in states])
        pairs: set[tuple[float, int, int]] = set()
        for row, i in enumerate(moved):
            loose = alerted | alerted[i]
            joins = (sims[row] >= config.merge_similarity) | (
                loose & (sims[row] >= config.related_similarity)
            )
            for j in map(int, np.flatnonzero(joins)):
                if j != i:
                    pairs.add((float(sims[row, j]), min(i, j), max(i, j)))
        gone: set[int] = set()
        for _, i, j in sorted(pairs, reverse=True):
            if i in gone or j in gone:
                continue
            keep, drop = sorted((i, j), key=lambda k: _seniority(states[k]))
            merge_into(states[keep], states[drop], config)
            merged[states[drop].key] = states[keep].key
            touched.add(states[keep].key)
            gone.add(drop)
        states[:] = [s for k, s in enumerate(states) if k not in gone]

    def _lifecycle(
        self,
        product: str,
        states: list[ClusterState],
        now: datetime,
        touched: set[str],
        expired: list[str],
    ) -> None:
        """Resolve quiet clusters, forget small stale ones, keep the live set bounded."""
        config = self.config
        quiet = now - timedelta(days=config.resolve_after_days)
        stale = now - timedelta(days=config.forget_after_days)
        first_size, _ = config.level_size(1)
        keep: list[ClusterState] = []
        small: list[ClusterState] = []
        for state in states:
            protected = state.alert_level > 0 or state.status == "dismissed"
            if not protected and state.counted < first_size:
                if state.last_at < stale:
                    expired.append(state.key)
                    continue
                small.append(state)
            if state.status not in ("resolved", "dismissed") and state.last_at < quiet:
                state.status, state.status_at = "resolved", now
            if state.key in touched:
                trim_history(state, now, config)
            keep.append(state)
        excess = len(keep) - config.max_clusters_per_product
        if excess > 0:
            small.sort(key=lambda s: (s.last_at, s.counted))
            dropped = {s.key for s in small[:excess]}
            expired.extend(sorted(dropped))
            keep = [s for s in keep if s.key not in dropped]
            log.info("product %s: %d small clusters dropped over the cap", product, len(dropped))
        states[:] = keep

    def _describe(self, by_product: dict[str, list[ClusterState]], touched: set[str]) -> None:
        """Keywords (c-TF-IDF over the product's clusters) and title of changed clusters."""
        config = self.config
        for states in by_product.values():
            targets = [i for i, s in enumerate(states) if s.key in touched]
            if not targets:
                continue
            # The brand's own names are in every cluster: never a keyword.
            wanted = config.keywords + len(config.ignore_words)
            found = class_tfidf([s.terms for s in states], targets, wanted)
            for i, ranked in zip(targets, found, strict=True):
                state = states[i]
                keywords = [k for k in ranked if k not in config.ignore_words][: config.keywords]
                state.keywords = keywords
                texts = [sample.text for sample in state.samples]
                state.title = cluster_name(
                    state.product,
                    texts,
                    language=config.language_of(state.product),
                    keywords=keywords,
                    other_products=[p for p in config.product_names if p != state.product],
                ) or make_title(keywords, state.representatives(config.representatives))

    def _assess(
        self,
        by_product: dict[str, list[ClusterState]],
        keys: set[str],
        now: datetime,
        rates: Mapping[str, ProductRates],
        result: UpdateResult,
    ) -> None:
        config = self.config
        windows = Windows.at(now, config)
        counts: dict[str, tuple[int, int]] = {}
        recent: dict[str, int] = {}
        volume: dict[str, int] = {}
        # Clusters quiet for two windows need no counting (most of a large live set).
        quiet = now - timedelta(hours=2 * config.window_hours + 1)
        for product, states in by_product.items():
            for s in states:
                counts[s.key] = (0, 0) if s.last_at < quiet else window_counts(s, windows)
                recent[s.key] = counts[s.key][0]
            volume[product] = sum(recent[s.key] for s in states)
        # Similar themes of other products: their share of that product's recent complaints.
        others = [
            s
            for product, states in by_product.items()
            if volume[product] >= MIN_OTHER_PRODUCT_COMPLAINTS
            for s in states
            if recent[s.key] >= 2
        ]
        other_means = np.stack([s.vector_sum / s.size for s in others]) if others else None
        other_shares = np.array([recent[s.key] / volume[s.product] for s in others])
        other_products = np.array([s.product for s in others], dtype=object)
        for product, states in sorted(by_product.items()):
            for state in states:
                if state.key not in keys:
                    continue
                share = 0.0
                if other_means is not None:
                    sims = other_means @ (state.vector_sum / state.size)
                    self.comparisons += sims.size
                    mask = (sims >= config.similarity) & (other_products != product)
                    if mask.any():
                        share = float(other_shares[mask].max())
                ctx = Context(now, volume[product], share, rates.get(product), *counts[state.key])
                result.assessments.append(assess(state, ctx, config))


def _alerted(state: ClusterState) -> bool:
    return state.alert_level > 0 and state.status != "dismissed"


def _threshold(state: ClusterState, config: DefectConfig) -> float:
    """Similarity a complaint needs to join `state`: looser for a cluster that alerted."""
    return config.related_similarity if _alerted(state) else config.similarity


def _seniority(state: ClusterState) -> tuple[int, int, int, datetime, str]:
    """Sort key: the cluster that survives a merge first (alerted, dismissed, bigger, older)."""
    return (
        -state.alert_level,
        0 if state.status == "dismissed" else 1,
        -state.counted,
        state.first_at,
        state.key,
    )


def _follow(key: str, merged: Mapping[str, str]) -> str:
    while key in merged:
        key = merged[key]
    return key


def _with_vector(c: Complaint, vector: Vector) -> Complaint:
    return Complaint(
        mention_id=c.mention_id,
        product=c.product,
        at=c.at,
        author=c.author,
        source=c.source,
        text=c.text,
        vector=vector.astype(np.float32),
        language=c.language,
    )
