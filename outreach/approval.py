"""Approval without edit: the quality figure every change to drafting is judged by.

Each draft a person decided on is sent unedited, lightly edited or rewritten (by the edit
distance between the text drafted and the text sent), or rejected; the time the agent took
runs from the draft's creation to the decision. Rates come per intent, template, language,
channel, agent and draft source (template, history, language model), and per week.
"""

from __future__ import annotations

import difflib
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from rapidfuzz.distance import Levenshtein
from sqlmodel import Session

from storage.draft_outcomes import REJECTED, DecidedDraft, decided_drafts

Outcome = Literal["unedited", "light", "rewritten", "rejected"]
OUTCOMES: tuple[Outcome, ...] = ("unedited", "light", "rewritten", "rejected")
# Share of characters changed up to which an edit is light (a word, a date, a name).
LIGHT_EDIT = 0.2
GROUPINGS = ("intent", "template", "language", "channel", "agent", "source")
Grouping = Literal["intent", "template", "language", "channel", "agent", "source"]


def edit_share(drafted: str, sent: str) -> float:
    """Share of the text changed: normalised Levenshtein distance, whitespace ignored."""
    before, after = " ".join(drafted.split()), " ".join(sent.split())
    return float(Levenshtein.normalized_distance(before, after))


def outcome_of(row: DecidedDraft) -> Outcome:
    """What became of one decided draft."""
    if row.status in REJECTED:
        return "rejected"
    share = edit_share(row.drafted_text, row.text)
    if share == 0:
        return "unedited"
    return "light" if share <= LIGHT_EDIT else "rewritten"


@dataclass(frozen=True)
class ApprovalFigures:
    """Counts and rates of one group of decided drafts."""

    group: str
    decided: int
    unedited: int
    light: int
    rewritten: int
    rejected: int
    median_seconds: float | None

    @property
    def unedited_rate(self) -> float | None:
        """Share of decided drafts sent as drafted (percent, one decimal); None without any."""
        return _pct(self.unedited, self.decided)

    def rate(self, outcome: Outcome) -> float | None:
        return _pct(getattr(self, outcome), self.decided)

    def as_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "decided": self.decided,
            **{o: getattr(self, o) for o in OUTCOMES},
            **{f"{o}_rate": self.rate(o) for o in OUTCOMES},
            "median_seconds": self.median_seconds,
        }


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def figures_of(group: str, rows: Sequence[DecidedDraft]) -> ApprovalFigures:
    outcomes = [outcome_of(r) for r in rows]
    seconds = [max(0.0, (r.decided_at - r.created_at).total_seconds()) for r in rows]
    return ApprovalFigures(
        group=group,
        decided=len(rows),
        unedited=outcomes.count("unedited"),
        light=outcomes.count("light"),
        rewritten=outcomes.count("rewritten"),
        rejected=outcomes.count("rejected"),
        median_seconds=statistics.median(seconds) if seconds else None,
    )


def grouped(rows: Iterable[DecidedDraft], by: Grouping) -> list[ApprovalFigures]:
    """Figures per value of `by`, most decided first, then the total."""
    groups: dict[str, list[DecidedDraft]] = {}
    every: list[DecidedDraft] = []
    for row in rows:
        groups.setdefault(str(getattr(row, by)), []).append(row)
        every.append(row)
    ordered = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))
    return [*(figures_of(name, found) for name, found in ordered), figures_of("total", every)]


def week_of(at: datetime) -> date:
    """The Monday of the (UTC) week of `at`."""
    day = at.date()
    return day - timedelta(days=day.weekday())


def weekly(rows: Iterable[DecidedDraft], weeks: Sequence[date]) -> list[ApprovalFigures]:
    """Figures per week (named by its Monday), one per week in `weeks`, empty ones included."""
    found: dict[date, list[DecidedDraft]] = {w: [] for w in weeks}
    for row in rows:
        week = week_of(row.decided_at)
        if week in found:
            found[week].append(row)
    return [figures_of(w.isoformat(), found[w]) for w in weeks]


@dataclass(frozen=True)
class ApprovalReport:
    """Approval without edit since `since`: totals, per grouping, and per week."""

    since: datetime
    until: datetime
    total: ApprovalFigures
    by: dict[str, list[ApprovalFigures]]
    weeks: list[ApprovalFigures]

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "light_edit_share": LIGHT_EDIT,
            "total": self.total.as_dict(),
            "by": {name: [f.as_dict() for f in found] for name, found in self.by.items()},
            "weeks": [f.as_dict() for f in self.weeks],
        }


def approval_report(session: Session, *, since: datetime, until: datetime) -> ApprovalReport:
    """What agents did with the drafts decided between `since` and `until`."""
    rows = decided_drafts(session, since=since, until=until)
    first = week_of(since)
    weeks = []
    week = first
    while week <= until.date():
        weeks.append(week)
        week += timedelta(days=7)
    return ApprovalReport(
        since=since,
        until=until,
        total=figures_of("total", rows),
        by={name: grouped(rows, name) for name in GROUPINGS},  # type: ignore[arg-type]
        weeks=weekly(rows, weeks),
    )


@dataclass(frozen=True)
class TemplateEdits:
    """What agents change most in the drafts of one template: phrases cut, added, replaced."""

    template: str
    edited: int
    changes: list[tuple[str, int]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "template": self.template,
            "edited": self.edited,
            "changes": [{"change": c, "drafts": n} for c, n in self.changes],
        }


def changes_of(drafted: str, sent: str) -> set[str]:
    """The word-level changes between the drafted and the sent text, in words:
    `- "phrase"`, `+ "phrase"`, `"old" → "new"`."""
    before, after = drafted.split(), sent.split()
    found = set()
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        cut, added = " ".join(before[a1:a2]), " ".join(after[b1:b2])
        if op == "delete":
            found.add(f'- "{cut}"')
        elif op == "insert":
            found.add(f'+ "{added}"')
        elif op == "replace":
            found.add(f'"{cut}" → "{added}"')
    return found


def common_edits(rows: Iterable[DecidedDraft], *, top: int = 5) -> list[TemplateEdits]:
    """Per template, the changes agents made in the most drafts (each draft counted once
    per change), templates with the most edited drafts first."""
    per_template: dict[str, Counter[str]] = {}
    edited: Counter[str] = Counter()
    for row in rows:
        if outcome_of(row) not in ("light", "rewritten"):
            continue
        edited[row.template] += 1
        per_template.setdefault(row.template, Counter()).update(
            changes_of(row.drafted_text, row.text)
        )
    return [
        TemplateEdits(template, count, per_template[template].most_common(top))
        for template, count in edited.most_common()
    ]
