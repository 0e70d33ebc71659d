"""Runs: the per-source lease, failures, interrupted runs, health, source sync, audit."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from storage import audit
from storage.db import session_scope
from storage.models import AuditEvent, ListenerRun, Mention, Source
from storage.runs import (
    SourceHealth,
    close_interrupted_runs,
    fail_run,
    source_health,
    start_run,
)
from storage.sources import SourceSpec, get_source, lease_owner, sync_sources
from storage.types import utcnow
from tests.factories import OWNER, make_item, make_run, make_source


@pytest.fixture
def source_id(engine: Engine) -> int:
    with session_scope(engine) as session:
        return make_source(session, "forum").id or 0


def try_start(engine: Engine, source_id: int, owner: str) -> ListenerRun | None:
    """start_run in its own committed transaction, as the runner calls it."""
    with session_scope(engine) as session:
        source = session.get(Source, source_id)
        assert source is not None
        return start_run(session, source, owner=owner, lease_seconds=900, trigger="manual")


def set_lease(engine: Engine, source_id: int, owner: str | None, *, seconds: float) -> None:
    """Put a lease on the source directly: `seconds` from now (negative: expired)."""
    with session_scope(engine) as session:
        session.execute(
            update(Source)
            .where(col(Source.id) == source_id)
            .values(lease_owner=owner, lease_until=utcnow() + timedelta(seconds=seconds))
        )


def lease_of(engine: Engine, source_id: int) -> str | None:
    with Session(engine) as session:
        source = session.get(Source, source_id)
        assert source is not None
        return source.lease_owner


def get_run(engine: Engine, run_id: int | None) -> ListenerRun:
    with Session(engine) as session:
        run = session.get(ListenerRun, run_id)
        assert run is not None
        return run


def dead_local_owner() -> str:
    """A lease owner naming a process of this host that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return f"{socket.gethostname()}:{child.pid}"


def texts(engine: Engine) -> dict[str, str]:
    with Session(engine) as session:
        return {m.external_id: m.text for m in session.exec(select(Mention)).all()}


# --- the lease --------------------------------------------------------------------


def test_second_start_while_leased_returns_none(engine: Engine, source_id: int) -> None:
    first = try_start(engine, source_id, "host-a:1")
    assert first is not None
    assert first.status == "running"
    assert lease_of(engine, source_id) == "host-a:1"

    assert try_start(engine, source_id, "host-b:2") is None
    assert try_start(engine, source_id, "host-a:1") is None  # not re-entrant either
    with Session(engine) as session:
        assert len(session.exec(select(ListenerRun)).all()) == 1
    assert lease_of(engine, source_id) == "host-a:1"


def test_leases_are_per_source(engine: Engine, source_id: int) -> None:
    with session_scope(engine) as session:
        other = make_source(session, "other").id or 0
    assert try_start(engine, source_id, "host-a:1") is not None
    assert try_start(engine, other, "host-b:2") is not None


def test_lease_is_released_when_the_run_ends(engine: Engine, source_id: int) -> None:
    make_run(engine, source_id, [make_item()])
    assert lease_of(engine, source_id) is None
    make_run(engine, source_id, status="failed")
    assert lease_of(engine, source_id) is None
    assert try_start(engine, source_id, "host-b:2") is not None


def test_expired_lease_can_be_taken(engine: Engine, source_id: int) -> None:
    set_lease(engine, source_id, "host-a:1", seconds=-1)
    run = try_start(engine, source_id, "host-b:2")
    assert run is not None
    assert lease_of(engine, source_id) == "host-b:2"


def test_lease_of_a_dead_local_process_can_be_taken(engine: Engine, source_id: int) -> None:
    set_lease(engine, source_id, dead_local_owner(), seconds=3600)
    assert try_start(engine, source_id, "host-b:2") is not None
    assert lease_of(engine, source_id) == "host-b:2"


def test_lease_of_a_live_local_process_is_respected(engine: Engine, source_id: int) -> None:
    me = lease_owner()
    assert me == f"{socket.gethostname()}:{os.getpid()}"
    set_lease(engine, source_id, me, seconds=3600)
    assert try_start(engine, source_id, "host-b:2") is None
    assert lease_of(engine, source_id) == me


def test_finishing_a_run_whose_lease_was_taken_keeps_the_new_lease(
    engine: Engine, source_id: int
) -> None:
    # Run A's lease expires; run B takes it; A finishing late must not release B's lease.
    slow = make_run(engine, source_id, status="running", owner="host-a:1")
    set_lease(engine, source_id, "host-a:1", seconds=-1)
    assert try_start(engine, source_id, "host-b:2") is not None
    with session_scope(engine) as session:
        session.add(slow)
        fail_run(session, slow, owner="host-a:1", status="failed", error="too slow")
    assert lease_of(engine, source_id) == "host-b:2"


