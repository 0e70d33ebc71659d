"""Factories for test data: one place that knows how to build a valid object.

Each factory returns a valid object with distinct defaults; tests pass only the fields
they care about as keyword overrides.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from storage.db import session_scope
from storage.mentions import NewMention
from storage.models import ListenerRun, Source
from storage.runs import fail_run, finish_run, start_run

# A fixed instant, so stored timestamps are deterministic; tests add offsets to it.
T0 = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)

# A lease owner that is not `host:pid` of this machine, so it always counts as alive.
OWNER = "tests:worker"

_serial = itertools.count(1)
_NEW_MENTION_FIELDS = {f.name for f in fields(NewMention)}


def at(minutes: float = 0, *, hours: float = 0, days: float = 0) -> datetime:
    """T0 plus an offset: a timezone-aware UTC datetime."""
    return T0 + timedelta(minutes=minutes, hours=hours, days=days)


def make_item(**overrides: Any) -> NewMention:
    """A fetched mention with a unique external id; any field can be overridden.

    Unknown keyword names are an error, so a typo cannot silently build the default.
    """
    unknown = set(overrides) - _NEW_MENTION_FIELDS
    if unknown:
        raise TypeError(f"NewMention has no field(s) {sorted(unknown)}")
    n = next(_serial)
    values: dict[str, Any] = {
        "external_id": f"item-{n}",
        "text": f"Mention number {n} of the Acme Tab 3.",
        "title": f"Post {n}",
        "url": f"https://forum.example.com/t/{n}",
        "published_at": at(n),
    }
    values.update(overrides)
    return NewMention(**values)


def make_source(session: Session, name: str | None = None, **overrides: Any) -> Source:
    """A stored Source row (flushed, so it has an id); defaults to an enabled RSS source."""
    source = Source(
        name=name or f"source-{next(_serial)}", **{"kind": "rss", "enabled": True, **overrides}
    )
    session.add(source)
    session.flush()
    return source


def make_run(
    engine: Engine,
    source_id: int,
    items: Sequence[NewMention] = (),
    *,
    status: str = "ok",
    cursor: dict[str, Any] | None = None,
    error: str = "the feed answered 500",
    skipped: int = 0,
    owner: str = OWNER,
    trigger: str = "manual",
    lease_seconds: int = 900,
) -> ListenerRun:
    """One committed run, as the runner does it: start (own transaction), then finish.

    `status` "ok" or "not_modified" finishes it with `items` and `cursor`; "running" leaves
    it open with the lease held; anything else ("failed", "blocked", ...) fails it.
    """
    with session_scope(engine) as session:
        source = session.get(Source, source_id)
        assert source is not None, f"no source {source_id}"
        run = start_run(session, source, owner=owner, lease_seconds=lease_seconds, trigger=trigger)
        assert run is not None, f"source {source.name} is leased to {source.lease_owner}"
    if status == "running":
        return run
    with session_scope(engine) as session:
        session.add(run)
        if status in ("ok", "not_modified"):
            finish_run(
                session,
                run,
                owner=owner,
                items=items,
                skipped=skipped,
                cursor=cursor,
                not_modified=status == "not_modified",
            )
        else:
            fail_run(session, run, owner=owner, status=status, error=error)
    return run
