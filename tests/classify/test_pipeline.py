from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from classify.language import LanguageIdentifier
from classify.pipeline import Classifier, ProductSpec, Text

PRODUCTS = [ProductSpec(name="Acme Tab 10", aliases=["acme tablet"], skus=["AT-1000"])]


def test_labels_on_clear_examples(classifier: Classifier) -> None:
    texts = [
        Text("I absolutely love my new Acme Tab 10, best purchase this year!"),
        Text("Il mio Acme Tab 10 si è rotto dopo una settimana e l'assistenza non risponde"),
        Text("I was charged twice for my order and still no refund. Cancelling my account."),
        Text("The charger started smoking and there was a burning smell", lang="en"),
    ]
    out = classifier.classify(texts, products=PRODUCTS)
    assert [o.language for o in out] == ["en", "it", "en", "en"]
    assert out[0].sentiment == "positive"
    assert "praise" in out[0].issues
    assert out[1].sentiment == "negative"
    assert out[1].complaint
    assert "defect" in out[1].issues
    assert out[0].products == ["Acme Tab 10"]
    assert out[1].products == ["Acme Tab 10"]
    assert "billing" in out[2].issues
    assert "churn" in out[2].urgency
    assert "safety" in out[3].urgency
    for o in out:
        assert o.unclassifiable_reason is None
        assert abs(sum(o.sentiment_scores.values()) - 1.0) < 1e-4
        assert o.complaint_score is not None
        assert 0.0 <= o.complaint_score <= 1.0
        assert set(o.issue_scores) == {
            "defect",
            "delivery",
            "billing",
            "service",
            "question",
            "praise",
            "other",
        }
        assert o.embedding is not None
        assert o.embedding.shape == (classifier.encoder.dim,)
        assert abs(float(np.linalg.norm(o.embedding)) - 1.0) < 1e-3
        assert o.model_version == classifier.model_version
        assert 0.0 < o.confidence <= 1.0
    # The shipped heads grade how strongly a complaint blames; a non-complaint blames nobody.
    assert out[0].severity == "none"
    assert out[1].severity in ("reproach", "disapproval", "accusation", "blame")
    assert set(out[1].severity_scores) == {"none", "reproach", "disapproval", "accusation", "blame"}


def test_a_post_read_as_positive_is_no_complaint(classifier: Classifier) -> None:
    texts = [
        "Finally the Acme Tab 10 battery lasts all day after the update, thank you!",
        "Finalmente la batteria del Tab 10 dura tutto il giorno, grazie mille!",
    ]
    for labels in classifier.classify(texts):
        assert labels.sentiment == "positive"
        assert not labels.complaint


def test_bad_input_never_stops_the_batch(classifier: Classifier) -> None:
    bad = [
        "",
        "   ",
        "😡😡😡",
        "https://t.co/abc https://example.com",
        "x" * 100_000,
        "Great product but la consegna è stata un disastro",
        "control\x00chars\x1b[31m here",
        "lone surrogate \ud800 inside",
        None,
        "ok",
    ]
    out = classifier.classify(bad)  # type: ignore[arg-type]
    assert len(out) == len(bad)
    reasons = [o.unclassifiable_reason for o in out]
    assert reasons[0] == "empty"
    assert reasons[1] == "empty"
    assert reasons[3] == "only_urls"
    assert reasons[8] == "not_text"
    for i in (2, 4, 5, 6, 7, 9):
        assert reasons[i] is None, (i, reasons[i])
        assert out[i].sentiment in {"negative", "neutral", "positive"}
    assert out[2].language == "und"
    assert out[4].truncated
    assert out[5].language in {"en", "it"}


def test_empty_batch(classifier: Classifier) -> None:
    assert classifier.classify([]) == []


def test_configured_products_are_masked_for_language_detection(classifier: Classifier) -> None:
    post = "Ho appena preso le Acme Buds e in Bluetooth con il Tab 3 l'audio va a scatti…"
    products = [
        ProductSpec(name="Acme Buds", aliases=["acme earbuds"], skus=["AB-3"]),
        ProductSpec(name="Acme Tab 3", aliases=["Tab 3"]),
    ]
    out = classifier.classify([Text(post)], products)
    assert out[0].language == "it"
    assert sorted(out[0].products) == ["Acme Buds", "Acme Tab 3"]

    calls: list[tuple[list[str], list[str] | None]] = []

    class Spy(LanguageIdentifier):
        def detect(
            self, texts: Sequence[str], ignore_terms: Iterable[str] | None = None
        ) -> list[tuple[str, float]]:
            calls.append((list(texts), None if ignore_terms is None else list(ignore_terms)))
            return super().detect(texts, ignore_terms or ())

    spied = Classifier(classifier.encoder, classifier.heads, Spy())
    spied.classify([Text(post), Text("already known", lang="en")], products)
    spied.classify([Text(post)])
    assert calls == [
        ([post], ["Acme Buds", "acme earbuds", "AB-3", "Acme Tab 3", "Tab 3"]),
        # Without products the identifier is called as before (one argument).
        ([post], None),
    ]
    routes = [ProductSpec(name="Frecciarossa")]
    assert classifier.classify([Text("Frecciarossa late again")], routes)[0].language == "en"
