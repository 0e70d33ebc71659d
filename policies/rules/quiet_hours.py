"""Quiet hours in the customer's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from policies.context import DraftContext
from policies.rule import PASS, Rule, RuleOptions, RuleResult

Action = Literal["defer", "allow", "escalate", "block"]


class QuietHoursOptions(RuleOptions):
    start: time = Field(time(21, 0), description='Local time quiet hours begin, "HH:MM".')
    end: time = Field(
        time(8, 0),
        description='Local time they end, "HH:MM"; earlier than `start` means the window '
        "crosses midnight.",
    )
    private: Action = Field(
        "defer",
        description="For e-mail (private): `defer` amends the send time to the end of the "
        "quiet hours; or `allow`, `escalate`, `block`.",
    )
    public: Action = Field(
        "allow", description="For public replies: `allow`, `defer`, `escalate` or `block`."
    )
    default_tz: str = Field(
        "UTC", description="Time zone assumed when the customer's is unknown (IANA name)."
    )

    @field_validator("start", "end")
    @classmethod
    def _wall_clock(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError("expected a local time without an offset, e.g. 21:00")
        return value

    @field_validator("default_tz")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"expected an IANA time zone such as Europe/Rome; {value!r} is unknown"
            ) from None
        return value

    @model_validator(mode="after")
    def _window(self) -> QuietHoursOptions:
        if self.start == self.end:
            raise ValueError("start and end are equal: the quiet hours would be empty")
        return self


class QuietHours(Rule[QuietHoursOptions]):
    """No message during quiet hours in the customer's time zone (DST-aware).

    E-mail is deferred: the verdict's `send_after` is the first moment the quiet hours are
    over. Public replies follow `public` (allowed by default: the customer is waiting).
    """

    name = "quiet_hours"
    Options = QuietHoursOptions
    judges_text = False

    def check(self, ctx: DraftContext) -> RuleResult:
        zone, known = ctx.zone(self.options.default_tz)
        at = ctx.sending_time
        if not self.quiet(at, zone):
            return PASS
        action = self.options.public if ctx.is_public else self.options.private
        if action == "allow":
            return PASS
        local = at.astimezone(zone)
        where = ctx.customer_tz if known else f"{zone.key} (the customer's time zone is unknown)"
        window = f"{self.options.start:%H:%M}-{self.options.end:%H:%M}"
        said = f"{local:%H:%M} on {local:%a %Y-%m-%d} in {where} is within quiet hours {window}"
        if action != "defer":
            return self.fire(action, said)
        after = self.next_allowed(at, zone)
        later = after.astimezone(zone)
        return self.fire(
            "amend",
            f"{said}: send after {later:%H:%M} on {later:%a %Y-%m-%d} local time "
            f"({after.astimezone(UTC):%Y-%m-%d %H:%M} UTC)",
            send_after=after,
        )

    def quiet(self, at: datetime, zone: ZoneInfo) -> bool:
        """Whether the wall-clock time at `at` in `zone` is within the quiet hours."""
        wall = at.astimezone(zone).time().replace(tzinfo=None)
        start, end = self.options.start, self.options.end
        if start < end:
            return start <= wall < end
        return wall >= start or wall < end

    def next_allowed(self, at: datetime, zone: ZoneInfo) -> datetime:
        """The first instant at or after `at` outside the quiet hours (UTC)."""
        if not self.quiet(at, zone):
            return at.astimezone(UTC)
        today = at.astimezone(zone).date()
        candidates = []
        for offset in range(-1, 3):
            for instant in self._ends_on(today + timedelta(days=offset), zone):
                if instant >= at and not self.quiet(instant, zone):
                    candidates.append(instant)
        return min(candidates)

    def _ends_on(self, day: date, zone: ZoneInfo) -> list[datetime]:
        """The instants the quiet hours end on `day`: two on a fall-back day, and the
        moment the clock jumps past `end` when spring-forward skips it."""
        wall = datetime.combine(day, self.options.end)
        first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
        second = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
        instants = [first, second]
        if first.astimezone(zone).replace(tzinfo=None) != wall:
            instants.append(self._first_after_gap(second, first, zone))
        return instants

    def _first_after_gap(self, before: datetime, after: datetime, zone: ZoneInfo) -> datetime:
        # The wall time does not exist that day: the quiet hours end when the clock jumps.
        low, high = int(before.timestamp()), int(after.timestamp())
        while high - low > 1:
            middle = (low + high) // 2
            if self.quiet(datetime.fromtimestamp(middle, UTC), zone):
                low = middle
            else:
                high = middle
        return datetime.fromtimestamp(high, UTC)
