"""The defect step: after classification, group each watched product's new complaints.

For every product in its watch window (`launched_on` + `watch_days`), the complaint and
defect mentions classified since the last run are read with their embeddings, handed to
the detector with every live cluster, and the outcome is stored in one transaction per
product: its clusters, their new members, its alerts (one per cluster and level) and how
far it has read. A crash loses only the products not yet committed; the next run reads
their complaints again and nothing twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ascolto.settings import Settings
from classify.classifying import mention_text
from storage import audit
from storage.blind_spots import BlindWindow, blind_windows, unknown_days
from storage.db import session_scope
from storage.defects import (
    CLOSED,
    Candidate,
    StaleWrite,
    add_members,
    bought_products,
    complaint_candidates,
    complaint_texts,
    drop_cluster,
    get_alert,
    get_cluster,
    get_watch,
    insert_cluster,
    known_members,
    list_alerts,
    live_clusters,
    memberships,
    merge_cluster,
    raise_alert,
    relabelled_members,
    remove_member,
    save_watch,
    set_alert_status,
    update_cluster,
    watch_start,
    watched_products,
)
from storage.models import Alert, Classification, DefectCluster, Product
from storage.types import utcnow

if TYPE_CHECKING:
    from classify.defects import (
        Assessment,
        ClusterState,
        DefectConfig,
        DefectDetector,
        ProductRates,
    )

log = logging.getLogger(__name__)

ACTOR = "defects"
# Labels committed out of order (two classifiers at once) are caught by re-reading this
# much before the cursor; mentions already counted are skipped.
MARGIN = timedelta(minutes=5)
# Complaints read per round; a backlog (a first run, a reclassification) takes several.
BATCH = 2000
# Days of per-product complaint counts kept for the baseline.
BASELINE_DAYS = 120


@dataclass
class DefectReport:
    """What one detection run did, for logs, the command line and tests."""

    products: list[str] = field(default_factory=list)
    complaints: int = 0
    withdrawn: int = 0
    """Members taken out of clusters because their labels changed since they joined."""
    left_out: dict[str, int] = field(default_factory=dict)
    """Defect-labelled mentions that are no report of a misbehaving product, by reason
    (news, promotion, purchase question, praise)."""
    clusters_written: int = 0
    alerts: list[int] = field(default_factory=list)
    committed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    rounds: int = 0
    seconds: float = 0.0
    stopped: bool = False
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and not self.failed


def detector_for(settings: Settings) -> DefectDetector:
    """The detector configured by `[defects]`."""
    from classify.defects import DefectDetector

    return DefectDetector(naming_config(settings, settings.defects.config()))


def naming_config(settings: Settings, config: DefectConfig) -> DefectConfig:
    """`config` with what names clusters: the products, their words, their team's language."""
    from dataclasses import replace

    from classify.defects.keywords import terms

    languages = {t.name: t.language for t in settings.teams}
    words: set[str] = set()
    for product in settings.products:
        for name in (product.name, *product.aliases):
            words |= terms(name) | {w.casefold() for w in name.split() if len(w) >= 3}
    return replace(
        config,
        ignore_words=frozenset(words),
        product_names=tuple(p.name for p in settings.products),
        languages=tuple(
            (p.name, languages[p.team]) for p in settings.products if p.team in languages
        ),
    )


def detect_defects(
    settings: Settings,
    engine: Engine,
    *,
    now: datetime | None = None,
    stop: threading.Event | None = None,
    detector: DefectDetector | None = None,
    batch: int = BATCH,
) -> DefectReport:
    """Run detection over every complaint classified since the last run.

    Errors are logged and reported in `report.failed` / `report.error`; what was committed
    stays, and the next run takes up the rest.
    """
    report = DefectReport()
    started = time.perf_counter()
    moment = now or utcnow()
    try:
        _run(
            engine,
            detector or detector_for(settings),
            moment,
            report,
            stop,
            batch,
            min_confidence=settings.classify.min_confidence,
        )
    except Exception as exc:
        log.exception("defect detection stopped by an error")
        report.error = f"{type(exc).__name__}: {exc}"
    report.seconds = time.perf_counter() - started
    if report.complaints or report.alerts or not report.ok:
        log.info(
            "defect detection %s: %d complaint(s) of %d product(s), %d cluster(s) written, "
            "%d alert(s), %.1fs",
            "failed" if not report.ok else "done",
            report.complaints,
            len(report.products),
            report.clusters_written,
            len(report.alerts),
            report.seconds,
        )
    return report


