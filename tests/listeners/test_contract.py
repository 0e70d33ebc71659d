"""The contract every API listener keeps, proved against its recorded API over real HTTP.

For each kind: the first run stores items from every page, the second stores nothing new
(the cursor is used), a 429 with Retry-After is waited out, 5xx answers are retried and then
recorded as a failed run with the reason, a malformed body fails the run with the reason,
and a failed run leaves the stored data untouched. Runs go through the runner, so they are
recorded in the database (SQLite and PostgreSQL).
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from ascolto.runtime.runner import run_source
from listeners.registry import known_kinds
from tests.feedserver import FeedServer, Reply
from tests.listeners.apis import SCENARIOS, mentions, runs, setup

# Kinds whose tests live elsewhere (their own engineers' modules).
OTHER_OWNERS = {"rss", "shopify", "reviews", "webhook"}


def test_every_registered_kind_is_covered() -> None:
    uncovered = set(known_kinds()) - set(SCENARIOS) - OTHER_OWNERS
    assert not uncovered, f"listener kinds without a contract scenario: {sorted(uncovered)}"


@pytest.mark.parametrize("kind", sorted(SCENARIOS))
def test_listener_contract(kind: str, server: FeedServer, make_settings: Any) -> None:
    scenario = SCENARIOS[kind]
    scenario.pages(server)
    settings, engine = setup(make_settings, scenario.source(server))

    # 1. First run: items from every page, including the second (no silent truncation).
    first = run_source(settings, engine, "src")
    assert first.status == "ok", first.error
    stored = mentions(engine)
    assert first.new == len(stored) > 0
    assert scenario.page2_ids <= set(stored), "items of the second page were not stored"
    assert not first.warnings
    requests_first = len(server.requests)

    # 2. Second run: the same listing again, nothing new, and fewer pages asked for.
    second = run_source(settings, engine, "src")
    assert second.status == "ok", second.error
    assert second.new == 0
    assert second.updated == 0
    assert len(server.requests) - requests_first < requests_first
    snapshot = {k: (m.text, m.content_hash) for k, m in mentions(engine).items()}

    # 3. 429 with Retry-After: waited out, then the run succeeds.
    page = _first_page(scenario, server)
    scenario.route_first(server, Reply(status=429, headers={"Retry-After": "1"}, body=b"{}"), page)
    before = len(server.requests)
    started = time.monotonic()
    limited = run_source(settings, engine, "src")
    assert limited.status == "ok", limited.error
    assert time.monotonic() - started >= 0.9
    asked = server.requests[before:]
    assert asked[1].at - asked[0].at >= 0.9, "Retry-After was not honoured"

    # 4. 5xx on every attempt: retried, then a failed run with the reason.
    scenario.route_first(server, Reply(status=503, body=b"upstream down"))
    before = len(server.requests)
    failed = run_source(settings, engine, "src")
    assert failed.status == "failed"
    assert "503" in (failed.error or "")
    assert len(server.requests) - before == settings.http.retries + 1

    # 5. Malformed body: a failed run saying why.
    scenario.route_first(server, Reply.recorded(scenario.truncated))
    broken = run_source(settings, engine, "src")
    assert broken.status == "failed"
    assert "not valid JSON" in (broken.error or "")

    recorded = runs(engine)
    assert [r.status for r in recorded] == ["ok", "ok", "ok", "failed", "failed"]
    assert "503" in (recorded[3].error or "")
    assert "not valid JSON" in (recorded[4].error or "")
    assert {k: (m.text, m.content_hash) for k, m in mentions(engine).items()} == snapshot


def _first_page(scenario: Any, server: FeedServer) -> Reply:
    """The normal answer of the first page, as the scenario serves it."""
    scenario.pages(server)
    path, query = scenario.first
    reply = server._next(path, query)
    assert reply is not None
    return reply
