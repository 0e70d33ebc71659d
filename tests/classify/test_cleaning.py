from __future__ import annotations

from classify.cleaning import MAX_CHARS, clean


def test_empty_and_blank() -> None:
    assert clean("").reason == "empty"
    assert clean("   \n\t").reason == "empty"


def test_only_urls() -> None:
    assert clean("https://example.com/a http://x.io www.acme.it").reason == "only_urls"


def test_only_punctuation() -> None:
    assert clean("!!! ... ???").reason == "no_text"


def test_emoji_only_is_still_classified() -> None:
    c = clean("😡😡😡")
    assert c.reason is None
    assert not c.has_words


def test_control_characters_and_lone_surrogates() -> None:
    c = clean("bad\x00 input\x07 \ud800 here\udfff")
    assert c.reason is None
    assert "\x00" not in c.text
    assert "\x07" not in c.text
    c.text.encode("utf-8")  # must not raise


def test_long_posts_are_truncated() -> None:
    c = clean("parola " * 20_000)
    assert c.truncated
    assert len(c.text) <= MAX_CHARS


def test_handles_and_links_normalised_like_training_data() -> None:
    c = clean("@AcmeHelp my order https://t.co/xyz is late")
    assert c.text == "@user my order is late"
