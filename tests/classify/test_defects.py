"""The defect detector as a library: thresholds, identity across runs, alerts once, lifecycle."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from classify.defects import (
    ClusterState,
    Complaint,
    DefectConfig,
    DefectDetector,
    ProductRates,
    UpdateResult,
)

DIM = 32
LAUNCH = datetime(2025, 3, 1, 9, tzinfo=UTC)
_ids = iter(range(1, 10**9))


def theme(seed: int) -> np.ndarray:
    """A random direction; different seeds are nearly orthogonal in 32 dimensions."""
    v = np.random.default_rng(seed).normal(size=DIM)
    return (v / np.linalg.norm(v)).astype(np.float32)


def near(direction: np.ndarray, rng: np.random.Generator, spread: float) -> np.ndarray:
    v = direction + rng.normal(scale=spread, size=DIM)
    return (v / np.linalg.norm(v)).astype(np.float32)


def complaints(
    n: int,
    direction: np.ndarray,
    *,
    start: datetime,
    every: timedelta = timedelta(minutes=30),
    product: str = "tab",
    authors: list[str] | None = None,
    text: str = "the screen flickers after the update",
    seed: int = 0,
    spread: float = 0.08,
) -> list[Complaint]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        mention_id = next(_ids)
        out.append(
            Complaint(
                mention_id=mention_id,
                product=product,
                at=start + i * every,
                author=(authors[i % len(authors)] if authors else f"user{mention_id}"),
                source="reviews" if i % 2 else "mastodon",
                text=text,
                vector=near(direction, rng, spread),
            )
        )
    return out


def noise(
    n: int,
    *,
    start: datetime,
    product: str = "tab",
    seed: int = 99,
    every: timedelta = timedelta(minutes=7),
) -> list[Complaint]:
    """Unrelated complaints: each on its own theme."""
    return [
        c
        for i in range(n)
        for c in complaints(
            1,
            theme(1000 * seed + i),
            start=start + i * every,
            product=product,
            text=f"something else number {i}",
        )
    ]


def run(
    detector: DefectDetector,
    states: list[ClusterState],
    batch: list[Complaint],
    now: datetime,
    **kwargs: object,
) -> tuple[list[ClusterState], UpdateResult]:
    """One update, then a round trip through JSON and bytes, as the caller's storage does."""
    result = detector.update(states, batch, now=now, **kwargs)  # type: ignore[arg-type]
    stored = [(json.dumps(s.to_json()), s.vectors_bytes()) for s in result.clusters]
    return [ClusterState.from_json(json.loads(d), b) for d, b in stored], result


def alerts(result: UpdateResult) -> list[tuple[str, int]]:
    return [(a.key, a.raised_level) for a in result.alerts if a.raised_level is not None]


def test_one_angry_person_posting_twenty_times_is_not_an_outbreak() -> None:
    detector = DefectDetector()
    batch = complaints(20, theme(1), start=LAUNCH, authors=["angry"])
    states, result = run(detector, [], batch, LAUNCH + timedelta(hours=10))
    assert len(states) == 1
    assert not result.alerts
    (a,) = result.assessments
    assert (a.measures.size, a.measures.counted, a.measures.authors) == (20, 2, 1)
    assert any("18 repeated posts" in r for r in a.reasons)


def test_level_one_needs_min_size_and_min_authors() -> None:
    config = DefectConfig(min_size=5, min_authors=4)
    detector = DefectDetector(config)
    # Five posts by three authors: big enough, too few people.
    few = complaints(5, theme(2), start=LAUNCH, authors=["a", "b", "c"])
    states, result = run(detector, [], few, LAUNCH + timedelta(hours=3))
    assert not result.alerts
    # A fourth author arrives: level 1, once.
    more = complaints(1, theme(2), start=LAUNCH + timedelta(hours=4), authors=["d"], seed=1)
    states, result = run(detector, states, more, LAUNCH + timedelta(hours=5))
    assert alerts(result) == [(states[0].key, 1)]
    # a, b, c, a, b, d: at most two posts per author count.
    assert "6 members from 4 authors" in result.alerts[0].reasons[0]
    later = complaints(2, theme(2), start=LAUNCH + timedelta(hours=6), seed=2)
    states, result = run(detector, states, later, LAUNCH + timedelta(hours=7))
    assert not result.alerts
    assert result.assessments[0].level == 1


