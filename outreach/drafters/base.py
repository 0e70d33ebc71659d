"""The draft-source seam: one class per way of writing a draft's text, registered by name.

Drafting renders the template first (it always works, and it gives the e-mail subject and
the facts the draft-lint checks against), then asks each source named in `[drafts] sources`
in turn. A source returns its text, or declines with a reason (nothing similar enough, a
timeout, a refusal); whatever it returns is checked by the same policy engine and draft-lint
as a template draft, and a draft the policy blocks or the lint faults gives way to the next
source. The draft records which source wrote it and why the ones before it gave way.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from sqlmodel import Session

from outreach.context import DraftFacts
from outreach.rendering import Rendered
from outreach.settings import Settings


@dataclass(frozen=True)
class DraftRequest:
    """What a source may use to write one draft."""

    session: Session
    settings: Settings
    facts: DraftFacts
    intent: str
    language: str
    # "public" (a reply where the mention was posted) or "email".
    kind: str
    # What the template was given (`outreach.phrasing.template_data`).
    data: Mapping[str, Any]
    # The template's draft: the fallback, and the shape a careful reply takes.
    template: Rendered
    now: datetime

    @property
    def private(self) -> bool:
        return self.kind == "email"


@dataclass(frozen=True)
class Composed:
    """A source's text for the draft, what it reports, its latency and its cost."""

    text: str
    details: dict[str, Any] = field(default_factory=dict)
    ms: float | None = None
    cost: float | None = None


class Declined(Exception):
    """A source wrote nothing for this draft: why, and what the attempt took and cost."""

    def __init__(
        self,
        reason: str,
        *,
        details: dict[str, Any] | None = None,
        ms: float | None = None,
        cost: float | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details or {}
        self.ms = ms
        self.cost = cost


class DraftSource(ABC):
    """One way of writing a draft's text; subclasses set `name` and are found by it."""

    name: ClassVar[str] = ""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @abstractmethod
    def compose(self, request: DraftRequest) -> Composed:
        """The draft's text, or Declined."""
