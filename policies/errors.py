"""A policy file that cannot be used: every problem names its rule, key and what is wrong."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from storage.errors import AscoltoError


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a policy file; `rule` and `key` are None when not about one."""

    rule: str | None
    key: str | None
    message: str

    def __str__(self) -> str:
        where = f"[{self.rule}]" if self.rule else ""
        if self.key:
            where = f"{where} {self.key}" if where else self.key
        return f"{where}: {self.message}" if where else self.message


class PolicyError(AscoltoError):
    """The policy file is missing, not TOML, or has invalid rules or options."""

    exit_code = 2

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = [f"{source}: {len(self.problems)} problem(s)"]
        lines += [f"  {p}" for p in self.problems]
        super().__init__("\n".join(lines))


class DuplicateRuleError(AscoltoError):
    """Two rule classes (built-in or plugins) claim the same name."""

    exit_code = 2


def option_problems(rule: str, errors: Sequence[Any], known: Sequence[str]) -> list[Problem]:
    """Turn pydantic's errors on a rule's options into Problems."""
    problems = []
    for error in errors:
        key = _dotted(error["loc"])
        kind = error["type"]
        if kind == "extra_forbidden":
            listed = ", ".join(known) or "none"
            problems.append(Problem(rule, key, f"unknown key; known keys: {listed}"))
        elif kind == "missing":
            problems.append(Problem(rule, key, "missing; this key is required"))
        elif not error["loc"]:
            problems.append(Problem(rule, None, _expected(error)))
        else:
            problems.append(Problem(rule, f"{key} = {_show(error.get('input'))}", _expected(error)))
    return problems


def _dotted(loc: Sequence[int | str]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts[-1:] = [f"{parts[-1] if parts else ''}[{part}]"]
        elif part == "[key]":
            parts[-1:] = [f"{parts[-1] if parts else ''} (key)"]
        elif not part.startswith(("function-", "literal[")):
            parts.append(part)
    return ".".join(parts)


# Pydantic's wording for a few types, said the way a policy file is written.
_PLAIN = {
    "time_parsing": 'expected a time as HH:MM, e.g. "21:00"',
    "time_type": 'expected a time as HH:MM, e.g. "21:00"',
    "decimal_parsing": "expected a number, e.g. 200 or 30.50",
    "decimal_type": "expected a number, e.g. 200 or 30.50",
    "int_parsing": "expected a whole number",
    "int_type": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_parsing": "expected a number",
    "bool_parsing": "expected true or false",
    "bool_type": "expected true or false",
    "dict_type": "expected a table, e.g. { key = value }",
    "list_type": 'expected a list, e.g. ["a", "b"]',
    "string_type": "expected a string in quotes",
}


def _expected(error: Any) -> str:
    if error["type"] in _PLAIN:
        return _PLAIN[error["type"]]
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, ", "Input should be ", "input should be "):
        message = message.removeprefix(prefix)
    if error["type"] in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        message = f"a number {message}"
    if error["type"].startswith("value_error") or error["type"] == "assertion_error":
        return message
    return f"expected {message[0].lower()}{message[1:]}" if message else "invalid"


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