def test_a_growing_group_keeps_its_key_and_escalates_once_per_level() -> None:
    detector = DefectDetector(DefectConfig(min_size=5, min_authors=4))
    direction = theme(3)
    states: list[ClusterState] = []
    raised: list[tuple[str, int]] = []
    keys = set()
    for hour in range(12):
        start = LAUNCH + timedelta(hours=hour)
        batch = complaints(5, direction, start=start, every=timedelta(minutes=10), seed=hour)
        batch += noise(2, start=start, seed=hour)
        states, result = run(detector, states, batch, start + timedelta(hours=1))
        keys.add(result.assignments[batch[0].mention_id])
        raised += alerts(result)
    assert len(keys) == 1, "the group changed identity between runs"
    (key,) = keys
    # 60 members: level 1 at 5, level 2 at 15, level 3 at 50; each raised exactly once.
    assert raised == [(key, 1), (key, 2), (key, 3)]
    assessment = next(a for a in result.assessments if a.key == key)
    assert assessment.measures.size == 60
    assert assessment.level == 3


def test_a_jump_past_several_levels_raises_only_the_highest() -> None:
    detector = DefectDetector(DefectConfig(min_size=5, min_authors=4))
    batch = complaints(20, theme(4), start=LAUNCH, every=timedelta(minutes=5))
    _, result = run(detector, [], batch, LAUNCH + timedelta(hours=2))
    assert [a.raised_level for a in result.alerts] == [2]


def test_a_theme_common_to_every_product_is_not_an_outbreak() -> None:
    """Late-delivery complaints about every product at once: not this product's defect."""
    detector = DefectDetector(DefectConfig(min_size=5, min_authors=4))
    shared, specific = theme(5), theme(6)
    batch: list[Complaint] = []
    for p, product in enumerate(("tab", "phone", "watch")):
        batch += complaints(
            8, shared, start=LAUNCH, every=timedelta(hours=2), product=product, seed=p
        )
        batch += noise(16, start=LAUNCH, product=product, seed=10 + p)
    batch += complaints(8, specific, start=LAUNCH, every=timedelta(hours=2), product="tab")
    _, result = run(detector, [], batch, LAUNCH + timedelta(hours=20))
    (alert,) = result.alerts
    assert alert.product == "tab"
    assert result.assignments[batch[-1].mention_id] == alert.key
    shared_tab = next(
        a for a in result.assessments if a.key == result.assignments[batch[0].mention_id]
    )
    assert shared_tab.measures.other_products_share > 0.2
    assert shared_tab.raised_level is None


def test_a_theme_trickling_in_for_weeks_is_not_an_outbreak_but_a_burst_of_it_is() -> None:
    detector = DefectDetector(
        DefectConfig(min_size=5, min_authors=4, min_recent=4, window_hours=48.0, rate_factor=3.0)
    )
    direction = theme(15)
    states: list[ClusterState] = []
    # One complaint every 30 hours for a month: size and authors pass, the rate never does.
    for day in range(24):
        start = LAUNCH + timedelta(hours=30 * day)
        batch = complaints(1, direction, start=start, seed=day)
        states, result = run(detector, states, batch, start + timedelta(hours=1))
        assert not result.alerts, result.assessments[0].reasons
    (slow,) = result.assessments
    assert slow.measures.counted == 24
    assert slow.measures.recent <= 2
    # Then the same theme at its usual pace plus a burst: five in a day is six times its
    # earlier pace of 1.6 a window.
    later = LAUNCH + timedelta(hours=30 * 24)
    burst = complaints(5, direction, start=later, every=timedelta(hours=4), seed=99)
    states, result = run(detector, states, burst, later + timedelta(hours=20))
    (alert,) = result.alerts
    assert alert.measures.own_expected == pytest.approx(1.6, abs=0.2)
    assert alert.measures.recent >= 4


def test_the_recent_minimum_never_exceeds_the_level_one_size() -> None:
    detector = DefectDetector(DefectConfig(min_size=3, min_authors=3, min_recent=4))
    batch = complaints(3, theme(16), start=LAUNCH)
    _, result = run(detector, [], batch, LAUNCH + timedelta(hours=2))
    assert [a.raised_level for a in result.alerts] == [1]
    assert any("3 recent" in r for r in result.alerts[0].reasons)


def test_dismissed_cluster_absorbs_and_alerts_again_only_after_the_factor() -> None:
    config = DefectConfig(min_size=5, min_authors=4, dismissed_factor=3.0)
    detector = DefectDetector(config)
    direction = theme(7)
    states, result = run(
        detector, [], complaints(6, direction, start=LAUNCH), LAUNCH + timedelta(hours=4)
    )
    (alert,) = result.alerts
    states[0].dismiss(LAUNCH + timedelta(hours=5))
    states, result = run(
        detector,
        states,
        complaints(8, direction, start=LAUNCH + timedelta(hours=6), seed=1),
        LAUNCH + timedelta(hours=11),
    )
    assert not result.alerts
    assert states[0].status == "dismissed"
    assert states[0].counted == 14
    states, result = run(
        detector,
        states,
        complaints(4, direction, start=LAUNCH + timedelta(hours=12), seed=2),
        LAUNCH + timedelta(hours=14),
    )
    # 18 = 3 x 6 (its size when dismissed): alert again, at a new level.
    assert alerts(result) == [(alert.key, 2)]
    assert states[0].status != "dismissed"
    assert any("dismissed at 6" in r for r in result.alerts[0].reasons)


