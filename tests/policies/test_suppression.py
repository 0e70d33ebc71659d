from __future__ import annotations

from tests.policies.helpers import ctx, outcomes, public, run


def test_opted_out_and_suppressed_customers_are_blocked() -> None:
    assert outcomes(run("suppression", ctx(opted_out=True))) == ["block"]
    assert outcomes(run("suppression", ctx(suppressed=True))) == ["block"]
    assert outcomes(run("suppression", ctx(opted_out=True, suppressed=True))) == ["block", "block"]
    assert outcomes(run("suppression", ctx())) == []


def test_listed_addresses_and_domains() -> None:
    options = {"addresses": ["Mario@Example.com"], "domains": ["competitor.example"]}
    assert outcomes(run("suppression", ctx(recipient="mario@example.com"), **options)) == ["block"]
    assert outcomes(run("suppression", ctx(recipient="ceo@competitor.example"), **options)) == [
        "block"
    ]
    assert outcomes(run("suppression", ctx(recipient="anna@example.com"), **options)) == []


def test_public_replies_follow_the_setting() -> None:
    assert outcomes(run("suppression", public("Grazie!", opted_out=True))) == ["block"]
    assert outcomes(run("suppression", public("Grazie!", opted_out=True), public=False)) == []


def test_reason_says_why() -> None:
    result = run("suppression", ctx(opted_out=True))
    assert result.findings[0].reason == "the customer opted out of contact"


def test_listed_recipients_ignore_case_spaces_and_the_at_of_handles() -> None:
    options = {"addresses": [" @Troll ", "ceo@Rival.example"], "domains": ["Other.Example"]}
    for recipient in ("troll", "@TROLL", "  ceo@rival.example "):
        assert outcomes(run("suppression", ctx(recipient=recipient), **options)) == ["block"]
    assert outcomes(run("suppression", ctx(recipient="trolls"), **options)) == []


def test_listed_domains_cover_their_subdomains_only() -> None:
    options = {"domains": ["Rival.Example"]}
    blocked = run("suppression", ctx(recipient="a@mail.rival.example"), **options)
    assert (
        blocked.findings[0].reason == "the domain rival.example is on the policy's suppression list"
    )
    for recipient in ("a@notrival.example", "a@rival.example.org", "rival.example"):
        assert run("suppression", ctx(recipient=recipient), **options).findings == (), recipient
