from __future__ import annotations

from classify.language import LanguageIdentifier


def test_short_italian_and_english() -> None:
    ident = LanguageIdentifier()
    texts = {
        "grazie mille": "it",
        "non funziona": "it",
        "pacco in ritardo": "it",
        "che schifo di servizio": "it",
        "thanks a lot": "en",
        "doesn't work": "en",
        "my order is late": "en",
        "worst service ever": "en",
    }
    got = ident.detect(list(texts))
    assert [code for code, _ in got] == list(texts.values())
    assert all(0.0 < score <= 1.0 for _, score in got)


def test_no_letters_is_undetermined() -> None:
    assert LanguageIdentifier().detect(["12345 !!!"])[0][0] == "und"
