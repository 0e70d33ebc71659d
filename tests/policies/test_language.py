from __future__ import annotations

from tests.policies.helpers import ctx, outcomes, run

ITALIAN = "Ciao Marco, ci dispiace molto per il problema con la batteria del tuo tablet."
ENGLISH = "Hi Marco, we are very sorry about the problem with your tablet's battery."


def test_declared_language_must_be_the_customers() -> None:
    assert outcomes(run("language", ctx(ITALIAN, language="it", customer_language="it"))) == []
    result = run("language", ctx(ITALIAN, language="it", customer_language="en"))
    assert outcomes(result) == ["block"]
    assert result.findings[0].reason == "the draft is in 'it' but the customer's language is 'en'"


def test_regional_codes_compare_by_language() -> None:
    assert run("language", ctx(ENGLISH, language="en-GB", customer_language="EN_us")).findings == ()


def test_an_edit_into_another_language_is_detected() -> None:
    result = run("language", ctx(ENGLISH, language="it", customer_language="it"))
    assert outcomes(result) == ["block"]
    result = run("language", ctx(ENGLISH, language=None, customer_language="it"))
    assert outcomes(result) == ["block"]
    assert "reads as 'en'" in result.findings[0].reason


def test_detection_can_be_off_and_skips_short_texts() -> None:
    assert (
        run("language", ctx(ENGLISH, language=None, customer_language="it"), detect=False).findings
        == ()
    )
    assert (
        run("language", ctx("Grazie, Marco!", language=None, customer_language="en")).findings == ()
    )


def test_unknown_customer_language_is_no_finding() -> None:
    assert run("language", ctx(ITALIAN, language="it", customer_language=None)).findings == ()


def test_escalate_instead_of_block() -> None:
    result = run(
        "language", ctx(ITALIAN, language="it", customer_language="en"), outcome="escalate"
    )
    assert outcomes(result) == ["escalate"]


def test_detection_starts_at_min_chars() -> None:
    forty = "We are very sorry about your broken tab."
    assert len(forty) == 40
    draft = ctx(forty, language=None, customer_language="it")
    assert outcomes(run("language", draft)) == ["block"]
    assert run("language", draft.with_text(forty[:-1])).findings == ()
    assert run("language", draft, min_chars=41).findings == ()


def test_detection_below_min_confidence_is_not_trusted() -> None:
    draft = ctx(ENGLISH, language=None, customer_language="it")
    assert outcomes(run("language", draft, min_confidence=0.5)) == ["block"]
    assert run("language", draft, min_confidence=1.0).findings == ()
