from __future__ import annotations

import pytest

from policies.rules.length import truncate
from tests.policies.helpers import ctx, outcomes, public, run


@pytest.mark.parametrize(
    ("channel", "size", "expected"),
    [
        ("mastodon", 500, []),
        ("mastodon", 501, ["block"]),
        ("x", 280, []),
        ("x", 281, ["block"]),
        ("reddit", 10000, []),
        ("reddit", 10001, ["block"]),
        ("email", 50000, []),
        ("manual", 50000, []),
    ],
)
def test_default_limits_per_channel(channel: str, size: int, expected: list[str]) -> None:
    assert outcomes(run("length", ctx("a" * size, channel=channel))) == expected


def test_reason_gives_the_length_and_the_limit() -> None:
    result = run("length", ctx("a" * 612, channel="mastodon"))
    assert result.findings[0].reason == "too long: 612 characters; mastodon allows 500"


def test_limits_are_per_channel_and_configurable() -> None:
    options = {"limits": {"email": 100}}
    assert outcomes(run("length", ctx("a" * 101), **options)) == ["block"]
    assert outcomes(run("length", ctx("a" * 1000, channel="mastodon"), **options)) == []


def test_truncation_amends_after_the_last_whole_sentence() -> None:
    text = "We are sorry about the delay with your order. " * 20
    result = run("length", ctx(text, channel="x"), action="truncate")
    assert outcomes(result) == ["amend"]
    assert result.text == "We are sorry about the delay with your order. " * 5 + (
        "We are sorry about the delay with your order."
    )
    assert result.findings[0].reason == "truncated: the reply had 920 characters; x allows 280"


def test_truncation_without_a_near_sentence_end_cuts_at_a_word() -> None:
    assert truncate("Short. " + "word " * 100, 50, "…") == "Short." + " word" * 8 + "…"
    assert truncate("word " * 100, 50, "...") == "word " * 8 + "word..."
    # No space near the end: cut inside the word rather than lose a fifth of the room.
    assert truncate("one two three four", 12, "...") == "one two t..."
    assert truncate("a" * 20, 10, "…") == "a" * 9 + "…"
    assert truncate("Fits.", 5, "…") == "Fits."


def test_characters_are_code_points_not_bytes() -> None:
    assert run("length", ctx("è" * 280, channel="x")).findings == ()
    assert run("length", ctx("😀" * 280, channel="x")).findings == ()
    assert outcomes(run("length", ctx("😀" * 281, channel="x"))) == ["block"]


def test_a_ready_to_post_copy_keeps_to_its_networks_limit() -> None:
    copy = public("x" * 301, channel="manual", network="bluesky")
    assert outcomes(run("length", copy)) == ["block"]
    assert "bluesky allows 300" in run("length", copy).findings[0].reason
    assert outcomes(run("length", public("x" * 301, channel="manual", network="reddit"))) == []
    assert outcomes(run("length", public("x" * 301, channel="manual"))) == []
