"""What the cluster page shows: the rate per delivered unit over time (unknown days
marked, launch and batch starts marked), complaints in each language, orders affected."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from ascolto.defects.detection import cluster_timeline
from ascolto.defects.rates import cluster_rates, rate_line
from ascolto.localization import current_language
from storage.defect_rates import delivered_lines
from storage.models import Classification, DefectCluster, DefectClusterMember, Mention, Product

LANGUAGES = {"it": "Italiano", "en": "English"}
PER_LANGUAGE = 3


def cluster_page_data(session: Session, cluster: DefectCluster, now: datetime) -> dict[str, Any]:
    """Everything the page shows beyond the cluster's own columns."""
    rates = cluster_rates(session, now=now, product_ids=[cluster.product_id]).get(cluster.id or 0)
    timeline = cluster_timeline(session, cluster, now=now)
    product = session.get(Product, cluster.product_id)
    lines = delivered_lines(session, until=now, product_ids=[cluster.product_id])
    days = [date.fromisoformat(d["day"]) for d in timeline]
    per_day = []
    for d, day in zip(timeline, days, strict=True):
        end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=now.tzinfo)
        units = sum(ln.units for ln in lines if ln.delivered_at < end)
        count = d["count"]
        per_day.append(None if count is None or not units else round(count / units * 1000, 3))
    marks = [""] * len(days)
    if product is not None and product.launched_on in days:
        marks[days.index(product.launched_on)] = "launch"
    starts: dict[str, date] = {}
    for line in lines:
        if line.batch:
            first = (line.shipped_at or line.delivered_at).date()
            starts[line.batch] = min(starts.get(line.batch, first), first)
    for batch, first in sorted(starts.items(), key=lambda kv: kv[1]):
        if first in days:
            i = days.index(first)
            marks[i] = f"{marks[i]}, batch {batch}".lstrip(", ")
    return {
        "rates": rates,
        # In the reader's language (the request's).
        "rate_line": rate_line(rates, current_language()),
        "timeline": timeline,
        "per_day": per_day,
        "marks": marks,
        "launched_on": product.launched_on if product else None,
        "by_language": complaints_by_language(session, cluster.id or 0),
    }


def complaints_by_language(session: Session, cluster_id: int) -> dict[str, list[dict[str, Any]]]:
    """A few of the cluster's complaints in each of Italian and English, newest first."""
    rows = session.exec(
        select(Mention, Classification.language)
        .join(DefectClusterMember, col(DefectClusterMember.mention_id) == Mention.id)
        .join(Classification, col(Classification.mention_id) == Mention.id, isouter=True)
        .where(DefectClusterMember.cluster_id == cluster_id)
        .order_by(col(Mention.id).desc())
        .limit(500)
    ).all()
    out: dict[str, list[dict[str, Any]]] = {code: [] for code in LANGUAGES}
    for mention, language in rows:
        code = (language or mention.lang or "").split("-")[0].lower()
        if code in out and len(out[code]) < PER_LANGUAGE:
            out[code].append(
                {
                    "mention_id": mention.id,
                    "text": " ".join(f"{mention.title or ''} {mention.text}".split())[:400],
                    "at": mention.published_at or mention.fetched_at,
                }
            )
    return out
