"""Move the recorded answers' dates so the recordings happened just now.

The demo's recordings were made on one day; replayed weeks later, their complaints would
be weeks old and its outbreak a resolved cluster nobody is alerted about. Every timestamp
in a body (ISO 8601, RFC 822 as in RSS, Unix seconds under the keys that carry them, plain
dates) is moved by one offset, so the replay looks like the last days before the run.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime

RECORDED_AT = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
"""Just after the last recorded item: it becomes the moment the demo starts."""

_ISO = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:(?P<sep>[T ])(?P<time>\d{2}:\d{2}(?::\d{2})?)(?P<frac>\.\d+)?"
    r"(?P<zone>Z|[+-]\d{2}:?\d{2})?)?(?![\d-])"
)
_RFC822 = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} "
    r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} "
    r"(?:GMT|UT|UTC|[+-]\d{4})"
)
# Unix seconds as JSON numbers under the keys Reddit and Hacker News use for them.
_EPOCH = re.compile(r'("(?:created_utc|created|created_at_i|time)"\s*:\s*)(\d{9,10})(\.\d+)?')


def offset_for(now: datetime) -> timedelta:
    """The shift that puts the end of the recordings at `now`, in whole minutes."""
    minutes = (now - RECORDED_AT).total_seconds() // 60
    return timedelta(minutes=minutes)


def shift_date(day: date, offset: timedelta) -> date:
    """A calendar date moved with the recordings (by whole days)."""
    return (datetime.combine(day, datetime.min.time(), tzinfo=UTC) + offset).date()


def shift_text(text: str, offset: timedelta) -> str:
    """`text` with every timestamp it holds moved by `offset`."""
    if not offset:
        return text
    text = _RFC822.sub(lambda m: _rfc822(m.group(0), offset), text)
    text = _EPOCH.sub(
        lambda m: f"{m.group(1)}{int(m.group(2)) + int(offset.total_seconds())}{m.group(3) or ''}",
        text,
    )
    return _ISO.sub(lambda m: _iso(m, offset), text)


def _rfc822(value: str, offset: timedelta) -> str:
    moved = parsedate_to_datetime(value) + offset
    return format_datetime(moved, usegmt=value.endswith("GMT"))


def _iso(match: re.Match[str], offset: timedelta) -> str:
    try:
        day = date.fromisoformat(match["date"])
    except ValueError:
        return match.group(0)
    if match["time"] is None:
        return shift_date(day, offset).isoformat()
    clock = match["time"] if match["time"].count(":") == 2 else match["time"] + ":00"
    moved = datetime.fromisoformat(f"{day.isoformat()}T{clock}") + offset
    out = moved.date().isoformat() + match["sep"] + moved.strftime("%H:%M:%S")[: len(match["time"])]
    return out + (match["frac"] or "") + (match["zone"] or "")