def test_quiet_cluster_resolves_and_reopens_with_a_new_alert() -> None:
    config = DefectConfig(min_size=5, min_authors=4, resolve_after_days=3)
    detector = DefectDetector(config)
    direction = theme(8)
    states, result = run(
        detector, [], complaints(6, direction, start=LAUNCH), LAUNCH + timedelta(hours=4)
    )
    assert alerts(result) == [(states[0].key, 1)]
    later = LAUNCH + timedelta(days=4)
    states, result = run(detector, states, [], later)
    assert [a.status for a in result.assessments] == ["resolved"]
    # Complaints resume: the same cluster re-opens; once they amount to level 1 again, it
    # alerts with the next level.
    back = complaints(3, direction, start=later, seed=1)
    states, result = run(detector, states, back, later + timedelta(hours=2))
    assert states[0].status != "resolved"
    assert not result.alerts
    more = complaints(3, direction, start=later + timedelta(hours=2), seed=2)
    states, result = run(detector, states, more, later + timedelta(hours=4))
    assert alerts(result) == [(states[0].key, 2)]
    assert any("resumed" in r for r in result.alerts[0].reasons)


def test_resolved_by_a_person_is_not_reopened_by_older_complaints() -> None:
    detector = DefectDetector()
    direction = theme(9)
    states, _ = run(
        detector, [], complaints(6, direction, start=LAUNCH), LAUNCH + timedelta(hours=4)
    )
    states[0].resolve(LAUNCH + timedelta(hours=5))
    late_fetched = complaints(1, direction, start=LAUNCH + timedelta(hours=3), seed=1)
    states, _ = run(detector, states, late_fetched, LAUNCH + timedelta(hours=6))
    assert states[0].status == "resolved"
    assert states[0].size == 7


def test_small_quiet_clusters_are_forgotten_and_the_live_set_is_capped() -> None:
    config = DefectConfig(forget_after_days=2, max_clusters_per_product=30)
    detector = DefectDetector(config)
    states, result = run(detector, [], noise(20, start=LAUNCH), LAUNCH + timedelta(hours=3))
    assert len(states) == 20
    states, result = run(
        detector,
        states,
        noise(20, start=LAUNCH + timedelta(days=3), seed=5),
        LAUNCH + timedelta(days=3, hours=3),
    )
    assert len(result.expired) == 20
    assert len(states) == 20
    states, result = run(
        detector,
        states,
        noise(25, start=LAUNCH + timedelta(days=3, hours=4), seed=6),
        LAUNCH + timedelta(days=3, hours=8),
    )
    assert len(states) == 30
    assert len(result.expired) == 15


