"""The one extension seam of the policies: a named rule class with its own options model."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from policies.context import DraftContext
from policies.verdict import Finding, Outcome


class RuleOptions(BaseModel):
    """Base of every rule's options: an unknown key is an error, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True, slots=True)
class RuleResult:
    """What one rule says: its findings, and the text or send time it amends, if any."""

    findings: tuple[Finding, ...] = ()
    text: str | None = None
    send_after: datetime | None = None


PASS = RuleResult()

OptionsT = TypeVar("OptionsT", bound=RuleOptions)


class Rule(ABC, Generic[OptionsT]):
    """A policy rule: `name` is its table in the policy file, `Options` its keys.

    Subclasses found in `policies.rules` or through the `ascolto.policies` entry point group
    are registered by `name`. `check` must be a pure function of the context: no I/O.
    `judges_text` is False for rules about the recipient and the moment only (opt-out,
    consent, contact limits, quiet hours): `PolicySet.screen` runs those before any text exists.
    """

    name: ClassVar[str] = ""
    Options: ClassVar[type[RuleOptions]] = RuleOptions
    judges_text: ClassVar[bool] = True

    def __init__(self, options: OptionsT) -> None:
        self.options = options

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> Rule[Any]:
        """Validate a policy-file table (pydantic's ValidationError on bad keys or values)."""
        return cls(cls.Options.model_validate(dict(table)))  # type: ignore[arg-type]

    @property
    def lookback(self) -> timedelta:
        """How far back the context's `previous_contacts` must reach for this rule."""
        return timedelta(0)

    @abstractmethod
    def check(self, ctx: DraftContext) -> RuleResult:
        """Judge the draft in `ctx`; PASS when the rule has nothing to say."""

    def fire(
        self,
        outcome: Outcome,
        reason: str,
        *,
        text: str | None = None,
        send_after: datetime | None = None,
    ) -> RuleResult:
        """A result with one finding of this rule."""
        return RuleResult((Finding(self.name, outcome, reason),), text, send_after)

    def findings(self, *pairs: tuple[Outcome, str], text: str | None = None) -> RuleResult:
        """A result with several findings of this rule; PASS when there are none."""
        if not pairs and text is None:
            return PASS
        return RuleResult(tuple(Finding(self.name, o, r) for o, r in pairs), text)
