"""Changing a cluster: a new member, a merge, and keeping every part of it bounded."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np

from classify.defects.config import DefectConfig
from classify.defects.keywords import terms
from classify.defects.model import Complaint, Sample
from classify.defects.state import ClusterState, author_hash, cluster_key, hour_index


def new_cluster(complaint: Complaint, now: datetime) -> ClusterState:
    """An empty cluster keyed by its first member (add it with `add_member`)."""
    dim = int(complaint.vector.shape[0])
    return ClusterState(
        key=cluster_key(complaint.product, complaint.mention_id),
        product=complaint.product,
        dim=dim,
        vector_sum=np.zeros(dim, dtype=np.float32),
        created_at=now,
        first_at=complaint.at,
        last_at=complaint.at,
        sample_vectors=np.zeros((0, dim), dtype=np.float32),
    )


def add_member(state: ClusterState, complaint: Complaint, config: DefectConfig) -> None:
    """Fold one complaint into `state`'s counts, vectors, terms and samples."""
    state.vector_sum += complaint.vector
    state.size += 1
    state.first_at = min(state.first_at, complaint.at)
    state.last_at = max(state.last_at, complaint.at)
    author = author_hash(complaint.author)
    posts = state.author_counts.get(author)
    if posts is None and len(state.author_counts) >= config.max_tracked_authors:
        state.untracked_authors += 1
        counts = True
    else:
        counts = (posts or 0) < config.max_posts_per_author
        state.author_counts[author] = (posts or 0) + 1
    if counts:
        state.counted += 1
        hour = hour_index(complaint.at)
        state.hourly[hour] = state.hourly.get(hour, 0) + 1
        day = complaint.at.date().isoformat()
        state.daily[day] = state.daily.get(day, 0) + 1
    _bump(state.sources, complaint.source)
    if complaint.language:
        _bump(state.languages, complaint.language)
    for term in terms(complaint.text):
        _bump(state.terms, term)
    if len(state.terms) > config.max_terms * 3 // 2:
        state.terms = _top(state.terms, config.max_terms)
    sample = Sample(
        complaint.mention_id, complaint.text, complaint.at, complaint.author, complaint.source
    )
    _keep_sample(state, sample, complaint.vector, config.max_samples)


def remove_member(state: ClusterState, complaint: Complaint, config: DefectConfig) -> None:
    """Take one member back out of `state` (a person said it is no complaint of the product).

    The inverse of `add_member` as far as the state remembers: its vector, counts, source,
    language, terms and sample go. `first_at` and `last_at` stay: they still bound the
    remaining members closely enough for the windows, and are not kept per member.
    """
    vector = np.asarray(complaint.vector, dtype=np.float32)
    norm = float(np.linalg.norm(vector)) if vector.ndim == 1 else 0.0
    if vector.shape == (state.dim,) and norm > 0.0:
        # The detector sums unit vectors, so the same one is taken away.
        state.vector_sum -= vector / norm
    state.size = max(state.size - 1, 0)
    author = author_hash(complaint.author)
    posts = state.author_counts.get(author)
    if posts is None:
        counted = state.untracked_authors > 0
        state.untracked_authors = max(state.untracked_authors - 1, 0)
    else:
        # Only an author's first `max_posts_per_author` posts counted, and which ones is not
        # kept: the count goes down only when every post of the author counted.
        counted = posts <= config.max_posts_per_author
        if posts > 1:
            state.author_counts[author] = posts - 1
        else:
            del state.author_counts[author]
    if counted:
        state.counted = max(state.counted - 1, 0)
        _drop(state.hourly, hour_index(complaint.at))
        _drop(state.daily, complaint.at.date().isoformat())
    _drop(state.sources, complaint.source)
    if complaint.language:
        _drop(state.languages, complaint.language)
    for term in terms(complaint.text):
        _drop(state.terms, term)
    kept = [i for i, s in enumerate(state.samples) if s.mention_id != complaint.mention_id]
    if len(kept) != len(state.samples):
        state.samples = [state.samples[i] for i in kept]
        state.sample_vectors = state.sample_vectors.reshape(-1, state.dim)[kept].copy()


