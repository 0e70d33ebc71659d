"""Delays and send windows on the customer's clock, across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from outreach.campaigns.timing import (
    Delay,
    Window,
    add_delay,
    in_window,
    next_send_time,
    zone,
)

ROME = ZoneInfo("Europe/Rome")
NEW_YORK = ZoneInfo("America/New_York")
SYDNEY = ZoneInfo("Australia/Sydney")
DAYTIME = Window.parse("10:00", "19:00")


def local(tz: ZoneInfo, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=tz, fold=fold)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "days", "seconds"),
    [("3d", 3, 0), ("36h", 0, 129600), ("1d 12h", 1, 43200), ("90m", 0, 5400), ("2d30m", 2, 1800)],
)
def test_delays_are_read_as_calendar_days_and_elapsed_time(
    text: str, days: int, seconds: int
) -> None:
    assert Delay.parse(text) == Delay(days, seconds)


@pytest.mark.parametrize(
    ("tz", "delivered", "expected", "elapsed_hours"),
    [
        # Rome springs forward on Sunday 2027-03-28: three days later is 71 hours later.
        (ROME, (2027, 3, 26, 15, 0), (2027, 3, 29, 15, 0), 71),
        # Rome falls back on Sunday 2026-10-25: 73 hours.
        (ROME, (2026, 10, 23, 15, 0), (2026, 10, 26, 15, 0), 73),
        # New York springs forward on 2027-03-14 and falls back on 2026-11-01.
        (NEW_YORK, (2027, 3, 12, 16, 0), (2027, 3, 15, 16, 0), 71),
        (NEW_YORK, (2026, 10, 30, 16, 0), (2026, 11, 2, 16, 0), 73),
        # Sydney's clocks go forward on 2026-10-04 and back on 2027-04-04 (southern spring).
        (SYDNEY, (2026, 10, 2, 11, 0), (2026, 10, 5, 11, 0), 71),
        (SYDNEY, (2027, 4, 2, 11, 0), (2027, 4, 5, 11, 0), 73),
    ],
)
def test_three_days_later_is_the_same_clock_time_across_dst(
    tz: ZoneInfo,
    delivered: tuple[int, ...],
    expected: tuple[int, ...],
    elapsed_hours: int,
) -> None:
    start = local(tz, *delivered)
    due = add_delay(start.astimezone(UTC), Delay.parse("3d"), tz)
    assert due.tzinfo == UTC
    assert due.astimezone(tz).replace(tzinfo=None) == datetime(*expected)  # type: ignore[misc]
    assert due - start == timedelta(hours=elapsed_hours)


def test_hours_are_elapsed_time_even_when_the_clock_jumps() -> None:
    start = local(ROME, 2027, 3, 27, 12, 0)
    due = add_delay(start, Delay.parse("36h"), ROME)
    assert due - start == timedelta(hours=36)
    # The clock on the wall moved 37 hours: 01:00 summer time on Monday.
    assert due.astimezone(ROME).replace(tzinfo=None) == datetime(2027, 3, 29, 1, 0)


def test_a_delay_landing_in_the_skipped_hour_moves_past_the_gap() -> None:
    # 02:30 on 2027-03-14 does not exist in New York: the clock goes 01:59 -> 03:00.
    start = local(NEW_YORK, 2027, 3, 13, 2, 30)
    due = add_delay(start, Delay.parse("1d"), NEW_YORK)
    assert due.astimezone(NEW_YORK).replace(tzinfo=None) == datetime(2027, 3, 14, 3, 30)


def test_a_delay_landing_in_the_repeated_hour_takes_the_first_one() -> None:
    # 01:30 on 2026-11-01 happens twice in New York: first EDT (UTC-4), then EST.
    start = local(NEW_YORK, 2026, 10, 31, 1, 30)
    due = add_delay(start, Delay.parse("1d"), NEW_YORK)
    assert due == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("tz", "due", "sent"),
    [
        # Inside the window: as it is.
        (ROME, (2026, 11, 6, 12, 0), (2026, 11, 6, 12, 0)),
        # Before it opens: the same morning at 10:00.
        (ROME, (2026, 11, 6, 7, 15), (2026, 11, 6, 10, 0)),
        # At or after it closes: the next morning.
        (ROME, (2026, 11, 6, 19, 0), (2026, 11, 7, 10, 0)),
        (NEW_YORK, (2026, 11, 6, 23, 59), (2026, 11, 7, 10, 0)),
        # The night the clocks change: still 10:00 on the wall the next morning.
        (ROME, (2027, 3, 27, 22, 0), (2027, 3, 28, 10, 0)),
        (ROME, (2026, 10, 24, 22, 0), (2026, 10, 25, 10, 0)),
        (SYDNEY, (2026, 10, 3, 20, 0), (2026, 10, 4, 10, 0)),
        (SYDNEY, (2027, 4, 3, 20, 0), (2027, 4, 4, 10, 0)),
    ],
)
def test_check_ins_wait_for_the_send_window_on_the_customers_clock(
    tz: ZoneInfo, due: tuple[int, ...], sent: tuple[int, ...]
) -> None:
    at = next_send_time(local(tz, *due).astimezone(UTC), DAYTIME, tz)
    assert at.astimezone(tz).replace(tzinfo=None) == datetime(*sent)  # type: ignore[misc]
    assert in_window(at, DAYTIME, tz)


def test_the_same_utc_instant_is_inside_the_window_in_one_zone_and_not_another() -> None:
    instant = datetime(2026, 11, 6, 18, 30, tzinfo=UTC)
    assert in_window(instant, DAYTIME, NEW_YORK)  # 13:30 in New York
    assert not in_window(instant, DAYTIME, ROME)  # 19:30 in Rome: closed
    assert not in_window(instant, DAYTIME, SYDNEY)  # 05:30 the next day in Sydney
    assert next_send_time(instant, DAYTIME, ROME) == local(ROME, 2026, 11, 7, 10, 0)
    assert next_send_time(instant, DAYTIME, SYDNEY) == local(SYDNEY, 2026, 11, 7, 10, 0)


def test_a_window_opening_in_the_skipped_hour_opens_when_the_clock_resumes() -> None:
    night = Window.parse("02:00", "05:00")
    at = next_send_time(local(ROME, 2027, 3, 27, 23, 0).astimezone(UTC), night, ROME)
    assert at.astimezone(ROME).replace(tzinfo=None) == datetime(2027, 3, 28, 3, 0)
    assert at == datetime(2027, 3, 28, 1, 0, tzinfo=UTC)


def test_a_window_wholly_inside_the_skipped_hour_moves_to_the_next_day() -> None:
    gap = Window.parse("02:10", "02:50")
    at = next_send_time(local(ROME, 2027, 3, 27, 23, 0).astimezone(UTC), gap, ROME)
    assert at.astimezone(ROME).replace(tzinfo=None) == datetime(2027, 3, 29, 2, 10)


def test_an_unknown_time_zone_falls_back_to_the_campaigns() -> None:
    assert zone("Mars/Olympus", "Europe/Rome") == ROME
    assert zone(None, "UTC") == ZoneInfo("UTC")
    assert zone("Australia/Sydney", "UTC") == SYDNEY