def test_cost_depends_on_live_clusters_not_on_history() -> None:
    """Comparisons per batch are the same after 2,000 and after 20,000 stored complaints."""
    config = DefectConfig(forget_after_days=1, max_clusters_per_product=200)
    second = timedelta(seconds=1)
    counts = []
    for history in (2_000, 20_000):
        detector = DefectDetector(config)
        states: list[ClusterState] = []
        start = LAUNCH
        for b in range(history // 500):
            start = LAUNCH + timedelta(hours=6 * b)
            batch = noise(250, start=start, seed=b, every=second)
            for k in range(10):  # ten recurring themes, 25 complaints each
                batch += complaints(25, theme(7000 + k), start=start, every=second, seed=b)
            states, _ = run(detector, states, batch, start + timedelta(hours=1))
        detector.comparisons = 0
        start += timedelta(hours=6)
        probe = noise(100, start=start, seed=4242, every=second)
        detector.update(states, probe, now=start + timedelta(hours=1))
        counts.append(detector.comparisons)
    assert counts[1] <= counts[0] * 1.05, counts


def test_bad_complaints_are_left_out_with_a_reason() -> None:
    detector = DefectDetector()
    good = complaints(2, theme(10), start=LAUNCH)
    bad_vector = Complaint(1, "tab", LAUNCH, "x", "web", "t", np.zeros(DIM, dtype=np.float32))
    future = complaints(1, theme(10), start=LAUNCH + timedelta(days=2))[0]
    wrong_dim = Complaint(2, "tab", LAUNCH, "x", "web", "t", np.ones(DIM + 1, dtype=np.float32))
    naive = Complaint(3, "tab", LAUNCH.replace(tzinfo=None), "x", "web", "t", theme(1))
    result = detector.update(
        [], [*good, bad_vector, future, wrong_dim, naive], now=LAUNCH + timedelta(hours=2)
    )
    assert set(result.assignments) == {c.mention_id for c in good}
    assert set(result.rejected) == {1, 2, 3, future.mention_id}
    assert "after now" in result.rejected[future.mention_id]
    assert "33 dimensions" in result.rejected[2]
    with pytest.raises(ValueError, match="timezone"):
        detector.update([], good, now=LAUNCH.replace(tzinfo=None))


def test_clusters_that_grow_together_merge_and_say_so() -> None:
    detector = DefectDetector(DefectConfig(similarity=0.8, merge_similarity=0.85))
    a, b = theme(11), theme(12)
    first = complaints(1, a, start=LAUNCH, spread=0.0) + complaints(1, b, start=LAUNCH, spread=0.0)
    states, result = run(detector, [], first, LAUNCH + timedelta(hours=3))
    assert len(states) == 2
    # Complaints close to each group but leaning towards the other pull the centroids together.
    toward_b, toward_a = a + 0.7 * b, b + 0.7 * a
    bridge = []
    for i in range(30):
        direction = (toward_b if i % 2 else toward_a) / np.linalg.norm(toward_b)
        start = LAUNCH + timedelta(hours=3, minutes=i)
        bridge += complaints(1, direction.astype(np.float32), start=start, spread=0.0)
    states, result = run(detector, states, bridge, LAUNCH + timedelta(hours=20))
    assert len(states) == 1
    (absorbed, survivor), *_ = result.merged.items()
    assert survivor == states[0].key
    assert absorbed != survivor
    assert set(result.assignments.values()) == {survivor}
    assert states[0].size == 32


@pytest.mark.parametrize(("related", "clusters_alerting"), [(0.7, 1), (0.8, 2)])
def test_an_alerted_cluster_absorbs_a_loosely_similar_piece_of_the_same_fault(
    related: float, clusters_alerting: int
) -> None:
    config = DefectConfig(
        similarity=0.8,
        merge_similarity=0.85,
        related_similarity=related,
        min_size=3,
        min_authors=3,
        min_recent=3,
    )
    detector = DefectDetector(config)
    a, b = theme(21), theme(22)
    piece = a + 0.9 * (b - (b @ a) * a)
    piece = (piece / np.linalg.norm(piece)).astype(np.float32)
    assert 0.7 < float(piece @ a) < 0.8
    first = complaints(2, a, start=LAUNCH, spread=0.0) + complaints(
        2, piece, start=LAUNCH, spread=0.0
    )
    states, result = run(detector, [], first, LAUNCH + timedelta(hours=2))
    assert len(states) == 2
    assert not result.alerts
    states, result = run(
        detector,
        states,
        complaints(1, a, start=LAUNCH + timedelta(hours=2), spread=0.0),
        LAUNCH + timedelta(hours=3),
    )
    ((alerted, level),) = alerts(result)
    assert level == 1
    states, result = run(
        detector,
        states,
        complaints(2, piece, start=LAUNCH + timedelta(hours=3), spread=0.0),
        LAUNCH + timedelta(hours=4),
    )
    raised = {alerted} | {key for key, _ in alerts(result)}
    assert len(raised) == clusters_alerting
    if clusters_alerting == 1:
        assert [s.key for s in states] == [alerted]
        assert set(result.merged.values()) == {alerted}
        assert states[0].size == 7


def test_state_refuses_a_blob_of_the_wrong_size() -> None:
    states, _ = run(
        DefectDetector(), [], complaints(3, theme(13), start=LAUNCH), LAUNCH + timedelta(hours=2)
    )
    data = states[0].to_json()
    with pytest.raises(ValueError, match="vector blob"):
        ClusterState.from_json(data, states[0].vectors_bytes()[:-4])
    with pytest.raises(ValueError, match="format"):
        ClusterState.from_json({**data, "format": 99}, states[0].vectors_bytes())


def test_product_baseline_is_reported() -> None:
    detector = DefectDetector(DefectConfig(window_hours=48.0))
    batch = complaints(6, theme(14), start=LAUNCH) + noise(14, start=LAUNCH)
    _, result = run(
        detector, [], batch, LAUNCH + timedelta(hours=4), rates={"tab": ProductRates(5.0, 30)}
    )
    (alert,) = result.alerts
    # 20 complaints in 48 h against a usual 10.
    assert alert.measures.baseline_ratio == pytest.approx(2.0)
    evidence = alert.evidence()
    assert evidence["size"] == 6
    assert evidence["authors"] == 6
    assert evidence["sources"] == {"mastodon": 3, "reviews": 3}
    json.dumps(evidence)
