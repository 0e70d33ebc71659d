"""What a policy check says about a draft: an outcome, the text to send, and why."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

Outcome = Literal["allow", "amend", "escalate", "block"]
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)

# The most severe outcome of all findings is the verdict's.
SEVERITY: dict[Outcome, int] = {"allow": 0, "amend": 1, "escalate": 2, "block": 3}


def most_severe(outcomes: Iterable[Outcome]) -> Outcome:
    """block > escalate > amend > allow; allow when there is nothing."""
    return max(outcomes, key=SEVERITY.__getitem__, default="allow")


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule that fired: its name, what it decided and why, in words an agent reads."""

    rule: str
    outcome: Outcome
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "outcome": self.outcome, "reason": self.reason}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        outcome = data.get("outcome")
        if outcome not in OUTCOMES:
            raise ValueError(f"finding outcome {outcome!r} is not one of {', '.join(OUTCOMES)}")
        return cls(str(data.get("rule", "")), outcome, str(data.get("reason", "")))


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome on a draft, the text after amendments, and every finding.

    `send_after` is set when a rule moved the send time (quiet hours): the message must not
    leave before it. `outcome` is the most severe outcome among the findings.
    """

    outcome: Outcome
    text: str
    findings: list[Finding] = field(default_factory=list)
    send_after: datetime | None = None

    @property
    def allowed(self) -> bool:
        """True when the draft may go out as it is or as amended."""
        return self.outcome in ("allow", "amend")

    def details(self) -> list[dict[str, str]]:
        """The findings as JSON-ready dicts (what `Draft.verdict_details` stores)."""
        return [f.to_dict() for f in self.findings]

    def explain(self) -> str:
        """One line per finding, most severe first: `block  length: ...`."""
        if not self.findings:
            return "allow: no rule fired"
        ranked = sorted(self.findings, key=lambda f: -SEVERITY[f.outcome])
        return "\n".join(f"{f.outcome:<8} {f.rule}: {f.reason}" for f in ranked)

    @classmethod
    def from_details(
        cls, outcome: str, text: str, details: Iterable[Mapping[str, Any]] | None
    ) -> Verdict:
        """Rebuild a stored verdict (e.g. a Draft's `verdict` and `verdict_details`)."""
        if outcome not in OUTCOMES:
            raise ValueError(f"verdict outcome {outcome!r} is not one of {', '.join(OUTCOMES)}")
        findings = [Finding.from_dict(d) for d in details or []]
        return cls(outcome, text, findings)
