"""From a cluster's counts to its status, its level and whether to alert now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from classify.defects.config import DefectConfig
from classify.defects.model import Assessment, ClusterStatus, Measures, ProductRates
from classify.defects.state import ClusterState, hour_index


@dataclass(frozen=True)
class Context:
    """What the assessment of one cluster needs to know about the rest of the world."""

    now: datetime
    product_recent: int
    other_products_share: float
    rates: ProductRates | None
    recent: int
    """The cluster's counted members in the recent window (`window_counts`)."""
    previous: int
    """... and in the window before it."""


@dataclass(frozen=True)
class Windows:
    """The recent window and the one before it, as hour indexes [start, end)."""

    previous_start: int
    recent_start: int
    end: int

    @classmethod
    def at(cls, now: datetime, config: DefectConfig) -> Windows:
        window = timedelta(hours=config.window_hours)
        return cls(
            hour_index(now - 2 * window),
            hour_index(now - window),
            hour_index(now) + 1,  # the current hour is part of the recent window
        )


def window_counts(state: ClusterState, windows: Windows) -> tuple[int, int]:
    """Counted members in the recent window and in the window before it."""
    recent = previous = 0
    for hour, n in state.hourly.items():
        if windows.recent_start <= hour < windows.end:
            recent += n
        elif windows.previous_start <= hour < windows.recent_start:
            previous += n
    return recent, previous


def measure(state: ClusterState, ctx: Context, config: DefectConfig) -> Measures:
    """The numbers behind the decision."""
    recent, previous = ctx.recent, ctx.previous
    share = max(config.background_share, ctx.other_products_share)
    # The cluster's own pace before both windows: a theme that has been trickling in for
    # weeks is not bursting when two of its complaints land in the same window. Once a
    # cluster has alerted it is a known defect: its earlier burst is no background pace.
    older = state.counted - recent - previous if state.alert_level == 0 else 0
    before = ctx.now - timedelta(hours=2 * config.window_hours)
    hours = (before - state.first_at).total_seconds() / 3600
    span = max(hours, config.window_hours)
    if ctx.rates is not None and ctx.rates.blind and hours > 0:
        # Hours nobody could hear are no quiet hours: the pace is over the hours heard
        # (and the shortest span counted shrinks in the same proportion).
        blind = ctx.rates.blind_hours(hour_index(state.first_at), hour_index(before))
        heard = max(hours - blind, 1.0)
        span = max(heard, config.window_hours * heard / hours)
    own = older / span * config.window_hours if older > 0 else 0.0
    expected = max(share * ctx.product_recent, own)
    baseline = None
    if ctx.rates and ctx.rates.complaints_per_day > 0:
        per_window = ctx.rates.complaints_per_day * config.window_hours / 24
        baseline = round(ctx.product_recent / per_window, 3)
    return Measures(
        size=state.size,
        counted=state.counted,
        authors=state.authors,
        recent=recent,
        previous=previous,
        growth=round((recent + 1) / (previous + 1), 3),
        product_recent=ctx.product_recent,
        expected=round(expected, 3),
        own_expected=round(own, 3),
        rate_ratio=round(recent / max(expected, 1e-6), 3),
        baseline_ratio=baseline,
        other_products_share=round(ctx.other_products_share, 4),
    )


def min_recent(config: DefectConfig) -> int:
    """Counted members in the recent window the burst test needs (at most level-1 size)."""
    return max(2, min(config.min_recent, config.level_size(1)[0]))


def reached_level(state: ClusterState, config: DefectConfig) -> int:
    """Highest level whose size and author thresholds the cluster meets (0: none)."""
    level = 0
    for n in range(1, config.levels + 1):
        size, authors = config.level_size(n)
        if state.counted >= size and state.authors >= authors:
            level = n
    return level


def activity_status(
    state: ClusterState, m: Measures, now: datetime, config: DefectConfig
) -> ClusterStatus:
    """new, growing or stable, for a cluster neither dismissed nor resolved."""
    if state.first_at >= now - timedelta(hours=config.window_hours):
        return "new"
    if m.recent >= max(2.0, config.growth_factor * m.previous):
        return "growing"
    return "stable"


def assess(state: ClusterState, ctx: Context, config: DefectConfig) -> Assessment:
    """Update `state`'s status and alert level; the assessment says whether to alert now."""
    m = measure(state, ctx, config)
    level = reached_level(state, config)
    burst = m.recent >= config.rate_factor * m.expected and m.recent >= min_recent(config)
    if level >= 1 and burst:
        state.burst_seen = True
    reasons = _reasons(state, m, level, config)
    raised: int | None = None
    first_size, _ = config.level_size(1)
    if state.status == "dismissed":
        bar = config.dismissed_factor * max(state.dismissed_size, first_size)
        if level >= 1 and state.counted >= bar:
            raised = max(level, state.alert_level + 1)
            reasons.append(
                f"grew to {state.counted} since it was dismissed at {state.dismissed_size}"
            )
    elif state.reopened_at is not None:
        if state.counted - state.reopened_counted >= first_size and burst:
            raised = max(level, state.alert_level + 1)
            reasons.append(
                f"complaints resumed after it was resolved on {state.reopened_at:%Y-%m-%d}"
            )
            state.reopened_at = None
    elif state.burst_seen and level > state.alert_level:
        raised = level
    if raised is not None:
        state.alert_level = raised
    if raised is not None or state.status not in ("dismissed", "resolved"):
        state.status = activity_status(state, m, ctx.now, config)
    return Assessment(
        key=state.key,
        product=state.product,
        status=state.status,
        level=state.alert_level,
        raised_level=raised,
        reasons=tuple(reasons),
        measures=m,
        title=state.title,
        keywords=tuple(state.keywords),
        representatives=tuple(state.representatives(config.representatives)),
        sources=dict(sorted(state.sources.items(), key=lambda kv: (-kv[1], kv[0]))),
        daily=dict(sorted(state.daily.items())),
        first_at=state.first_at,
        last_at=state.last_at,
    )


def _reasons(state: ClusterState, m: Measures, level: int, config: DefectConfig) -> list[str]:
    shown = max(level, 1)
    size, authors = config.level_size(shown)
    out = [
        f"{m.counted} members from {m.authors} authors "
        f"(level {shown} needs {size} members and {authors} authors)",
        f"{m.recent} in the last {config.window_hours:g} h, {m.expected:.1f} expected "
        f"for an ordinary theme of the product or at the cluster's earlier pace "
        f"({m.rate_ratio:.1f}x; alert at {config.rate_factor:g}x and "
        f"{min_recent(config)} recent)",
        f"growth {m.growth:.1f}x: {m.previous} in the {config.window_hours:g} h before",
    ]
    if m.baseline_ratio is not None:
        out.append(f"the product's complaints are at {m.baseline_ratio:.1f}x its baseline")
    if m.other_products_share > config.background_share:
        out.append(
            f"similar complaints are {m.other_products_share:.0%} of another product's recent ones"
        )
    if m.size > m.counted:
        out.append(f"{m.size - m.counted} repeated posts by the same authors not counted")
    return out