def labels_changed(settings: Settings, engine: Engine) -> DefectReport | None:
    """Bring defect clusters up to date now, after labels changed outside the scheduled
    steps (`ascolto classify`, `ascolto labels correct`; the web app moves the scheduled
    run to now instead). The same detection reads every changed label: new complaints
    join clusters, relabelled members leave them."""
    if not settings.defects.enabled:
        return None
    return detect_defects(settings, engine)


# -- one run -----------------------------------------------------------------------------------


@dataclass
class _Watch:
    product: Product
    version: int
    cursor: tuple[datetime, int] | None
    daily: dict[str, int]
    start: datetime


@dataclass
class _Loaded:
    row: DefectCluster
    state: ClusterState
    data: dict[str, Any]


@dataclass
class _Round:
    """Everything one round decided, before it is stored product by product."""

    complaints: dict[int, dict[int, str]] = field(default_factory=dict)
    """product id -> {mention id: UTC day of the complaint} of the complaints taken."""
    assignments: dict[int, dict[int, str]] = field(default_factory=dict)
    assessments: dict[str, Assessment] = field(default_factory=dict)
    raised: list[Assessment] = field(default_factory=list)
    merged: dict[str, str] = field(default_factory=dict)
    expired: set[str] = field(default_factory=set)
    retired: set[str] = field(default_factory=set)
    states: list[ClusterState] = field(default_factory=list)
    blind: list[BlindWindow] = field(default_factory=list)
    """Sources not heard from since the earliest watch start: unknown, not zero."""


def _run(
    engine: Engine,
    detector: DefectDetector,
    now: datetime,
    report: DefectReport,
    stop: threading.Event | None,
    batch: int,
    *,
    min_confidence: float = 0.0,
) -> None:
    after: tuple[datetime, int] | None = None
    first = True
    while True:
        if stop is not None and stop.is_set():
            report.stopped = True
            return
        if first:
            with Session(engine) as session:
                watches = _watches(session, now.date())
            if not watches:
                return
            after = _reading_start(watches.values())
            # Before the watches are read for this round: a withdrawal moves their version.
            report.withdrawn += _withdraw_relabelled(engine, detector, after, now)
        with Session(engine, expire_on_commit=False) as session:
            watches = _watches(session, now.date())
            if not watches:
                return
            candidates = complaint_candidates(
                session, after=after, limit=batch, min_confidence=min_confidence
            )
            loaded = {row.key: _load(row) for row in live_clusters(session, list(watches))}
            work = _select(session, watches, candidates, now, report)
            since = min(w.start for w in watches.values())
            blind = blind_windows(session, since=since, until=now)
            session.expunge_all()
        report.products = [w.product.name for w in watches.values()]
        end = candidates[-1].position if candidates else None
        decided = _decide(detector, watches, loaded, work, now, blind)
        report.rounds += 1
        for product_id, watch in watches.items():
            if stop is not None and stop.is_set():
                report.stopped = True
                return
            try:
                with session_scope(engine) as session:
                    written, alerts = _store(session, watch, loaded, decided, end, now)
            except Exception as exc:
                log.exception("storing defect clusters of %s failed", watch.product.name)
                report.failed[watch.product.name] = f"{type(exc).__name__}: {exc}"
                continue
            report.committed.append(watch.product.name)
            report.complaints += len(decided.complaints.get(product_id, {}))
            report.clusters_written += written
            report.alerts += alerts
        # A product that failed was left where it was; the next run re-reads it after the
        # others, so the in-memory states of this run are not built on.
        if report.failed or len(candidates) < batch:
            return
        after, first = end, False


