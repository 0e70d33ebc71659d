"""A source that was down is a blind spot, not a quiet spell: the baseline skips it, no
alert fires when it recovers, the timeline shows the day as unknown, and an alert names
the sources that were down."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from ascolto.defects.detection import cluster_timeline
from storage.blind_spots import blind_windows
from storage.db import session_scope
from storage.models import ListenerRun
from tests.defects.conftest import World, detect
from tests.factories import T0, at

EVERY = timedelta(hours=6)
OUTAGE = (at(hours=12), at(hours=36))  # the forum is down for a day


def _runs(world: World, engine: Engine, *, outage: bool, until: datetime) -> None:
    """The forum's listener runs every two hours; during the outage each run fails."""
    source_id = world.source("forum")
    with session_scope(engine) as session:
        when = T0
        while when < until:
            down = outage and OUTAGE[0] <= when < OUTAGE[1]
            session.add(
                ListenerRun(
                    source_id=source_id,
                    started_at=when,
                    finished_at=when + timedelta(minutes=1),
                    status="failed" if down else "ok",
                    error="HTTP 503" if down else None,
                )
            )
            when += timedelta(hours=2)


def _trickle(world: World, *, since: datetime, until: datetime, outage: bool) -> None:
    """One complaint of the same theme every six hours, by a new author each time;
    what is posted while the forum is down is never fetched (it has no backfill)."""
    when = since
    while when <= until:
        if not (outage and OUTAGE[0] <= when < OUTAGE[1]):
            world.complaint("My tablet's battery drains overnight", theme=0, when=when)
        when += EVERY


@pytest.mark.parametrize("outage_recorded", [True, False])
def test_no_alert_fires_when_a_source_recovers_and_no_calm_zero_is_drawn(
    world: World, make_settings: Any, engine: Engine, outage_recorded: bool
) -> None:
    settings = make_settings()
    world.product("Acme Tab 3")
    end = at(hours=150)
    _runs(world, engine, outage=outage_recorded, until=end)
    # Detection starts once the theme has a pace of its own, and runs through the days
    # after the recovery, each run seeing what was posted until then.
    since = T0
    for hours in range(108, 151, 6):
        _trickle(world, since=since, until=at(hours=hours), outage=True)
        since = at(hours=hours) + EVERY
        detect(settings, engine, at(hours=hours))
    if not outage_recorded:
        # The same gap taken for calm: the trickle's own pace looks low and the steady
        # complaints after it look like a burst. This is what blind spots prevent.
        assert world.alerts()
        return
    assert world.alerts() == []
    (cluster,) = world.clusters()
    with Session(engine) as session:
        (window,) = blind_windows(session, since=T0, until=end)
        timeline = {d["day"]: d for d in cluster_timeline(session, cluster, now=end)}
    assert (window.source, window.reason) == ("forum", "failed")
    assert (window.start, window.end) == OUTAGE
    down = [day for day, d in timeline.items() if d["sources_down"]]
    assert down == [at(hours=12).date().isoformat(), at(hours=24).date().isoformat()]
    for day in down:
        # Heard before or after the outage: a lower bound, marked partial; never a zero.
        assert timeline[day]["count"] != 0
        assert timeline[day]["partial"] is True
    assert all(d["count"] for d in timeline.values() if not d["sources_down"])


def test_an_alert_names_the_sources_that_were_down(
    world: World, make_settings: Any, engine: Engine
) -> None:
    settings = make_settings()
    world.product("Acme Tab 3")
    _runs(world, engine, outage=True, until=at(hours=40))
    world.outbreak(6, theme=0, start_hours=30, source="forum")
    detect(settings, engine, at(hours=40))
    (alert,) = world.alerts()
    (down,) = alert.evidence["blind"]
    assert (down["source"], down["reason"]) == ("forum", "failed")
    assert "Sources down in this period" in alert.summary
    assert "forum (failed" in alert.summary


def test_the_overview_shades_the_days_a_source_was_down(
    world: World, make_settings: Any, engine: Engine
) -> None:
    from ascolto.web.overview import charts, overview

    settings = make_settings()
    _runs(world, engine, outage=True, until=at(hours=60))
    world.mention("Hello", when=at(hours=2))
    with Session(engine) as session:
        view = overview(session, settings, days=5, now=at(hours=60))
    day = at(hours=24).date().isoformat()
    assert view.unknown_days[day] == ["forum"]
    assert view.as_dict()["unknown_days"][day] == ["forum"]
    drawn = charts(view)["source_chart"]
    assert drawn.count('class="unknown"') == 2  # the two days the outage touched
    assert "unknown (forum down)" in drawn