# --- failed runs ------------------------------------------------------------------


def test_fail_run_records_status_and_error_and_keeps_mentions(
    engine: Engine, source_id: int
) -> None:
    make_run(engine, source_id, [make_item(external_id="a", text="uno")], cursor={"page": 1})
    before = texts(engine)

    run = make_run(engine, source_id, status="failed", error="HTTP 503 from the feed")
    saved = get_run(engine, run.id)
    assert saved.status == "failed"
    assert saved.error == "HTTP 503 from the feed"
    assert saved.finished_at is not None
    assert saved.finished_at >= saved.started_at
    assert (saved.items_seen, saved.items_new, saved.items_updated) == (0, 0, 0)
    assert saved.cursor is None
    assert texts(engine) == before == {"a": "uno"}
    assert lease_of(engine, source_id) is None


def test_fail_run_keeps_a_long_error_bounded(engine: Engine, source_id: int) -> None:
    run = make_run(engine, source_id, status="failed", error="é" * 10_000)
    assert get_run(engine, run.id).error == "é" * 4000


def test_blocked_run(engine: Engine, source_id: int) -> None:
    run = make_run(engine, source_id, status="blocked", error="HTTP 403: blocked by the site")
    saved = get_run(engine, run.id)
    assert (saved.status, saved.error) == ("blocked", "HTTP 403: blocked by the site")


# --- interrupted runs -------------------------------------------------------------


def test_close_interrupted_runs(engine: Engine) -> None:
    with session_scope(engine) as session:
        expired, dead, alive, done = (
            make_source(session, name).id or 0 for name in ("expired", "dead", "alive", "done")
        )
    lost = make_run(engine, expired, status="running", owner="host-a:1")
    set_lease(engine, expired, "host-a:1", seconds=-60)
    crashed = make_run(engine, dead, status="running", owner="host-a:1")
    set_lease(engine, dead, dead_local_owner(), seconds=3600)
    going = make_run(engine, alive, status="running", owner="host-b:2")
    finished = make_run(engine, done, [make_item()])

    with session_scope(engine) as session:
        assert close_interrupted_runs(session) == 2

    for run in (lost, crashed):
        saved = get_run(engine, run.id)
        assert saved.status == "interrupted"
        assert saved.finished_at is not None
        assert saved.error is not None
        assert "stopped" in saved.error
    assert lease_of(engine, expired) is None
    assert lease_of(engine, dead) is None

    assert get_run(engine, going.id).status == "running"
    assert lease_of(engine, alive) == "host-b:2"
    assert get_run(engine, finished.id).status == "ok"

    # Nothing left to close: calling it again changes nothing.
    with session_scope(engine) as session:
        assert close_interrupted_runs(session) == 0
    assert get_run(engine, going.id).status == "running"


def test_an_interrupted_source_can_run_again(engine: Engine, source_id: int) -> None:
    make_run(engine, source_id, status="running", owner="host-a:1")
    set_lease(engine, source_id, "host-a:1", seconds=-1)
    with session_scope(engine) as session:
        close_interrupted_runs(session)
    run = make_run(engine, source_id, [make_item()])
    assert get_run(engine, run.id).status == "ok"


# --- health -----------------------------------------------------------------------


def health(engine: Engine) -> dict[str, SourceHealth]:
    with Session(engine) as session:
        return {h.name: h for h in source_health(session)}


def test_health_never_run(engine: Engine, source_id: int) -> None:
    report = health(engine)["forum"]
    assert report.working == "never run"
    assert report.last_status is None
    assert report.last_new is None
    assert report.consecutive_failures == 0
    assert report.mentions == 0
    assert report.last_success is None


def test_health_working_then_failing_then_working(engine: Engine, source_id: int) -> None:
    ok = make_run(engine, source_id, [make_item(), make_item()])
    h = health(engine)["forum"]
    assert h.working == "working"
    assert h.last_new == 2
    assert h.mentions == 2
    assert h.consecutive_failures == 0
    assert h.last_success == get_run(engine, ok.id).finished_at

    make_run(engine, source_id, status="failed", error="timeout")
    make_run(engine, source_id, status="failed", error="HTTP 500")
    h = health(engine)["forum"]
    assert h.working == "failing"
    assert h.consecutive_failures == 2
    assert h.last_error == "HTTP 500"
    assert h.last_new is None  # unknown after a failed run, not 0
    assert h.mentions == 2
    assert h.last_success == get_run(engine, ok.id).finished_at

    make_run(engine, source_id, status="not_modified")
    h = health(engine)["forum"]
    assert h.working == "working"
    assert h.consecutive_failures == 0
    assert h.last_new == 0


