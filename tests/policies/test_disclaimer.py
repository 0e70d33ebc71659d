from __future__ import annotations

from tests.policies.helpers import ctx, outcomes, run

TEXTS = {"en": "Offer subject to our terms.", "it": "Offerta soggetta ai nostri termini."}


def test_appended_in_the_reply_language_when_required() -> None:
    result = run("disclaimer", ctx("We refund $20.", language="en"), texts=TEXTS, when=["refund"])
    assert outcomes(result) == ["amend"]
    assert result.text == "We refund $20.\n\nOffer subject to our terms."
    result = run(
        "disclaimer", ctx("Ti rimborsiamo 20 €.", language="it"), texts=TEXTS, when=["rimbors"]
    )
    assert result.text == "Ti rimborsiamo 20 €.\n\nOfferta soggetta ai nostri termini."


def test_not_appended_twice_or_when_not_required() -> None:
    text = "We refund $20.\n\nOffer subject to   our terms."
    assert run("disclaimer", ctx(text), texts=TEXTS, when=["refund"]).findings == ()
    assert run("disclaimer", ctx("Thanks!"), texts=TEXTS, when=["refund"]).findings == ()


def test_channels_and_missing_language() -> None:
    options = {"texts": TEXTS, "channels": ["email"]}
    assert run("disclaimer", ctx("Hi", channel="mastodon"), **options).findings == ()
    result = run("disclaimer", ctx("Hallo", language="de", customer_language="de"), **options)
    assert outcomes(result) == ["escalate"]
    assert "none in 'de' (configured: en, it)" in result.findings[0].reason