def _withdraw_relabelled(
    engine: Engine, detector: DefectDetector, after: tuple[datetime, int] | None, now: datetime
) -> int:
    """Take out of their clusters the members whose new labels no longer put them there.

    Whoever changed the labels (a scheduled or distributed classification, `ascolto
    classify --reclassify`, a person's correction), detection reads the change here, so
    every path ends in the same assignment; a correction has usually withdrawn already.
    """
    with Session(engine) as session:
        found = relabelled_members(session, after=after)
    leaving: dict[int, set[str]] = {}
    for item in found:
        if item.gone or leaves(
            complaint=item.complaint,
            issues=item.issues,
            products=item.products,
            sentiment=item.sentiment,
            title=item.title,
            text=item.text,
            product=item.product,
        ):
            leaving.setdefault(item.mention_id, set()).add(item.product)
    done = 0
    for mention_id, products in leaving.items():
        try:
            with session_scope(engine) as session:
                done += len(
                    _withdraw(
                        session,
                        detector.config,
                        mention_id,
                        leave=products.__contains__,
                        by=ACTOR,
                        now=now,
                    )
                )
        except StaleWrite:
            # Someone wrote the cluster meanwhile: the next run reads the change again.
            log.info("mention %d stays in its cluster until the next run", mention_id)
    return done


def leaves(
    *,
    complaint: bool | None,
    issues: Sequence[str],
    products: Sequence[str],
    sentiment: str | None,
    title: str | None,
    text: str,
    product: str,
) -> bool:
    """Whether labels take a mention out of `product`'s clusters.

    It leaves when it is no report of the product misbehaving (`classify.defects.gate`),
    or when it names products and `product` is not among them; a complaint naming no
    product keeps the product its author's order gave it.
    """
    from classify.defects.gate import reason_left_out

    reason = reason_left_out(
        title=title, text=text, sentiment=sentiment, complaint=complaint, issues=issues
    )
    if reason is not None:
        return True
    return bool(products) and product not in products


def _watches(session: Session, today: date) -> dict[int, _Watch]:
    out = {}
    for product in watched_products(session, today=today):
        watch = get_watch(session, product.id or 0)
        start = watch_start(product)
        assert start is not None  # watched products have a launch date
        cursor = (watch.cursor_at, watch.cursor_mention_id) if watch.cursor_at is not None else None
        out[product.id or 0] = _Watch(product, watch.version, cursor, dict(watch.daily), start)
    return out


def _reading_start(watches: Any) -> tuple[datetime, int] | None:
    cursors = [w.cursor for w in watches]
    if any(c is None for c in cursors):
        return None
    earliest = min(c for c in cursors if c is not None)
    return earliest[0] - MARGIN, 0


def _load(row: DefectCluster) -> _Loaded:
    from classify.defects import ClusterState

    return _Loaded(row, ClusterState.from_json(row.state, row.vectors), row.state)


@dataclass
class _Work:
    """Each product's new complaints, as the detector takes them."""

    complaints: dict[int, list[Any]] = field(default_factory=dict)


def _select(
    session: Session,
    watches: dict[int, _Watch],
    candidates: Sequence[Candidate],
    now: datetime,
    report: DefectReport,
) -> _Work:
    """Pick each candidate's watched products: named in it, or bought by its author.

    Only reports of the product misbehaving are taken (`classify.defects.gate`).
    """
    from classify.defects import Complaint
    from classify.defects.gate import reason_left_out

    by_name = {w.product.name: pid for pid, w in watches.items()}
    unnamed = [c.mention_id for c in candidates if not c.products]
    bought = bought_products(session, unnamed) if unnamed else {}
    wanted: dict[int, list[Candidate]] = {}
    for c in candidates:
        named = {by_name[n] for n in c.products if n in by_name}
        if not c.products:
            # Only an unambiguous purchase says which product an unnamed complaint is about.
            ours = bought.get(c.mention_id, set()) & set(watches)
            named = ours if len(ours) == 1 else set()
        for pid in named:
            cursor = watches[pid].cursor
            if cursor is None or c.position > (cursor[0] - MARGIN, 0):
                wanted.setdefault(pid, []).append(c)
    work = _Work()
    texts = complaint_texts(session, [c for cs in wanted.values() for c in cs])
    for pid, items in wanted.items():
        counted = known_members(session, product_id=pid, mention_ids=[c.mention_id for c in items])
        watch = watches[pid]
        for c in items:
            found = texts.get(c.mention_id)
            if found is None or c.mention_id in counted or found.at < watch.start:
                continue
            reason = reason_left_out(
                title=found.title,
                text=found.text,
                sentiment=c.sentiment,
                complaint=c.complaint,
                issues=c.issues,
            )
            if reason is not None:
                report.left_out[reason] = report.left_out.get(reason, 0) + 1
                continue
            work.complaints.setdefault(pid, []).append(
                Complaint(
                    mention_id=c.mention_id,
                    product=watch.product.name,
                    at=min(found.at, now),
                    author=found.author,
                    source=found.source,
                    text=mention_text(found.title, found.text),
                    vector=found.vector,
                    language=found.language,
                )
            )
    return work


