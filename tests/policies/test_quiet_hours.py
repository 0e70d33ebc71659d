"""Quiet hours in the customer's time zone, across DST changes and midnight."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from policies import PolicyError
from tests.policies.helpers import ctx, outcomes, policy, public, run

ROME = "Europe/Rome"
NEW_YORK = "America/New_York"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def local(zone: str, *args: int, fold: int = 0) -> datetime:
    """A wall-clock time in `zone`, as an aware UTC instant."""
    return datetime(*args, tzinfo=ZoneInfo(zone), fold=fold).astimezone(UTC)  # type: ignore[misc]


def send_after(at: datetime, zone: str | None = ROME, **options: Any) -> datetime | None:
    """None when the message may leave at `at`, else when it may."""
    result = run("quiet_hours", ctx(customer_tz=zone, send_at=at), **options)
    if not result.findings:
        return None
    assert outcomes(result) == ["amend"]
    assert result.send_after is not None
    return result.send_after


@pytest.mark.parametrize(
    ("wall", "expected"),
    [
        ((2026, 11, 24, 20, 59, 59), None),
        ((2026, 11, 24, 21, 0, 0), utc(2026, 11, 25, 7, 0)),
        ((2026, 11, 24, 23, 30, 0), utc(2026, 11, 25, 7, 0)),
        ((2026, 11, 25, 0, 30, 0), utc(2026, 11, 25, 7, 0)),
        ((2026, 11, 25, 7, 59, 59), utc(2026, 11, 25, 7, 0)),
        ((2026, 11, 25, 8, 0, 0), None),
    ],
)
def test_boundaries_of_a_window_crossing_midnight(
    wall: tuple[int, ...], expected: datetime | None
) -> None:
    assert send_after(local(ROME, *wall)) == expected


def test_the_same_instant_in_three_time_zones() -> None:
    at = utc(2026, 11, 24, 20, 30)
    assert send_after(at, ROME) == utc(2026, 11, 25, 7, 0)  # 21:30 in Rome
    assert send_after(at, NEW_YORK) is None  # 15:30 in New York
    assert send_after(at, "Asia/Tokyo") == utc(2026, 11, 24, 23, 0)  # 05:30 in Tokyo


@pytest.mark.parametrize(
    ("zone", "at", "expected", "why"),
    [
        # Rome springs forward on Sun 29 March 2026 (02:00 CET -> 03:00 CEST).
        (ROME, local(ROME, 2026, 3, 28, 22, 0), utc(2026, 3, 29, 6, 0), "08:00 CEST"),
        (ROME, local(ROME, 2026, 3, 29, 1, 30), utc(2026, 3, 29, 6, 0), "before the jump"),
        (ROME, local(ROME, 2026, 3, 29, 3, 30), utc(2026, 3, 29, 6, 0), "after the jump"),
        # Rome falls back on Sun 25 October 2026 (03:00 CEST -> 02:00 CET).
        (ROME, local(ROME, 2026, 10, 24, 22, 0), utc(2026, 10, 25, 7, 0), "08:00 CET"),
        (ROME, local(ROME, 2026, 10, 25, 2, 30, fold=1), utc(2026, 10, 25, 7, 0), "2nd 02:30"),
        # New York springs forward on Sun 8 March 2026, falls back on Sun 1 November.
        (NEW_YORK, local(NEW_YORK, 2026, 3, 7, 22, 0), utc(2026, 3, 8, 12, 0), "08:00 EDT"),
        (NEW_YORK, local(NEW_YORK, 2026, 10, 31, 22, 0), utc(2026, 11, 1, 13, 0), "08:00 EST"),
        (NEW_YORK, local(NEW_YORK, 2026, 11, 1, 1, 30, fold=1), utc(2026, 11, 1, 13, 0), "EST"),
    ],
)
def test_deferral_across_dst_changes(zone: str, at: datetime, expected: datetime, why: str) -> None:
    assert send_after(at, zone) == expected, why


def test_window_ending_inside_the_spring_forward_gap() -> None:
    # 02:30 does not exist in Rome on 29 March 2026: quiet hours end when the clock jumps.
    options = {"start": "22:00", "end": "02:30"}
    assert send_after(local(ROME, 2026, 3, 28, 23, 0), **options) == utc(2026, 3, 29, 1, 0)
    assert send_after(utc(2026, 3, 29, 0, 59, 59), **options) == utc(2026, 3, 29, 1, 0)
    assert send_after(utc(2026, 3, 29, 1, 0), **options) is None


def test_window_ending_inside_the_repeated_fall_back_hour() -> None:
    # 02:00-03:00 happens twice in Rome on 25 October 2026; so does 02:30.
    options = {"start": "22:00", "end": "02:30"}
    first = local(ROME, 2026, 10, 25, 2, 30, fold=0)
    second = local(ROME, 2026, 10, 25, 2, 30, fold=1)
    assert first == utc(2026, 10, 25, 0, 30)
    assert second == utc(2026, 10, 25, 1, 30)
    assert send_after(local(ROME, 2026, 10, 24, 23, 0), **options) == first
    assert send_after(first, **options) is None
    # 02:10 the second time is quiet again, until the second 02:30.
    assert send_after(local(ROME, 2026, 10, 25, 2, 10, fold=1), **options) == second


def test_window_starting_inside_the_gap() -> None:
    options = {"start": "02:30", "end": "06:00"}
    assert send_after(local(ROME, 2026, 3, 29, 1, 59), **options) is None
    # The clock jumps from 01:59:59 CET to 03:00 CEST: straight into the quiet hours.
    assert send_after(utc(2026, 3, 29, 1, 0), **options) == utc(2026, 3, 29, 4, 0)


def test_window_within_one_day() -> None:
    options = {"start": "12:00", "end": "14:00"}
    assert send_after(local(ROME, 2026, 11, 24, 11, 59, 59), **options) is None
    assert send_after(local(ROME, 2026, 11, 24, 12, 0), **options) == local(
        ROME, 2026, 11, 24, 14, 0
    )
    assert send_after(local(ROME, 2026, 11, 24, 14, 0), **options) is None
    assert send_after(local(ROME, 2026, 11, 24, 23, 0), **options) is None


def test_public_replies_are_allowed_by_default_or_as_configured() -> None:
    at = local(ROME, 2026, 11, 24, 23, 0)
    reply = public("Ci dispiace, ti scriviamo in privato.", customer_tz=ROME, send_at=at)
    assert run("quiet_hours", reply).findings == ()
    deferred = run("quiet_hours", reply, public="defer")
    assert outcomes(deferred) == ["amend"]
    assert deferred.send_after == utc(2026, 11, 25, 7, 0)
    assert outcomes(run("quiet_hours", reply, public="block")) == ["block"]


def test_private_action_escalate_has_no_send_time() -> None:
    result = run("quiet_hours", ctx(send_at=local(ROME, 2026, 11, 24, 23, 0)), private="escalate")
    assert outcomes(result) == ["escalate"]
    assert result.send_after is None


@pytest.mark.parametrize("zone", [None, "Mars/Olympus_Mons"])
def test_unknown_time_zone_uses_the_default_and_says_so(zone: str | None) -> None:
    at = utc(2026, 11, 24, 22, 0)
    result = run("quiet_hours", ctx(customer_tz=zone, send_at=at), default_tz=NEW_YORK)
    assert result.findings == ()  # 17:00 in New York
    result = run("quiet_hours", ctx(customer_tz=zone, send_at=at))
    assert result.send_after == utc(2026, 11, 25, 8, 0)
    assert "UTC (the customer's time zone is unknown)" in result.findings[0].reason


def test_reason_in_local_and_utc_time() -> None:
    result = run("quiet_hours", ctx(send_at=local(ROME, 2026, 3, 28, 22, 15)))
    assert result.findings[0].reason == (
        "22:15 on Sat 2026-03-28 in Europe/Rome is within quiet hours 21:00-08:00: send after "
        "08:00 on Sun 2026-03-29 local time (2026-03-29 06:00 UTC)"
    )


def test_verdict_carries_the_send_time_and_keeps_the_text() -> None:
    rules = policy(
        """
        [quiet_hours]
        start = 21:00:00
        end = "08:00"
        """
    )
    draft = ctx("Hello, your replacement is ready.", send_at=local(ROME, 2026, 11, 24, 22, 0))
    verdict = rules.check(draft)
    assert verdict.outcome == "amend"
    assert verdict.text == draft.text
    assert verdict.send_after == utc(2026, 11, 25, 7, 0)


SYDNEY = "Australia/Sydney"


@pytest.mark.parametrize(
    ("at", "expected", "why"),
    [
        # Sydney falls back on Sun 5 April 2026 (03:00 AEDT -> 02:00 AEST): 10 hours of quiet.
        (local(SYDNEY, 2026, 4, 4, 22, 0), utc(2026, 4, 4, 22, 0), "08:00 AEST"),
        # and springs forward on Sun 4 October 2026 (02:00 AEST -> 03:00 AEDT): 9 hours.
        (local(SYDNEY, 2026, 10, 3, 22, 0), utc(2026, 10, 3, 21, 0), "08:00 AEDT"),
        (local(SYDNEY, 2026, 10, 4, 1, 59), utc(2026, 10, 3, 21, 0), "just before the jump"),
    ],
)
def test_southern_hemisphere_dst(at: datetime, expected: datetime, why: str) -> None:
    assert send_after(at, SYDNEY) == expected, why


def test_the_same_utc_time_is_quiet_in_summer_only() -> None:
    # 01:30 UTC is 20:30 in New York in January (EST) and 21:30 in July (EDT).
    assert send_after(utc(2026, 1, 15, 1, 30), NEW_YORK) is None
    assert send_after(utc(2026, 7, 15, 1, 30), NEW_YORK) == utc(2026, 7, 15, 12, 0)


def test_a_half_hour_offset() -> None:
    # Kolkata is UTC+05:30: quiet from 15:30 UTC until 02:30 UTC.
    assert send_after(utc(2026, 11, 24, 15, 29, 59), "Asia/Kolkata") is None
    assert send_after(utc(2026, 11, 24, 15, 30), "Asia/Kolkata") == utc(2026, 11, 25, 2, 30)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"start": "21:00", "end": "21:00"}, "quiet hours would be empty"),
        ({"start": "25:00"}, "expected a time as HH:MM"),
        ({"default_tz": "Europe/Rom"}, "'Europe/Rom' is unknown"),
        ({"private": "later"}, "expected 'defer', 'allow', 'escalate' or 'block'"),
    ],
)
def test_bad_options_are_named(options: dict[str, str], message: str) -> None:
    lines = "\n".join(f'{key} = "{value}"' for key, value in options.items())
    with pytest.raises(PolicyError) as caught:
        policy(f"[quiet_hours]\n{lines}\n")
    assert message in str(caught.value)