def merge_into(survivor: ClusterState, absorbed: ClusterState, config: DefectConfig) -> None:
    """Fold `absorbed` into `survivor`; a dismissal on either side carries over."""
    survivor.vector_sum += absorbed.vector_sum
    survivor.size += absorbed.size
    survivor.counted += absorbed.counted
    survivor.first_at = min(survivor.first_at, absorbed.first_at)
    survivor.last_at = max(survivor.last_at, absorbed.last_at)
    survivor.created_at = min(survivor.created_at, absorbed.created_at)
    for author, n in absorbed.author_counts.items():
        if author in survivor.author_counts:
            survivor.author_counts[author] += n
        elif len(survivor.author_counts) < config.max_tracked_authors:
            survivor.author_counts[author] = n
        else:
            survivor.untracked_authors += 1
    survivor.untracked_authors += absorbed.untracked_authors
    for mine, theirs in (
        (survivor.sources, absorbed.sources),
        (survivor.languages, absorbed.languages),
        (survivor.terms, absorbed.terms),
        (survivor.daily, absorbed.daily),
    ):
        for name, n in theirs.items():
            mine[name] = mine.get(name, 0) + n
    for hour, n in absorbed.hourly.items():
        survivor.hourly[hour] = survivor.hourly.get(hour, 0) + n
    survivor.terms = _top(survivor.terms, config.max_terms)
    survivor.alert_level = max(survivor.alert_level, absorbed.alert_level)
    survivor.burst_seen = survivor.burst_seen or absorbed.burst_seen
    if absorbed.status == "dismissed":
        was = survivor.dismissed_size if survivor.status == "dismissed" else 0
        survivor.status = "dismissed"
        survivor.status_at = absorbed.status_at
        survivor.dismissed_size = max(was, absorbed.dismissed_size)
    for sample, vector in zip(absorbed.samples, absorbed.sample_vectors, strict=True):
        _keep_sample(survivor, sample, vector, config.max_samples)


def trim_history(state: ClusterState, now: datetime, config: DefectConfig) -> None:
    """Drop hourly counts older than two windows and daily counts beyond `history_days`."""
    oldest_hour = hour_index(now - timedelta(hours=2 * config.window_hours)) - 1
    state.hourly = {h: n for h, n in state.hourly.items() if h >= oldest_hour}
    oldest_day = (now - timedelta(days=config.history_days)).date().isoformat()
    state.daily = {d: n for d, n in sorted(state.daily.items()) if d >= oldest_day}


def _keep_sample(state: ClusterState, sample: Sample, vector: np.ndarray, limit: int) -> None:
    """Keep at most `limit` samples, preferring those closest to the current centroid."""
    row = vector.astype(np.float32).reshape(1, state.dim)
    if len(state.samples) < limit:
        state.samples.append(sample)
        state.sample_vectors = np.concatenate([state.sample_vectors.reshape(-1, state.dim), row])
        return
    centroid = state.centroid
    sims = state.sample_vectors @ centroid
    worst = int(np.argmin(sims))
    if float(row[0] @ centroid) > float(sims[worst]):
        state.samples[worst] = sample
        state.sample_vectors[worst] = row[0]


def _drop(counts: dict[Any, int], name: Any) -> None:
    left = counts.get(name, 0) - 1
    if left > 0:
        counts[name] = left
    else:
        counts.pop(name, None)


def _bump(counts: dict[str, int], name: str) -> None:
    counts[name] = counts.get(name, 0) + 1


def _top(counts: dict[str, int], k: int) -> dict[str, int]:
    if len(counts) <= k:
        return counts
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:k]
    return dict(ranked)
