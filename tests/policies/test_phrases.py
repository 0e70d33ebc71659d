from __future__ import annotations

import pytest

from tests.policies.helpers import ctx, outcomes, run


def forbidden(text: str, **options: object) -> list[str]:
    return outcomes(run("forbidden_phrases", ctx(text), **options))


def test_phrases_match_whole_words_any_case_and_spacing() -> None:
    options = {"phrases": ["we guarantee", "mai più"]}
    assert forbidden("We  GUARANTEE it works.", **options) == ["block"]
    assert forbidden("Non succederà mai\npiù.", **options) == ["block"]
    assert forbidden("we guaranteed nothing", **options) == []
    assert forbidden("Everything is fine.", **options) == []


def test_patterns_and_outcome() -> None:
    options = {"patterns": [r"free\s+\w+\s+for\s+life"], "outcome": "escalate"}
    assert forbidden("You get free repairs for life!", **options) == ["escalate"]
    assert forbidden("Repairs are free for a year.", **options) == []


def test_reason_quotes_what_matched() -> None:
    result = run("forbidden_phrases", ctx("We guarantee it."), phrases=["we guarantee"])
    assert result.findings[0].reason == 'contains forbidden wording: "We guarantee"'


@pytest.mark.parametrize(
    "text",
    [
        "We are liable for the damage to your kitchen.",
        "We're fully liable for this.",
        "We accept full liability for what happened.",
        "We admit legal responsibility.",
        "It was our fault, legally speaking.",
        "We will pay all damages.",
        "Ammettiamo la responsabilità per quanto accaduto.",
        "Ammettiamo la nostra responsabilità.",
        "Siamo legalmente responsabili del danno.",
        "Ci assumiamo ogni responsabilità.",
        "Siamo responsabili dei danni al tuo forno.",
    ],
)
def test_admissions_of_liability_are_blocked(text: str) -> None:
    assert outcomes(run("legal_liability", ctx(text))) == ["block"]


@pytest.mark.parametrize(
    "text",
    [
        "We are sorry, that was our mistake.",
        "We accept no liability beyond the warranty.",
        "Ci dispiace, abbiamo sbagliato noi.",
        "Siamo responsabili della qualità dei nostri prodotti e vogliamo capire.",
        "Our legal team will get back to you.",
    ],
)
def test_apologies_are_not_admissions(text: str) -> None:
    assert outcomes(run("legal_liability", ctx(text))) == []


def test_extra_liability_patterns() -> None:
    result = run(
        "legal_liability", ctx("Colpa nostra, senza dubbio."), extra_patterns=["colpa nostra"]
    )
    assert outcomes(result) == ["block"]
    assert "only the legal team may say that" in result.findings[0].reason
