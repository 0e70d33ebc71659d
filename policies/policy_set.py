"""A policy: the rules of one TOML file, applied in order to every draft alike."""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from policies.context import DraftContext
from policies.errors import PolicyError, Problem, option_problems
from policies.registry import known_rules, registry
from policies.rule import Rule
from policies.verdict import SEVERITY, Finding, Verdict, most_severe
from storage.types import utcnow

if TYPE_CHECKING:
    from policies.settings import Settings

DEFAULT_ROLE = "agent"
# An amendment can make another rule amend (a disclaimer pushes a reply over its length
# limit); after this many rounds without a stable text a person has to look at it.
MAX_PASSES = 4


def default_policy_text() -> str:
    """The policy shipped with ascolto (policies/default.toml)."""
    return resources.files("policies").joinpath("default.toml").read_text(encoding="utf-8")


class PolicySet:
    """Rules in the order of the policy file; `check` gives the verdict on a draft."""

    def __init__(
        self,
        rules: Sequence[Rule[Any]],
        *,
        default_role: str = DEFAULT_ROLE,
        source: str = "<policy>",
    ) -> None:
        self.rules = list(rules)
        self.default_role = default_role
        self.source = source

    @classmethod
    def load(cls, path: Path | str, *, default_role: str = DEFAULT_ROLE) -> PolicySet:
        """Read a policy file; PolicyError naming every bad rule and key otherwise."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise PolicyError(str(path), [Problem(None, None, "file does not exist")]) from None
        except UnicodeDecodeError as exc:
            raise PolicyError(str(path), [Problem(None, None, f"not UTF-8 text: {exc}")]) from None
        except OSError as exc:
            raise PolicyError(str(path), [Problem(None, None, str(exc))]) from None
        return cls.from_toml(text, source=str(path), default_role=default_role)

    @classmethod
    def from_toml(
        cls, text: str, *, source: str = "<policy>", default_role: str = DEFAULT_ROLE
    ) -> PolicySet:
        """Parse policy TOML text (see `load`)."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise PolicyError(source, [Problem(None, None, f"not valid TOML: {exc}")]) from None
        return cls.from_mapping(data, source=source, default_role=default_role)

    @classmethod
    def from_mapping(
        cls,
        data: Mapping[str, Any],
        *,
        source: str = "<policy>",
        default_role: str = DEFAULT_ROLE,
    ) -> PolicySet:
        """Build the rules from `{rule name: options table}`, collecting every problem."""
        rules: list[Rule[Any]] = []
        problems: list[Problem] = []
        known = registry()
        for name, table in data.items():
            cls_ = known.get(name)
            if cls_ is None:
                problems.append(Problem(name, None, _unknown_rule(name)))
                continue
            if not isinstance(table, Mapping):
                problems.append(
                    Problem(name, None, f"expected a table of options ([{name}]), got {table!r}")
                )
                continue
            try:
                rules.append(cls_.from_table(table))
            except ValidationError as exc:
                keys = sorted(cls_.Options.model_fields)
                problems += option_problems(name, exc.errors(include_url=False), keys)
        if problems:
            raise PolicyError(source, problems)
        return cls(rules, default_role=default_role, source=source)

    @classmethod
    def default(cls, *, default_role: str = DEFAULT_ROLE) -> PolicySet:
        """The policy shipped with ascolto."""
        return cls.from_toml(
            default_policy_text(), source="policies/default.toml", default_role=default_role
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> PolicySet:
        """The policy named by `[policies] file`, else the shipped one."""
        config = settings.policies
        if config.file is None:
            return cls.default(default_role=config.default_role)
        return cls.load(config.file, default_role=config.default_role)

    @property
    def names(self) -> list[str]:
        """The rules' names, in the order they are applied."""
        return [rule.name for rule in self.rules]

    @property
    def lookback(self) -> timedelta:
        """How far back `DraftContext.previous_contacts` must reach for these rules."""
        return max((rule.lookback for rule in self.rules), default=timedelta(0))

    def screen(self, ctx: DraftContext, *, now: datetime | None = None) -> Verdict:
        """The verdict of the rules about the recipient and the moment only.

        Opt-out and suppression, consent, open complaints, contact limits and quiet hours,
        as configured in this policy; the text is not looked at, so it may be empty. This is
        how proactive messages (campaign check-ins) learn who may be contacted, why not, and
        when, before anything is written; `check` on the written message still follows.
        """
        recipient_rules = [rule for rule in self.rules if not rule.judges_text]
        screening = PolicySet(recipient_rules, default_role=self.default_role, source=self.source)
        return screening.check(ctx, now=now)

    def check(self, ctx: DraftContext, *, now: datetime | None = None) -> Verdict:
        """The verdict on a draft: every rule in order, amendments composed, then re-checked.

        Each rule sees the text as amended by the rules before it. When the text changed,
        all rules run again on the new text, until it stops changing: the verdict is about
        the text that would be sent. Findings of rules that amended the text along the way
        are kept, so the verdict says what was changed and why.
        """
        if ctx.role is None:
            ctx = replace(ctx, role=self.default_role)
        if ctx.send_at is None:
            ctx = replace(ctx, send_at=now or utcnow())
        text = ctx.text
        amended: dict[tuple[str, str], tuple[int, Finding]] = {}
        final: list[tuple[int, Finding]] = []
        send_after: datetime | None = None
        for _ in range(MAX_PASSES):
            before = text
            final = []
            for index, rule in enumerate(self.rules):
                result = rule.check(ctx.with_text(text))
                changed = result.text is not None and result.text != text
                for finding in result.findings:
                    if changed:
                        amended.setdefault((finding.rule, finding.reason), (index, finding))
                    else:
                        final.append((index, finding))
                if changed and result.text is not None:
                    text = result.text
                if result.send_after is not None:
                    send_after = max(send_after or result.send_after, result.send_after)
            if text == before:
                break
        else:
            final.append(
                (
                    len(self.rules),
                    Finding(
                        "policy",
                        "escalate",
                        f"the rules kept changing the text after {MAX_PASSES} rounds "
                        f"({', '.join(sorted({f.rule for _, f in amended.values()}))}): "
                        "a person must settle it",
                    ),
                )
            )
        seen = set(amended)
        ordered = list(amended.values())
        for index, finding in final:
            if (finding.rule, finding.reason) not in seen:
                seen.add((finding.rule, finding.reason))
                ordered.append((index, finding))
        ordered.sort(key=lambda pair: pair[0])
        findings = [finding for _, finding in ordered]
        outcome = most_severe(f.outcome for f in findings)
        if outcome == "allow" and text != ctx.text:
            outcome = "amend"
        return Verdict(outcome, text, findings, send_after)


def _unknown_rule(name: str) -> str:
    names = known_rules()
    close = difflib.get_close_matches(name, names, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown rule{hint}; known rules: {', '.join(names)}"


__all__ = ["DEFAULT_ROLE", "SEVERITY", "PolicySet", "default_policy_text"]