def _decide(
    detector: DefectDetector,
    watches: dict[int, _Watch],
    loaded: dict[str, _Loaded],
    work: _Work,
    now: datetime,
    blind: list[BlindWindow],
) -> _Round:
    """One detector update per product (a mention may be a complaint of two products)."""
    decided = _Round(blind=blind)
    states = [item.state for item in loaded.values()]
    dims = {len(c.vector) for cs in work.complaints.values() for c in cs}
    if len(dims) == 1:
        # A new encoder: clusters of the old one cannot take its vectors; they are retired.
        (dim,) = dims
        decided.retired = {s.key for s in states if s.dim != dim}
        states = [s for s in states if s.key not in decided.retired]
    rates = {w.product.name: _rates(w, now, detector, blind) for w in watches.values()}
    # Every update also ages every product's clusters: one is enough when nothing is new.
    for pid in [p for p in watches if work.complaints.get(p)] or list(watches)[:1]:
        complaints = work.complaints.get(pid, [])
        result = detector.update(states, complaints, now=now, rates=rates)
        states = list(result.clusters)
        decided.complaints[pid] = {
            c.mention_id: c.at.astimezone(UTC).date().isoformat()
            for c in complaints
            if c.mention_id not in result.rejected
        }
        decided.assignments[pid] = result.assignments
        decided.merged.update(result.merged)
        decided.expired.update(result.expired)
        for assessment in result.assessments:
            decided.assessments[assessment.key] = assessment
        decided.raised.extend(result.alerts)
        for mention_id, reason in result.rejected.items():
            log.warning("complaint %d left out of defect detection: %s", mention_id, reason)
    decided.states = states
    return decided


def _rates(
    watch: _Watch, now: datetime, detector: DefectDetector, blind: list[BlindWindow]
) -> ProductRates:
    """Complaints per day from launch to the start of the recent window, over the days
    every source was heard from (a day a source was down is unknown, not a quiet day)."""
    from classify.defects import ProductRates
    from classify.defects.state import hour_index

    hours = tuple((hour_index(w.start), hour_index(w.end) + 1) for w in blind)
    end = now - timedelta(hours=detector.config.window_hours)
    days = (end - watch.start).total_seconds() / 86400
    if days < 1:
        return ProductRates(complaints_per_day=0.0, days=0.0, blind=hours)
    first, last = watch.start.date().isoformat(), end.date().isoformat()
    unknown = set(unknown_days(blind, watch.start, end))
    heard = [day for day in _days(watch.start, end) if day not in unknown]
    total = sum(n for day, n in watch.daily.items() if first <= day < last and day not in unknown)
    heard_days = min(days, float(len(heard)))
    if heard_days < 1:
        return ProductRates(complaints_per_day=0.0, days=0.0, blind=hours)
    return ProductRates(
        complaints_per_day=total / heard_days, days=round(heard_days, 2), blind=hours
    )


def _days(start: datetime, end: datetime) -> list[str]:
    day, out = start.date(), []
    while day < end.date():
        out.append(day.isoformat())
        day += timedelta(days=1)
    return out


