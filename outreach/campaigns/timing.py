"""When a check-in is due: a delay after its trigger, moved into the customer's send window.

Days of a delay are calendar days on the customer's clock, so "3 days after a delivery at
15:00" is 15:00 three days later even across a daylight-saving change; hours and minutes
are elapsed time. A wall-clock time that does not exist (the hour skipped in spring) is
moved forward by the gap; one that happens twice (the hour repeated in autumn) is the
first of the two.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_PART = re.compile(r"(\d+)\s*([dhm])")


@dataclass(frozen=True)
class Delay:
    """Calendar days plus elapsed seconds."""

    days: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Delay:
        """`"3d"`, `"36h"`, `"1d 12h"`, `"90m"` (as validated by the settings)."""
        days = seconds = 0
        for amount, unit in _PART.findall(text):
            if unit == "d":
                days += int(amount)
            else:
                seconds += int(amount) * (3600 if unit == "h" else 60)
        return cls(days, seconds)

    @property
    def longest(self) -> timedelta:
        """An upper bound of the elapsed time, whatever the clock changes on the way."""
        return timedelta(days=self.days, seconds=self.seconds, hours=2)


@dataclass(frozen=True)
class Window:
    """Hours of the day (customer's clock) when check-ins may be sent: [start, end)."""

    start: time
    end: time

    @classmethod
    def parse(cls, start: str, end: str) -> Window:
        """From `"HH:MM"` strings."""
        return cls(time.fromisoformat(start), time.fromisoformat(end))


def zone(name: str | None, fallback: str) -> ZoneInfo:
    """The named zone, or `fallback` when the name is missing or unknown."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo(fallback)


def localize(wall: datetime, tz: ZoneInfo) -> datetime:
    """A naive wall-clock time in `tz` as an aware UTC instant.

    With fold=0, Python reads a skipped time with the offset before the change (so it lands
    after the gap) and a repeated time as its first occurrence: both what we want.
    """
    return wall.replace(tzinfo=tz, fold=0).astimezone(UTC)


def add_delay(at: datetime, delay: Delay, tz: ZoneInfo) -> datetime:
    """`at` plus the delay: calendar days on the customer's clock, then elapsed time."""
    moved = at.astimezone(UTC)
    if delay.days:
        wall = moved.astimezone(tz).replace(tzinfo=None) + timedelta(days=delay.days)
        moved = localize(wall, tz)
    return moved + timedelta(seconds=delay.seconds)


def in_window(at: datetime, window: Window, tz: ZoneInfo) -> bool:
    """Whether `at` falls inside the window on the customer's clock."""
    wall = at.astimezone(tz).time().replace(tzinfo=None)
    return window.start <= wall < window.end


def next_send_time(earliest: datetime, window: Window, tz: ZoneInfo) -> datetime:
    """The first instant at or after `earliest` inside the window (UTC)."""
    earliest = earliest.astimezone(UTC)
    if in_window(earliest, window, tz):
        return earliest
    local = earliest.astimezone(tz)
    day = local.date()
    if local.time().replace(tzinfo=None) >= window.end:
        day += timedelta(days=1)
    # A window lying wholly inside a skipped hour does not exist that day: try the next.
    for _ in range(7):
        candidate = max(localize(datetime.combine(day, window.start), tz), earliest)
        if in_window(candidate, window, tz):
            return candidate
        day += timedelta(days=1)
    raise ValueError(f"no time between {window.start} and {window.end} in {tz.key}")


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """Midnight starting `day` on the customer's clock, as UTC."""
    return localize(datetime.combine(day, time(0)), tz)
