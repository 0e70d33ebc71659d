"""What goes in (`Text`) and what comes out (`Labels`) of the classifier."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, slots=True)
class Text:
    """A mention to classify; `lang` (ISO 639-1), when known, skips detection."""

    text: str
    lang: str | None = None


@dataclass(slots=True)
class Labels:
    """Every label for one mention. Unclassifiable mentions carry only the reason."""

    model_version: str
    language: str | None = None
    language_score: float = 0.0
    sentiment: str | None = None
    sentiment_scores: dict[str, float] = field(default_factory=dict)
    complaint: bool | None = None
    complaint_score: float | None = None
    issues: list[str] = field(default_factory=list)
    issue_scores: dict[str, float] = field(default_factory=dict)
    urgency: list[str] = field(default_factory=list)
    urgency_scores: dict[str, float] = field(default_factory=dict)
    # How strongly a complaint blames (none, reproach, disapproval, accusation, blame);
    # None when the heads have no severity head, "none" for a mention that is no complaint.
    severity: str | None = None
    severity_scores: dict[str, float] = field(default_factory=dict)
    products: list[str] = field(default_factory=list)
    embedding: npt.NDArray[np.float32] | None = None
    truncated: bool = False
    unclassifiable_reason: str | None = None

    @property
    def classified(self) -> bool:
        return self.unclassifiable_reason is None

    @property
    def confidence(self) -> float:
        """How sure the labels a reply depends on are: the lower of the sentiment's top
        probability and the complaint decision's probability (calibrated heads)."""
        if not self.classified:
            return 0.0
        sure = [max(self.sentiment_scores.values())] if self.sentiment_scores else []
        if self.complaint_score is not None:
            sure.append(max(self.complaint_score, 1.0 - self.complaint_score))
        return min(sure, default=0.0)
