from __future__ import annotations

import pytest

from classify.language import FUNCTION_WORDS, LanguageIdentifier, loanwords, mask


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


ISSUE_POST = "Ho appena preso le Acme Buds e in Bluetooth con il Tab 3 l'audio va a scatti…"


def test_the_issue_post_is_italian() -> None:
    ident = LanguageIdentifier()
    assert ident.detect([ISSUE_POST])[0][0] == "it"
    assert ident.detect([ISSUE_POST], ignore_terms=["Acme Buds", "Tab 3"])[0][0] == "it"


def test_italian_posts_dense_with_english_words() -> None:
    texts = [
        "Dopo l'update del firmware le Galaxy Buds2 Pro non fanno più il pairing con il PC",
        "raga qualcuno ha il problema del login sull'app? da stamattina error 500",
        "il Bluetooth non va",
        "#BlackFriday su @MediaWorld: sito down e carrello vuoto. Complimenti 👏",
        "Il tracking di Amazon dice delivered ma il pacco non c'è, refund quando?",
        "Smart TV Samsung, dopo l'ultimo update Netflix crasha appena lo apri",
    ]
    assert [code for code, _ in LanguageIdentifier().detect(texts)] == ["it"] * len(texts)


def test_english_posts_full_of_italian_names() -> None:
    ident = LanguageIdentifier()
    texts = [
        "Trenitalia app charged me twice for Regionale Veloce tickets to Genova Brignole",
        "Stuck at Fiumicino, ITA Airways cancelled my flight to Napoli and nobody at the desk",
        "Francesca at the Zara store in Via del Corso was super kind, thank you",
        "worst service ever",
        "Bluetooth won't connect",
    ]
    assert [code for code, _ in ident.detect(texts)] == ["en"] * len(texts)
    names = ["Lavazza A Modo Mio", "Esselunga"]
    post = "The Lavazza A Modo Mio pods are always out of stock at Esselunga Corso Buenos Aires"
    assert ident.detect([post], ignore_terms=names)[0][0] == "en"


def test_product_names_are_masked() -> None:
    ident = LanguageIdentifier()
    post = "Frecciarossa late again"
    assert ident.detect([post], ignore_terms=["Frecciarossa"])[0][0] == "en"
    masked = mask(
        "@AcmeSupport my Acme Phone 12 (AP-12) won't charge https://x.co/a #fail",
        ["Acme Phone 12", "AP-12"],
    )
    assert masked == "my ( ) won't charge"
    # Multi-word names match across spaces and hyphens, case-insensitively, whole words.
    assert mask("la wi-fi e il WiFi", ["wi fi"], strict=False) == "la e il WiFi"
    assert mask("Tabby e il tab", ["Tab"], strict=False) == "Tabby e il"


def test_little_left_after_masking_reads_the_hashtags() -> None:
    # Nothing but a hashtag and a handle: the hashtag's words decide.
    assert LanguageIdentifier().detect(["#NonFunzionaNiente @PosteItaliane"])[0][0] == "it"
    assert mask("#NonFunzionaNiente", strict=False) == "Non Funziona Niente"


def test_api_is_backward_compatible() -> None:
    ident = LanguageIdentifier(("it", "en"))
    assert ident.languages == ("it", "en")
    assert ident.detect([]) == []
    got = ident.detect(("non funziona", "doesn't work"))  # any sequence, positional
    assert [type(code) for code, _ in got] == [str, str]
    assert all(isinstance(score, float) and 0.0 < score <= 1.0 for _, score in got)
    assert ident.detect(["firmware update"])[0][0] in {"it", "en"}  # only loanwords: read
    with pytest.raises(ValueError, match="unknown ISO 639-1"):
        LanguageIdentifier(("it", "xx"))


def test_loanword_list_is_clean() -> None:
    words = loanwords()
    assert "bluetooth" in words
    assert "refund" in words
    assert len(words) == len(set(words))
    # Function words decide: none may be masked as a loanword.
    for code, grammar in FUNCTION_WORDS.items():
        assert not grammar & set(words), code
