"""Building contexts, rules and policies for the policy tests."""

from __future__ import annotations

import textwrap
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from policies import DraftContext, PolicySet, Rule, RuleResult
from policies.registry import rule_class

# A Tuesday; 11:00 in Rome, 05:00 in New York: outside every default quiet hour.
SEND_AT = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def ctx(
    text: str = "Thanks for writing to us, we are looking into it.", **overrides: Any
) -> DraftContext:
    """A private English e-mail to a customer in Rome, sent at SEND_AT; any field overridable."""
    base = DraftContext(
        text=text,
        channel="email",
        language="en",
        customer_language="en",
        customer_tz="Europe/Rome",
        role="agent",
        send_at=SEND_AT,
    )
    return replace(base, **overrides)


def public(text: str, **overrides: Any) -> DraftContext:
    """A public reply, on Mastodon unless another channel is given."""
    return ctx(text, **{"channel": "mastodon", **overrides})


def make_rule(name: str, **options: Any) -> Rule[Any]:
    """The registered rule `name` with these options, validated as a policy file would be."""
    return rule_class(name).from_table(options)


def run(name: str, context: DraftContext, **options: Any) -> RuleResult:
    """One rule's result on a context."""
    return make_rule(name, **options).check(context)


def outcomes(result: RuleResult) -> list[str]:
    return [f.outcome for f in result.findings]


def policy(toml: str, **kwargs: Any) -> PolicySet:
    """A policy from TOML text (dedented)."""
    return PolicySet.from_toml(textwrap.dedent(toml), **kwargs)