def test_health_blocked(engine: Engine, source_id: int) -> None:
    make_run(engine, source_id, status="failed")
    make_run(engine, source_id, status="blocked", error="HTTP 403")
    h = health(engine)["forum"]
    assert h.working == "blocked"
    assert h.consecutive_failures == 2
    assert h.last_new is None
    assert h.last_success is None


def test_health_failure_only_source(engine: Engine, source_id: int) -> None:
    for _ in range(3):
        make_run(engine, source_id, status="failed")
    h = health(engine)["forum"]
    assert (h.working, h.consecutive_failures) == ("failing", 3)


def test_health_a_run_in_progress_does_not_reset_failures(engine: Engine, source_id: int) -> None:
    make_run(engine, source_id, [make_item()])
    make_run(engine, source_id, status="failed")
    make_run(engine, source_id, status="running")
    h = health(engine)["forum"]
    assert h.working == "running"
    assert h.consecutive_failures == 1
    assert h.last_new is None


def test_health_lists_every_source_by_name(engine: Engine) -> None:
    with session_scope(engine) as session:
        for name in ("zeta", "alpha", "mid"):
            make_source(session, name)
        make_source(session, "off", enabled=False)
    with Session(engine) as session:
        report = source_health(session)
    assert [h.name for h in report] == ["alpha", "mid", "off", "zeta"]
    assert [h.enabled for h in report] == [True, True, False, True]


# --- sources mirrored from settings ------------------------------------------------


def test_sync_sources_disables_removed_sources_and_keeps_their_mentions(
    engine: Engine,
) -> None:
    with session_scope(engine) as session:
        rows = sync_sources(session, [SourceSpec("news", "rss"), SourceSpec("blog", "rss")])
        news_id, blog_id = rows["news"].id, rows["blog"].id
    make_run(engine, blog_id or 0, [make_item(external_id="b1"), make_item(external_id="b2")])

    with session_scope(engine) as session:
        rows = sync_sources(session, [SourceSpec("news", "atom")])
    assert list(rows) == ["news"]
    with Session(engine) as session:
        news, blog = get_source(session, "news"), get_source(session, "blog")
        assert news is not None
        assert blog is not None
        assert (news.id, news.kind, news.enabled) == (news_id, "atom", True)
        assert (blog.id, blog.enabled) == (blog_id, False)
        kept = session.exec(select(Mention).where(Mention.source_id == blog_id)).all()
        assert sorted(m.external_id for m in kept) == ["b1", "b2"]
        assert len(session.exec(select(ListenerRun)).all()) == 1
        assert {h.name: h.mentions for h in source_health(session)}["blog"] == 2

    # Configured again: the same row comes back enabled, with its history.
    with session_scope(engine) as session:
        rows = sync_sources(
            session, [SourceSpec("news", "rss"), SourceSpec("blog", "rss", enabled=True)]
        )
        assert rows["blog"].id == blog_id
        assert rows["blog"].enabled is True


def test_sync_sources_respects_enabled_false(engine: Engine) -> None:
    with session_scope(engine) as session:
        sync_sources(session, [SourceSpec("news", "rss", enabled=False)])
    with Session(engine) as session:
        news = get_source(session, "news")
        assert news is not None
        assert news.enabled is False


# --- audit --------------------------------------------------------------------------


def test_every_finished_or_failed_run_is_audited(engine: Engine, source_id: int) -> None:
    runs = [
        make_run(engine, source_id, [make_item(), make_item()], skipped=1),
        make_run(engine, source_id, status="not_modified"),
        make_run(engine, source_id, status="failed", error="HTTP 500"),
        make_run(engine, source_id, status="blocked", error="HTTP 403"),
    ]
    interrupted = make_run(engine, source_id, status="running", owner="host-a:1")
    set_lease(engine, source_id, "host-a:1", seconds=-1)
    with session_scope(engine) as session:
        assert close_interrupted_runs(session) == 1
    runs.append(interrupted)

    with Session(engine) as session:
        events = list(reversed(audit.recent(session, action="listener.run")))
        assert len(session.exec(select(AuditEvent)).all()) == len(runs)
    assert [e.details["run_id"] for e in events] == [r.id for r in runs]
    assert [e.details["status"] for e in events] == [
        "ok",
        "not_modified",
        "failed",
        "blocked",
        "interrupted",
    ]
    for event in events:
        assert event.action == "listener.run"
        assert event.actor == "listener"
        assert (event.subject_type, event.subject_id) == ("source", str(source_id))
    assert (events[0].details["new"], events[0].details["skipped"]) == (2, 1)
    assert events[0].details["seen"] == 3
    assert events[2].details["error"] == "HTTP 500"


def test_a_run_in_progress_is_not_audited_yet(engine: Engine, source_id: int) -> None:
    make_run(engine, source_id, status="running", owner=OWNER)
    with Session(engine) as session:
        assert audit.recent(session, action="listener.run") == []
