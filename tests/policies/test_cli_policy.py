"""`ascolto policy ...` run as a real process: check, rules, try, plugins, explain."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from ascolto.database import prepare
from ascolto.settings import load_settings
from storage.db import session_scope
from storage.models import Author, Classification, Customer, Draft, Mention, Source
from tests.conftest import write_settings
from tests.test_cli import ascolto

BAD = """
[quiet_hour]
start = "22:00"

[compensation]
caps.agent = { USD = "lots" }
strat = 1

[contact_limit]
max_contacts = "three"
"""


def test_check_the_shipped_policy(tmp_path: Path) -> None:
    result = ascolto(tmp_path, "policy", "check")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(
        "policies/default.toml: valid; 14 rules, applied in this order:"
    )


def test_check_a_good_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text("[length]\nlimits = { x = 280 }\n[quiet_hours]\n", encoding="utf-8")
    result = ascolto(tmp_path, "policy", "check", "policy.toml")
    assert result.returncode == 0, result.stderr
    assert (
        "policy.toml: valid; 2 rules, applied in this order: length, quiet_hours" in result.stdout
    )


def test_check_a_bad_file_names_rule_key_and_problem(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text(BAD, encoding="utf-8")
    result = ascolto(tmp_path, "policy", "check", "bad.toml")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == "error: bad.toml: 4 problem(s)"
    assert lines[1].startswith("  [quiet_hour]: unknown rule (did you mean 'quiet_hours'?)")
    assert lines[2] == (
        "  [compensation] caps.agent.USD = 'lots': expected a number, e.g. 200 or 30.50"
    )
    assert lines[3] == "  [compensation] strat: unknown key; known keys: caps, dollar, total"
    assert lines[4] == "  [contact_limit] max_contacts = 'three': expected a whole number"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "missing.toml: 1 problem(s)\n  file does not exist"),
        ("[length\n", "missing.toml: 1 problem(s)\n  not valid TOML: "),
    ],
)
def test_check_a_missing_or_broken_file(tmp_path: Path, content: str | None, message: str) -> None:
    if content is not None:
        (tmp_path / "missing.toml").write_text(content, encoding="utf-8")
    result = ascolto(tmp_path, "policy", "check", "missing.toml")
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {message}")


def test_check_the_configured_file(tmp_path: Path, sqlite_url: str) -> None:
    (tmp_path / "bad.toml").write_text("[length]\naction = 'cut'\n", encoding="utf-8")
    write_settings(tmp_path / "settings.toml", sqlite_url, '[policies]\nfile = "bad.toml"\n')
    result = ascolto(tmp_path, "policy", "check")
    assert result.returncode == 2
    assert "[length] action = 'cut': expected 'block' or 'truncate'" in result.stderr


def test_a_typo_in_the_policies_settings_is_named(tmp_path: Path, sqlite_url: str) -> None:
    write_settings(tmp_path / "settings.toml", sqlite_url, '[policies]\nflie = "x.toml"\n')
    result = ascolto(tmp_path, "policy", "check")
    assert result.returncode == 2
    assert "policies.flie: unknown key; known keys: default_role, file" in result.stderr


def test_rules_lists_every_rule_with_its_keys(tmp_path: Path) -> None:
    result = ascolto(tmp_path, "policy", "rules")
    assert result.returncode == 0, result.stderr
    for name in ("[compensation]", "[quiet_hours]", "[personal_data]", "[length]"):
        assert name in result.stdout
    assert "max_contacts" in result.stdout
    assert "required" in result.stdout  # compensation.caps


def test_try_a_text(tmp_path: Path) -> None:
    result = ascolto(
        tmp_path,
        "policy",
        "try",
        "Your parcel arrives tomorrow, and we refund $250. Mail a@b.example",
        "--channel",
        "mastodon",
        "--at",
        "2026-11-24T10:00:00+00:00",
        "--delivery-date",
        "2026-11-25",
        "--json",
    )
    assert result.returncode == 1, result.stderr
    verdict = json.loads(result.stdout)
    assert verdict["outcome"] == "escalate"
    assert verdict["text"].endswith("Mail [removed]")
    assert [f["rule"] for f in verdict["findings"]] == ["compensation", "personal_data"]
    allowed = ascolto(tmp_path, "policy", "try", "Thanks!", "--at", "2026-11-24T10:00:00Z")
    assert allowed.returncode == 0, allowed.stderr
    assert ": allow" in allowed.stdout
    assert (
        "rules with nothing to say: suppression, consent, open_complaint, deserves_reply"
        in allowed.stdout
    )


PLUGIN = '''
from policies import PASS, DraftContext, Rule, RuleOptions, RuleResult


class NoShoutingOptions(RuleOptions):
    max_capitals: float = 0.5


class NoShouting(Rule[NoShoutingOptions]):
    """Replies are not written in capitals."""

    name = "{name}"
    Options = NoShoutingOptions

    def check(self, ctx: DraftContext) -> RuleResult:
        letters = [c for c in ctx.text if c.isalpha()]
        shouted = sum(c.isupper() for c in letters) / max(1, len(letters))
        if shouted > self.options.max_capitals:
            return self.fire("block", f"{{shouted:.0%}} of the letters are capitals")
        return PASS
'''


def install_plugin(folder: Path, name: str) -> dict[str, str]:
    """A plugin package with an `ascolto.policies` entry point, importable via PYTHONPATH."""
    folder.mkdir()
    (folder / "acme_policy.py").write_text(PLUGIN.format(name=name), encoding="utf-8")
    info = folder / "acme_policy-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: acme-policy\nVersion: 1.0\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        f"[ascolto.policies]\n{name} = acme_policy:NoShouting\n", encoding="utf-8"
    )
    path = os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")]))
    return {"PYTHONPATH": path}


def test_a_plugin_rule_through_the_entry_point(tmp_path: Path) -> None:
    env = install_plugin(tmp_path / "plugin", "no_shouting")
    (tmp_path / "policy.toml").write_text(
        "[no_shouting]\nmax_capitals = 0.3\n[length]\n", encoding="utf-8"
    )
    checked = ascolto(tmp_path, "policy", "check", "policy.toml", env=env)
    assert checked.returncode == 0, checked.stderr
    assert "2 rules, applied in this order: no_shouting, length" in checked.stdout
    shouted = ascolto(
        tmp_path, "policy", "try", "WHY ARE YOU SHOUTING", "--policy", "policy.toml", env=env
    )
    assert shouted.returncode == 1
    assert "100% of the letters are capitals" in shouted.stdout
    (tmp_path / "typo.toml").write_text("[no_shouting]\nmax_caps = 1\n", encoding="utf-8")
    typo = ascolto(tmp_path, "policy", "check", "typo.toml", env=env)
    assert typo.returncode == 2
    assert "[no_shouting] max_caps: unknown key; known keys: max_capitals" in typo.stderr


def test_a_plugin_may_not_take_a_built_in_name(tmp_path: Path) -> None:
    env = install_plugin(tmp_path / "plugin", "length")
    result = ascolto(tmp_path, "policy", "check", env=env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert (
        "policy rule 'length' is defined twice: acme_policy.NoShouting and"
        in (result.stderr.replace("\n", " "))
        or "policy rule 'length' is defined twice" in result.stderr
    )


def stored_draft(database_url: str, settings_path: Path) -> int:
    """A public reply drafted while all was well; since then the customer opted out."""
    settings = load_settings(settings_path)
    engine = prepare(settings)
    text = (
        "Ciao Marco, ci dispiace molto. Ti offriamo un buono di 250 € per il disagio. "
        "Scrivici a marco@example.com"
    )
    with session_scope(engine) as session:
        source = Source(name="forum", kind="rss")
        customer = Customer(
            email="marco@example.com",
            name="Marco",
            language="it",
            timezone="Europe/Rome",
            do_not_contact=True,
        )
        session.add_all([source, customer])
        session.flush()
        author = Author(platform="forum", handle="marco", customer_id=customer.id)
        session.add(author)
        session.flush()
        mention = Mention(
            source_id=source.id or 0,
            external_id="m1",
            text="Il caricatore puzza di bruciato!",
            content_hash="h1",
            author_id=author.id,
            lang="it",
        )
        session.add(mention)
        session.flush()
        session.add(
            Classification(
                mention_id=mention.id or 0,
                model_version="test",
                content_hash="h1",
                language="it",
                complaint=True,
                issues=["defect"],
                urgency=["safety"],
            )
        )
        draft = Draft(
            key=f"reply:mention:{mention.id}",
            mention_id=mention.id,
            customer_id=customer.id,
            author_id=author.id,
            channel="manual",
            public=True,
            recipient="marco",
            language="it",
            intent="complaint",
            template="it/complaint.public.txt.j2",
            text=text,
            drafted_text=text,
            status="escalated",
            verdict="escalate",
            verdict_details=[
                {
                    "rule": "human_topics",
                    "outcome": "escalate",
                    "reason": "the mention is about a safety risk (safety)",
                }
            ],
            policy_version="default.toml@000000000000",
        )
        session.add(draft)
        session.flush()
        assert draft.id is not None
        return draft.id


def test_explain_a_stored_draft(tmp_path: Path, database_url: str) -> None:
    settings_path = write_settings(tmp_path / "settings.toml", database_url)
    draft_id = stored_draft(database_url, settings_path)

    result = ascolto(tmp_path, "policy", "explain", str(draft_id), "--at", "2026-11-24T10:00Z")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"draft {draft_id} (escalated): complaint on manual (public), language it" in out
    stored, current = out.split("verdict now", 1)
    assert "verdict when drafted" in stored
    assert "policy default.toml@000000000000): escalate" in stored
    assert "a safety risk (safety)" in stored
    assert "2026-11-24 10:00 UTC, role agent" in current
    assert "the policy changed since drafting" in current
    assert "): block" in current
    for expected in (
        "the customer opted out of contact",
        "a safety risk (safety)",
        "offers 250 EUR, over the agent cap of 200 EUR",
        "removed 1 e-mail address from a public reply",
        "Scrivici a [removed]",
    ):
        assert expected in current, expected

    as_json = ascolto(
        tmp_path, "policy", "explain", str(draft_id), "--role", "supervisor", "--json"
    )
    assert as_json.returncode == 0, as_json.stderr
    data = json.loads(as_json.stdout)
    assert data["stored"]["outcome"] == "escalate"
    assert data["current"]["outcome"] == "block"
    assert [f["rule"] for f in data["current"]["findings"]] == [
        "suppression",
        "human_topics",
        "personal_data",
    ]


def test_explain_an_unknown_draft(tmp_path: Path, sqlite_url: str) -> None:
    write_settings(tmp_path / "settings.toml", sqlite_url)
    result = ascolto(tmp_path, "policy", "explain", "999")
    assert result.returncode == 2
    assert "no draft with id 999" in result.stderr


def test_example_in_the_repository_is_valid(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "policies.example.toml"
    result = ascolto(tmp_path, "policy", "check", str(example))
    assert result.returncode == 0, result.stderr
    assert "15 rules" in result.stdout
    assert textwrap.dedent(BAD)  # keep BAD used by name in this module
