"""Property-based checks of the parsers that read text from outside (issue 22, point 4):
whatever the text, each answers with a value or its own refusal, never another exception.
Bounded: a fixed number of derandomized examples, no example database."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from fastapi import HTTPException
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ascolto.settings import Settings
from ascolto.web.mentions import parse_cursor
from ascolto.web.middleware import ClientAddress, _content_length, parse_networks
from outreach.campaigns.answers import AnswerError, parse_score
from outreach.campaigns.links import LinkExpired, LinkInvalid, read_survey_token
from outreach.unsubscribe import read_token
from storage.types import whole_number

BOUNDED = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
# Digits of every script, superscripts, signs, separators and plain text.
NUMBERISH = st.one_of(
    st.text(st.characters(categories=["Nd", "No", "Nl"]), max_size=30),
    st.text(
        alphabet="0123456789²³¹+-_. ~eE" + "".join(map(chr, range(0x660, 0x66A))),
        max_size=40,
    ),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.text(max_size=40),
    st.just("9" * 5000),
)
SETTINGS = Settings(secret_key="a-secret-key-for-property-tests-0123456789")  # type: ignore[arg-type]
NOW = datetime(2026, 11, 27, tzinfo=UTC)


@BOUNDED
@given(NUMBERISH, st.integers(0, 10**6), st.integers(0, 10**12))
def test_whole_number(text: str, low: int, span: int) -> None:
    value = whole_number(text, low=low, high=low + span)
    if value is not None:
        assert low <= value <= low + span
        assert text.strip().isascii()


@BOUNDED
@given(st.one_of(NUMBERISH, st.builds(lambda a, b: f"{a}~{b}", st.text(max_size=40), NUMBERISH)))
def test_parse_cursor(text: str) -> None:
    try:
        found = parse_cursor(text)
    except HTTPException as exc:
        refused = exc.status_code
        assert refused == 422
        return
    if found is not None:
        at, ident = found
        assert at.tzinfo is not None
        assert 1 <= ident <= 2_147_483_647


@BOUNDED
@given(NUMBERISH, NUMBERISH, st.text(max_size=30))
def test_read_survey_token(first: str, second: str, signature: str) -> None:
    for token in (f"{first}.{second}.{signature}", first, f"{first}.{second}"):
        with pytest.raises((LinkInvalid, LinkExpired)):
            read_survey_token(SETTINGS, token, now=NOW)


@BOUNDED
@given(st.sampled_from(["csat", "nps"]), st.one_of(st.none(), NUMBERISH))
def test_parse_score(question: str, text: str | None) -> None:
    try:
        score = parse_score(question, text)
    except AnswerError:
        return
    assert score is None or 0 <= score <= 10


@BOUNDED
@given(st.text(max_size=80))
def test_read_unsubscribe_token(token: str) -> None:
    assert read_token("a-secret", token) is None


@BOUNDED
@given(
    st.lists(
        st.tuples(
            st.sampled_from([b"x-forwarded-for", b"forwarded", b"content-length", b"other"]),
            st.binary(max_size=60),
        ),
        max_size=4,
    )
)
def test_forwarding_and_length_headers(headers: list[tuple[bytes, bytes]]) -> None:
    seen: list[str] = []

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        seen.append(scope["client"][0])

    scope = {"type": "http", "client": ("10.0.0.2", 1), "headers": headers}
    middleware = ClientAddress(app, parse_networks(["10.0.0.0/8"]))
    # A thread of its own: an earlier test may leave an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, middleware(scope, None, None)).result()  # type: ignore[arg-type]
    assert len(seen) == 1
    length = _content_length(scope)
    assert length is None or length >= 0
