"""Policy files: the shipped default, the example, and clear errors for bad ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from ascolto.settings import Settings
from policies import PolicyError, PolicySet
from policies.policy_set import default_policy_text
from policies.registry import known_rules, rule_class
from tests.policies.helpers import ctx, policy

ROOT = Path(__file__).resolve().parents[2]


def problems(toml: str) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        policy(toml)
    return [str(p) for p in caught.value.problems]


def test_every_built_in_rule_is_registered() -> None:
    assert known_rules() == [
        "compensation",
        "consent",
        "contact_limit",
        "delivery_promises",
        "deserves_reply",
        "disclaimer",
        "forbidden_phrases",
        "human_topics",
        "language",
        "legal_liability",
        "length",
        "open_complaint",
        "personal_data",
        "quiet_hours",
        "suppression",
    ]
    with pytest.raises(KeyError, match="unknown policy rule 'nope'; known rules: compensation"):
        rule_class("nope")


def test_the_default_policy_loads() -> None:
    default = PolicySet.default()
    assert default.source == "policies/default.toml"
    assert default.names[:5] == [
        "suppression",
        "consent",
        "open_complaint",
        "deserves_reply",
        "human_topics",
    ]
    assert set(default.names) == set(known_rules()) - {"disclaimer"}
    assert PolicySet.from_toml(default_policy_text()).names == default.names


def test_the_example_uses_every_rule_and_every_key() -> None:
    example = PolicySet.load(ROOT / "policies.example.toml")
    assert sorted(example.names) == known_rules()
    text = (ROOT / "policies.example.toml").read_text(encoding="utf-8")
    for rule in example.rules:
        for key in rule.Options.model_fields:
            assert f"{key} " in text or f"{key}." in text, f"{rule.name}.{key} not in example"


def test_from_settings_uses_the_configured_file_and_role(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text("[compensation]\ncaps.lead = { EUR = 10 }\n", encoding="utf-8")
    settings = Settings(policies={"file": path, "default_role": "lead"})
    loaded = PolicySet.from_settings(settings)
    assert loaded.names == ["compensation"]
    assert loaded.check(ctx("Ti rimborsiamo 10 €.", role=None)).outcome == "allow"
    assert PolicySet.from_settings(Settings()).source == "policies/default.toml"


def test_empty_policy_allows_everything() -> None:
    assert policy("").check(ctx("Anything at all, $5000.")).outcome == "allow"


def test_unknown_rule_suggests_the_closest_name() -> None:
    [message] = problems("[quiet_hour]\nstart = '22:00'\n")
    assert message.startswith("[quiet_hour]: unknown rule (did you mean 'quiet_hours'?)")
    assert "known rules: compensation, consent, contact_limit" in message


def test_unknown_key_lists_the_known_keys() -> None:
    assert problems("[quiet_hours]\nstrat = '22:00'\n") == [
        "[quiet_hours] strat: unknown key; known keys: default_tz, end, private, public, start"
    ]


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        (
            "[contact_limit]\nmax_contacts = 'three'",
            "[contact_limit] max_contacts = 'three': expected a whole number",
        ),
        (
            "[contact_limit]\nmax_contacts = 0",
            "[contact_limit] max_contacts = 0: expected a number greater than or equal to 1",
        ),
        (
            "[quiet_hours]\nstart = '25:00'",
            "[quiet_hours] start = '25:00': expected a time as HH:MM",
        ),
        (
            "[quiet_hours]\nstart = '08:00'\nend = '08:00'",
            "[quiet_hours]: start and end are equal",
        ),
        (
            "[quiet_hours]\ndefault_tz = 'Europe/Milano'",
            "[quiet_hours] default_tz = 'Europe/Milano': expected an IANA time zone",
        ),
        (
            "[quiet_hours]\nprivate = 'later'",
            "[quiet_hours] private = 'later': expected 'defer', 'allow', 'escalate' or 'block'",
        ),
        (
            "[compensation]\ncaps.agent = { USD = 'lots' }",
            "[compensation] caps.agent.USD = 'lots': expected a number, e.g. 200 or 30.50",
        ),
        (
            "[compensation]\ncaps.agent = { usd = 20 }",
            "[compensation] caps.agent.usd (key) = 'usd': expected an ISO 4217 code",
        ),
        (
            "[compensation]\ncaps.agent = { USD = -1 }",
            "[compensation] caps.agent.USD = -1: expected a number greater than or equal to 0",
        ),
        ("[compensation]", "[compensation] caps: missing; this key is required"),
        (
            "[forbidden_phrases]\npatterns = ['(unclosed']",
            "[forbidden_phrases] patterns[0] = '(unclosed': expected a regular expression",
        ),
        ("[forbidden_phrases]", "[forbidden_phrases]: expected at least one entry"),
        (
            "[length]\nlimits = { x = 0 }",
            "[length] limits.x = 0: expected a number greater than or equal to 1",
        ),
        (
            "[personal_data]\nkinds = ['email', 'passport']",
            "[personal_data] kinds[1] = 'passport': expected 'email', 'phone' or 'order_number'",
        ),
        ("quiet_hours = 5", "[quiet_hours]: expected a table of options ([quiet_hours]), got 5"),
    ],
)
def test_bad_values_name_the_rule_the_key_and_the_problem(toml: str, expected: str) -> None:
    [message] = problems(toml)
    assert message.startswith(expected), message


def test_every_problem_is_reported_at_once() -> None:
    found = problems(
        """
        [quiet_hour]
        [length]
        limit = 3
        [contact_limit]
        max_contacts = "x"
        period_days = -1
        """
    )
    assert [p.split(" ")[0] for p in found] == [
        "[quiet_hour]:",
        "[length]",
        "[contact_limit]",
        "[contact_limit]",
    ]


def test_not_toml_and_missing_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[quiet_hours\nstart = 1\n", encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        PolicySet.load(broken)
    assert str(caught.value).startswith(f"{broken}: 1 problem(s)\n  not valid TOML: ")
    assert "line 1" in str(caught.value)
    assert caught.value.exit_code == 2
    with pytest.raises(PolicyError, match="does not exist"):
        PolicySet.load(tmp_path / "missing.toml")
    latin = tmp_path / "latin.toml"
    latin.write_bytes("# perché\n".encode("latin-1"))
    with pytest.raises(PolicyError, match="not UTF-8"):
        PolicySet.load(latin)