def blind_evidence(
    blind: Sequence[BlindWindow], start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """The sources down during [start, end), as an alert's evidence lists them."""
    return [
        {
            "source": w.source,
            "from": w.start.isoformat(),
            "to": w.end.isoformat(),
            "reason": w.reason,
        }
        for w in blind
        if w.overlaps(start, end)
    ]


def blind_line(blind: Sequence[dict[str, Any]], language: str = "en") -> str:
    """One sentence naming the sources that were down (empty when none was)."""
    if not blind:
        return ""
    names = ", ".join(
        f"{b['source']} ({b['reason']}, {b['from'][:16].replace('T', ' ')} to "
        f"{b['to'][:16].replace('T', ' ')} UTC)"
        for b in blind
    )
    if language == "it":
        return f"Fonti non raggiungibili nel periodo (conteggi sconosciuti, non zero): {names}."
    return f"Sources down in this period (their counts are unknown, not zero): {names}."


def _store(
    session: Session,
    watch: _Watch,
    loaded: dict[str, _Loaded],
    decided: _Round,
    end: tuple[datetime, int] | None,
    now: datetime,
) -> tuple[int, list[int]]:
    """Write one product's share of the round: clusters, members, merges, alerts, cursor."""
    product = watch.product
    pid = product.id or 0
    ids: dict[str, int] = {}
    written = 0
    mine = [s for s in decided.states if s.product == product.name]
    for state in mine:
        before = loaded.get(state.key)
        data = state.to_json()
        values = _columns(state, decided.assessments.get(state.key), data, now)
        if before is None:
            ids[state.key] = insert_cluster(session, key=state.key, product_id=pid, values=values)
            written += 1
        else:
            ids[state.key] = before.row.id or 0
            if before.row.status == "resolved" and state.status not in ("resolved", "dismissed"):
                # Resolved, and complaints published after the fix keep coming: it reopens
                # (and alerts again at the next level once they make a burst).
                audit.record(
                    session,
                    actor=ACTOR,
                    action="defect_cluster.reopen",
                    subject_type="defect_cluster",
                    subject_id=ids[state.key],
                    details={"size": state.size, "authors": state.authors},
                )
            if data != before.data or state.key in decided.assessments:
                update_cluster(
                    session, cluster_id=ids[state.key], version=before.row.version, values=values
                )
                written += 1
    for absorbed, survivor in decided.merged.items():
        gone = loaded.get(absorbed)
        if gone is None or gone.row.product_id != pid:
            continue
        target = _follow(survivor, decided.merged)
        merge_cluster(
            session,
            absorbed_id=gone.row.id or 0,
            version=gone.row.version,
            survivor_id=ids[target],
            now=now,
        )
    for key in decided.expired | decided.retired:
        gone = loaded.get(key)
        if gone is None or gone.row.product_id != pid:
            continue
        if key in decided.retired:
            update_cluster(
                session,
                cluster_id=gone.row.id or 0,
                version=gone.row.version,
                values={"live": False, "updated_at": now},
            )
        else:
            drop_cluster(session, cluster_id=gone.row.id or 0, version=gone.row.version, now=now)
    assignments = decided.assignments.get(pid, {})
    members = {
        mention_id: ids[joined]
        for mention_id in decided.complaints.get(pid, {})
        if (joined := assignments.get(mention_id)) is not None and joined in ids
    }
    if members:
        add_members(session, product_id=pid, members=members, now=now)
    alerts = []
    for assessment in decided.raised:
        if assessment.product != product.name or assessment.key not in ids:
            continue
        alert = _raise(session, product, ids[assessment.key], assessment, now, decided.blind)
        if alert is not None:
            alerts.append(alert.id or 0)
    daily = dict(watch.daily)
    for day in decided.complaints.get(pid, {}).values():
        daily[day] = daily.get(day, 0) + 1
    oldest = (now - timedelta(days=BASELINE_DAYS)).date().isoformat()
    daily = {d: n for d, n in sorted(daily.items()) if d >= oldest}
    cursor = watch.cursor if end is None else max(watch.cursor or end, end)
    if written or members or alerts or cursor != watch.cursor or daily != watch.daily:
        save_watch(
            session, product_id=pid, version=watch.version, cursor=cursor, daily=daily, now=now
        )
    return written, alerts


def _follow(key: str, merged: dict[str, str]) -> str:
    while key in merged:
        key = merged[key]
    return key


def _columns(
    state: ClusterState, assessment: Assessment | None, data: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """A cluster's columns: what people read, and the detector's memory of it."""
    values: dict[str, Any] = {
        "status": state.status,
        "level": state.alert_level,
        "title": state.title[:300],
        "keywords": list(state.keywords),
        "size": state.size,
        "authors": state.authors,
        "sources": dict(sorted(state.sources.items(), key=lambda kv: (-kv[1], kv[0]))),
        "first_at": state.first_at,
        "last_at": state.last_at,
        "updated_at": now,
        "state": data,
        "vectors": state.vectors_bytes(),
    }
    if assessment is not None:
        evidence = assessment.evidence()
        values["growth"] = evidence["growth"]
        values["representatives"] = evidence["representatives"]
        values["reasons"] = list(assessment.reasons)
    return values


def _raise(
    session: Session,
    product: Product,
    cluster_id: int,
    assessment: Assessment,
    now: datetime,
    blind: Sequence[BlindWindow] = (),
) -> Alert | None:
    level = assessment.raised_level or assessment.level
    title = assessment.title or f"{product.name} · complaints about the same problem"
    if not title.startswith(product.name):
        title = f"{product.name}: {title}"
    from ascolto.defects.rates import cluster_rates, rate_line

    rates = cluster_rates(session, now=now, product_ids=[product.id or 0]).get(cluster_id)
    down = blind_evidence(blind, assessment.first_at, now)
    summary = alert_summary(product.name, assessment, level) + "\n" + rate_line(rates)
    if down:
        summary += "\n" + blind_line(down)
    alert = raise_alert(
        session,
        cluster_id=cluster_id,
        product_id=product.id or 0,
        level=level,
        title=title if level == 1 else f"{title} (level {level})",
        summary=summary,
        evidence={
            **assessment.evidence(),
            "level": level,
            "product": product.name,
            "rates": rates,
            "blind": down,
            "unknown_days": unknown_days(blind, assessment.first_at, now),
        },
        now=now,
    )
    if alert is not None:
        audit.record(
            session,
            actor=ACTOR,
            action="alert.raise",
            subject_type="alert",
            subject_id=alert.id,
            details={"cluster_id": cluster_id, "product": product.name, "level": level},
        )
    return alert


def alert_summary(product: str, assessment: Assessment, level: int) -> str:
    """One paragraph a product team can act on: what, how many, how fast, where."""
    m = assessment.measures
    hours = _hours(assessment.first_at, assessment.last_at)
    sources = ", ".join(f"{name} {n}" for name, n in list(assessment.sources.items())[:5])
    lines = [
        f"{product}: {assessment.title or 'similar complaints'} — {m.size} mention(s) from "
        f"{m.authors} author(s) in {hours}, {m.recent} of them recently "
        f"({m.rate_ratio:.1f}x what an ordinary theme of the product gets).",
        f"Sources: {sources or 'unknown'}.",
    ]
    if assessment.keywords:
        lines.append(f"Keywords: {', '.join(assessment.keywords)}.")
    lines.append(f"Escalation level {level}.")
    lines += [f"- {reason}" for reason in assessment.reasons]
    return "\n".join(lines)


def _hours(first: datetime, last: datetime) -> str:
    hours = max((last - first).total_seconds() / 3600, 0.0)
    return f"{hours:.0f} h" if hours < 72 else f"{hours / 24:.0f} days"


# -- people acting on clusters and alerts ------------------------------------------------------

AlertAction = Literal["acknowledge", "dismiss", "resolve"]
_ALERT_STATUS: dict[str, str] = {
    "acknowledge": "acknowledged",
    "dismiss": "dismissed",
    "resolve": "resolved",
}


class TransitionError(ValueError):
    """The alert or cluster cannot go from its status to the one asked for."""


def act_on_alert(
    engine: Engine,
    alert_id: int,
    action: AlertAction,
    *,
    by: str,
    reason: str | None = None,
    now: datetime | None = None,
) -> list[Alert]:
    """Acknowledge, dismiss or resolve an alert, recorded in the audit trail.

    Dismissing or resolving also dismisses or resolves its cluster (so it alerts again
    only as the detector allows) and the cluster's other alerts still open. Returns the
    alerts changed, the one asked for first; doing again what is done changes nothing.
    Raises LookupError for an unknown id, TransitionError for a closed alert.
    """
    when = now or utcnow()
    status = _ALERT_STATUS[action]
    with session_scope(engine) as session:
        alert = get_alert(session, alert_id)
        if alert is None:
            raise LookupError(f"no alert {alert_id}")
        if alert.status == status:
            return []
        if alert.status in CLOSED:
            raise TransitionError(f"alert {alert_id} is already {alert.status}")
        changed = [alert]
        if action != "acknowledge":
            _act_on_cluster(session, alert.cluster_id, action, when)
            changed += [
                a
                for a in list_alerts(session, cluster_id=alert.cluster_id, limit=1000)
                if a.id != alert.id and a.status not in CLOSED
            ]
        for item in changed:
            previous = item.status
            set_alert_status(session, item, status=status, by=by, now=when)
            audit.record(
                session,
                actor=by,
                action=f"alert.{action}",
                subject_type="alert",
                subject_id=item.id,
                details={
                    "from": previous,
                    "to": status,
                    "cluster_id": item.cluster_id,
                    "level": item.level,
                    "reason": reason,
                    **({} if item is alert else {"with_alert": alert.id}),
                },
            )
        return changed


def act_on_cluster(
    engine: Engine,
    cluster_id: int,
    action: Literal["dismiss", "resolve"],
    *,
    by: str,
    reason: str | None = None,
    now: datetime | None = None,
) -> DefectCluster:
    """Dismiss or resolve a cluster (and its open alerts), recorded in the audit trail."""
    when = now or utcnow()
    with session_scope(engine) as session:
        cluster = get_cluster(session, cluster_id)
        if cluster is None:
            raise LookupError(f"no defect cluster {cluster_id}")
        open_alerts = [
            a
            for a in list_alerts(session, cluster_id=cluster_id, limit=1000)
            if a.status not in CLOSED
        ]
    if open_alerts:
        act_on_alert(engine, open_alerts[0].id or 0, action, by=by, reason=reason, now=when)
    else:
        with session_scope(engine) as session:
            previous = _act_on_cluster(session, cluster_id, action, when)
            audit.record(
                session,
                actor=by,
                action=f"defect_cluster.{action}",
                subject_type="defect_cluster",
                subject_id=cluster_id,
                details={"from": previous, "to": _ALERT_STATUS[action], "reason": reason},
            )
    with Session(engine) as session:
        found = get_cluster(session, cluster_id)
        assert found is not None
        return found


def _act_on_cluster(
    session: Session, cluster_id: int, action: Literal["dismiss", "resolve"], when: datetime
) -> str:
    """Tell the cluster's state what a person decided; returns its previous status."""
    from classify.defects import ClusterState

    cluster = get_cluster(session, cluster_id)
    if cluster is None:
        raise LookupError(f"no defect cluster {cluster_id}")
    previous = cluster.status
    state = ClusterState.from_json(cluster.state, cluster.vectors)
    if action == "dismiss":
        state.dismiss(when)
    else:
        state.resolve(when)
    update_cluster(
        session,
        cluster_id=cluster_id,
        version=cluster.version,
        values={"status": state.status, "state": state.to_json(), "updated_at": when},
    )
    return previous


# -- a person's label correction ---------------------------------------------------------------


def withdraw_complaint(
    session: Session,
    settings: Settings,
    mention_id: int,
    *,
    leave: Callable[[str], bool],
    by: str,
    now: datetime | None = None,
) -> list[int]:
    """Take a mention out of the clusters of the products `leave` names; returns their ids.

    For a correction that makes a mention no complaint, or no longer about a product: its
    cluster forgets its vector, counts, terms and sample, and the product's baseline its
    day; a cluster left empty is dropped (or retired, when it ever alerted). Works in the
    caller's transaction; StaleWrite when a detection run wrote the cluster meanwhile.
    """
    return _withdraw(session, settings.defects.config(), mention_id, leave=leave, by=by, now=now)


def _withdraw(
    session: Session,
    config: DefectConfig,
    mention_id: int,
    *,
    leave: Callable[[str], bool],
    by: str,
    now: datetime | None = None,
) -> list[int]:
    from classify.defects import ClusterState, Complaint
    from classify.defects.membership import remove_member as take_out

    when = now or utcnow()
    found = [
        (member, cluster, product)
        for member, cluster, product in memberships(session, mention_id=mention_id)
        if leave(product.name)
    ]
    if not found:
        return []
    labels = session.exec(
        select(Classification).where(Classification.mention_id == mention_id)
    ).first()
    candidate = Candidate(
        mention_id=mention_id,
        classified_at=when,
        products=(),
        copied_from_id=labels.copied_from_id if labels else None,
    )
    text = complaint_texts(session, [candidate]).get(mention_id)
    left = []
    for member, cluster, product in found:
        remove_member(session, member_id=member.id or 0)
        if text is None:
            # No embedding any more (the mention was deleted or re-embedded): the cluster's
            # memory of it cannot be taken apart; it only stops counting as a member.
            log.warning("mention %d left cluster %s without its vector", mention_id, cluster.id)
        elif cluster.live:
            state = ClusterState.from_json(cluster.state, cluster.vectors)
            complaint = Complaint(
                mention_id=mention_id,
                product=product.name,
                at=min(text.at, when),
                author=text.author,
                source=text.source,
                text=mention_text(text.title, text.text),
                vector=text.vector,
                language=text.language,
            )
            take_out(state, complaint, config)
            if state.size == 0:
                drop_cluster(session, cluster_id=cluster.id or 0, version=cluster.version, now=when)
            else:
                values = _columns(state, None, state.to_json(), when)
                values["representatives"] = [
                    r for r in cluster.representatives if r.get("mention_id") != mention_id
                ]
                update_cluster(
                    session, cluster_id=cluster.id or 0, version=cluster.version, values=values
                )
            _uncount(session, product.id or 0, complaint.at, when)
        audit.record(
            session,
            actor=by,
            action="defect_cluster.member_removed",
            subject_type="defect_cluster",
            subject_id=cluster.id,
            details={"mention_id": mention_id, "product": product.name},
        )
        left.append(cluster.id or 0)
    return left


def _uncount(session: Session, product_id: int, at: datetime, now: datetime) -> None:
    """Take one complaint off the product's baseline, on the day detection counted it."""
    watch = get_watch(session, product_id)
    day = at.astimezone(UTC).date().isoformat()
    if watch.version == 0 or not watch.daily.get(day):
        return
    daily = dict(watch.daily)
    daily[day] -= 1
    if not daily[day]:
        del daily[day]
    cursor = (watch.cursor_at, watch.cursor_mention_id) if watch.cursor_at is not None else None
    save_watch(
        session, product_id=product_id, version=watch.version, cursor=cursor, daily=daily, now=now
    )


__all__ = [
    "DefectReport",
    "StaleWrite",
    "TransitionError",
    "act_on_alert",
    "act_on_cluster",
    "alert_summary",
    "blind_evidence",
    "blind_line",
    "cluster_timeline",
    "detect_defects",
    "detector_for",
    "labels_changed",
    "leaves",
    "unknown_days",
    "withdraw_complaint",
]


def cluster_timeline(
    session: Session, cluster: DefectCluster, *, now: datetime | None = None
) -> list[dict[str, Any]]:
    """The cluster's complaints per UTC day from its first to now: a day a source was down
    has `count` None (unknown) and names the sources, instead of a calm zero."""
    end = now or utcnow()
    start = cluster.first_at
    blind = blind_windows(session, since=start, until=end)
    unknown = unknown_days(blind, start, end)
    daily = (cluster.growth or {}).get("daily") or {}
    out = []
    day = start.date()
    while day <= end.date():
        key = day.isoformat()
        down = unknown.get(key, [])
        counted = daily.get(key)
        out.append(
            {
                "day": key,
                # What was heard still counts; a day with a source down and nothing heard
                # is unknown, never zero.
                "count": counted if counted else (None if down else 0),
                "partial": bool(down and counted),
                "sources_down": down,
            }
        )
        day += timedelta(days=1)
    return out
