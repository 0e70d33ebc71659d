"""Reports: response rate, CSAT and NPS by campaign, product or week, with their counts.

A check-in counts as sent once its e-mail was delivered (the outbox says sent, or it was
answered); those still queued, failed or uncertain (a crash during the SMTP exchange) are
counted apart, and the response rate is answers per delivered e-mail.
CSAT is the share of 4 and 5 answers among CSAT answers; NPS is the share of 9-10 minus
the share of 0-6 among NPS answers, from -100 to +100. Each figure comes with the count it
is computed from, and is None (shown as "-") when there is nothing to compute it from, so
a 100% from one answer is never mistaken for a trend.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TextIO

from storage.campaigns import ReportRow

By = Literal["campaign", "product", "week"]
COLUMNS = (
    "group",
    "sent",
    "queued",
    "failed",
    "uncertain",
    "answered",
    "response_rate",
    "csat_answers",
    "csat",
    "nps_answers",
    "promoters",
    "passives",
    "detractors",
    "nps",
)


@dataclass(frozen=True)
class Figures:
    """One group's figures; percentages rounded to one decimal, None without data.

    `sent` counts delivered e-mails; `queued`, `failed` and `uncertain` those that were
    not (yet), or may not have been, delivered."""

    group: str
    sent: int
    answered: int
    csat_answers: int
    csat_satisfied: int
    nps_answers: int
    promoters: int
    detractors: int
    queued: int = 0
    failed: int = 0
    uncertain: int = 0

    @property
    def passives(self) -> int:
        return self.nps_answers - self.promoters - self.detractors

    @property
    def response_rate(self) -> float | None:
        return _pct(self.answered, self.sent)

    @property
    def csat(self) -> float | None:
        return _pct(self.csat_satisfied, self.csat_answers)

    @property
    def nps(self) -> float | None:
        if not self.nps_answers:
            return None
        return round(100 * (self.promoters - self.detractors) / self.nps_answers, 1)

    def row(self) -> dict[str, object]:
        """The figures as one CSV row (empty cells where there is no data)."""
        values: dict[str, object] = {
            "group": self.group,
            "sent": self.sent,
            "queued": self.queued,
            "failed": self.failed,
            "uncertain": self.uncertain,
            "answered": self.answered,
            "response_rate": self.response_rate,
            "csat_answers": self.csat_answers,
            "csat": self.csat,
            "nps_answers": self.nps_answers,
            "promoters": self.promoters,
            "passives": self.passives,
            "detractors": self.detractors,
            "nps": self.nps,
        }
        return {k: "" if v is None else v for k, v in values.items()}


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def week_of(at: datetime) -> str:
    """ISO week, e.g. 2026-W48 (UTC)."""
    year, week, _ = at.isocalendar()
    return f"{year}-W{week:02d}"


def _groups(row: ReportRow, by: By) -> Iterable[str]:
    if by == "campaign":
        return [row.campaign]
    if by == "week":
        return [week_of(row.sent_at)]
    # An order with two products counts for each of them.
    return row.products or ["(no product)"]


def figures(rows: Sequence[ReportRow], *, by: By) -> list[Figures]:
    """One `Figures` per group, in group order, then the total."""
    groups: dict[str, list[ReportRow]] = {}
    for row in rows:
        for name in _groups(row, by):
            groups.setdefault(name, []).append(row)
    result = [_figures(name, members) for name, members in sorted(groups.items())]
    result.append(_figures("total", rows))
    return result


def _figures(name: str, rows: Sequence[ReportRow]) -> Figures:
    csat = [r.csat for r in rows if r.answered and r.csat is not None]
    nps = [r.nps for r in rows if r.answered and r.nps is not None]
    delivery = Counter(r.delivery for r in rows)
    return Figures(
        group=name,
        sent=delivery["sent"],
        queued=delivery["queued"],
        failed=delivery["failed"],
        uncertain=delivery["uncertain"],
        answered=sum(1 for r in rows if r.answered),
        csat_answers=len(csat),
        csat_satisfied=sum(1 for v in csat if v >= 4),
        nps_answers=len(nps),
        promoters=sum(1 for v in nps if v >= 9),
        detractors=sum(1 for v in nps if v <= 6),
    )


def write_csv(handle: TextIO, table: Sequence[Figures], *, by: By) -> None:
    """The table as CSV, its first column named after the grouping."""
    writer = csv.DictWriter(handle, fieldnames=[by, *COLUMNS[1:]], lineterminator="\n")
    writer.writeheader()
    for item in table:
        row = item.row()
        row[by] = row.pop("group")
        writer.writerow(row)
