"""Find rule classes by name: built-ins in `policies.rules`, plugins by entry point."""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any

import policies.rules
from policies.errors import DuplicateRuleError
from policies.rule import Rule

ENTRY_POINT_GROUP = "ascolto.policies"


@lru_cache(maxsize=1)
def registry() -> dict[str, type[Rule[Any]]]:
    """Every rule class keyed by name; a name defined twice is an error."""
    for module in pkgutil.iter_modules(policies.rules.__path__):
        importlib.import_module(f"policies.rules.{module.name}")
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        entry_point.load()
    found: dict[str, type[Rule[Any]]] = {}
    for cls in _subclasses(Rule):  # type: ignore[type-abstract]
        name = getattr(cls, "name", "")
        if not name:
            continue
        if name in found and found[name] is not cls:
            raise DuplicateRuleError(
                f"policy rule {name!r} is defined twice: "
                f"{found[name].__module__}.{found[name].__qualname__} and "
                f"{cls.__module__}.{cls.__qualname__}"
            )
        found[name] = cls
    return found


def _subclasses(cls: type[Rule[Any]]) -> list[type[Rule[Any]]]:
    result = []
    for sub in cls.__subclasses__():
        result.append(sub)
        result.extend(_subclasses(sub))
    return result


def known_rules() -> list[str]:
    """The registered rule names, sorted."""
    return sorted(registry())


def rule_class(name: str) -> type[Rule[Any]]:
    """The class registered as `name`; KeyError with the known names otherwise."""
    try:
        return registry()[name]
    except KeyError:
        raise KeyError(
            f"unknown policy rule {name!r}; known rules: {', '.join(known_rules())}"
        ) from None
