"""Policies: rules loaded from TOML that judge every draft before it may be sent.

    policy = PolicySet.from_settings(settings)      # or PolicySet.load("policy.toml")
    verdict = policy.check(DraftContext(text=..., channel="email", ...))
    verdict.outcome   # "allow", "amend", "escalate" or "block"
    verdict.text      # the text after amendments
    verdict.findings  # every rule that fired, with its reason

Rules are classes registered by name (`policies.rules`, or the `ascolto.policies` entry point
group for plugins); a policy file has one table per rule, holding that rule's options.
"""

from policies.context import DraftContext
from policies.errors import PolicyError, Problem
from policies.policy_set import PolicySet
from policies.rule import PASS, Rule, RuleOptions, RuleResult
from policies.verdict import Finding, Outcome, Verdict

__all__ = [
    "PASS",
    "DraftContext",
    "Finding",
    "Outcome",
    "PolicyError",
    "PolicySet",
    "Problem",
    "Rule",
    "RuleOptions",
    "RuleResult",
    "Verdict",
]
