"""Small helpers for the JSON APIs listeners read: dotted paths, decoding, typed fields."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from listeners.errors import BadContent
from listeners.http import HttpResponse

_MISSING = object()


def get_path(data: Any, path: str, default: Any = None) -> Any:
    """The value at a dotted path: `data.children.0.id`; `default` where any step is missing.

    Numeric steps index lists; an empty path is `data` itself.
    """
    current = data
    for step in path.split(".") if path else ():
        if isinstance(current, dict):
            current = current.get(step, _MISSING)
        elif isinstance(current, list) and step.lstrip("-").isdigit():
            index = int(step)
            current = current[index] if -len(current) <= index < len(current) else _MISSING
        else:
            current = _MISSING
        if current is _MISSING:
            return default
    return current


def decode(response: HttpResponse, what: str = "") -> Any:
    """The JSON document of a response, or BadContent saying why it cannot be read."""
    where = what or response.url
    try:
        text = response.content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadContent(f"{where}: the body is not UTF-8 JSON ({exc.reason})") from None
    if not text.strip():
        raise BadContent(f"{where}: the body is empty, expected JSON")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        kind = response.headers.get("content-type", "unknown content type")
        hint = " (truncated?)" if exc.pos >= len(text.rstrip()) - 1 else ""
        raise BadContent(
            f"{where}: the body is not valid JSON{hint}: {exc.msg} at line {exc.lineno} "
            f"column {exc.colno} ({len(response.content):,} bytes, {kind})"
        ) from None


def expect(value: Any, kind: type | tuple[type, ...], what: str) -> Any:
    """`value` if it has the expected type, else BadContent naming the document part."""
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _types(kind)):
        names = " or ".join(t.__name__ for t in _types(kind))
        raise BadContent(f"{what}: expected {names}, got {type(value).__name__}")
    return value


def _types(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def dumps(item: Any) -> str:
    """The raw item as JSON text, for the quarantine."""
    try:
        return json.dumps(item, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return repr(item)


def parse_time(value: Any) -> datetime | None:
    """A UTC datetime from an ISO 8601 string (any offset, `Z`, fractions) or epoch seconds.

    None for None/""; ValueError for anything else that is not a time.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"not a time: {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
        if seconds > 1e11:  # milliseconds
            seconds /= 1000.0
        return datetime.fromtimestamp(seconds, tz=UTC)
    if isinstance(value, str):
        text = value.strip()
        if text.replace(".", "", 1).isdigit():
            return parse_time(float(text))
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        # Python 3.11 reads at most 6 fractional digits; some APIs send 7 or 9.
        head, dot, rest = text.partition(".")
        if dot:
            digits = len(rest) - len(rest.lstrip("0123456789"))
            if digits > 6:
                rest = rest[:6] + rest[digits:]
            text = f"{head}.{rest}"
        when = datetime.fromisoformat(text)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return when.astimezone(UTC)
    raise ValueError(f"not a time: {value!r}")


def text_or_none(value: Any) -> str | None:
    """A string field: str kept, numbers turned to text, anything else None."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None
