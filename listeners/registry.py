"""Find listener classes by kind: built-ins in this package, plugins by entry point."""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any

import listeners
from listeners.base import Listener
from listeners.settings import SourceSettings

ENTRY_POINT_GROUP = "ascolto.listeners"


@lru_cache(maxsize=1)
def registry() -> dict[str, type[Listener]]:
    """Every listener class keyed by kind; a kind defined twice is an error."""
    for module in pkgutil.iter_modules(listeners.__path__):
        importlib.import_module(f"listeners.{module.name}")
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        entry_point.load()
    found: dict[str, type[Listener]] = {}
    for cls in _subclasses(Listener):  # type: ignore[type-abstract]
        kind = getattr(cls, "kind", None)
        if not kind:
            continue
        if kind in found and found[kind] is not cls:
            raise RuntimeError(
                f"listener kind {kind!r} is defined twice: "
                f"{found[kind].__module__}.{found[kind].__name__} and "
                f"{cls.__module__}.{cls.__name__}"
            )
        found[kind] = cls
    return found


def _subclasses(cls: type[Listener]) -> list[type[Listener]]:
    result = []
    for sub in cls.__subclasses__():
        result.append(sub)
        result.extend(_subclasses(sub))
    return result


def known_kinds() -> list[str]:
    """The registered kinds, sorted."""
    return sorted(registry())


def source_options(source: SourceSettings) -> Any:
    """A source's settings as its listener's typed options model."""
    return listener_class(source.kind).Options.model_validate(source.model_dump())


def listener_class(kind: str) -> type[Listener]:
    """The class for `kind`; KeyError with the known kinds otherwise."""
    try:
        return registry()[kind]
    except KeyError:
        raise KeyError(
            f"unknown listener kind {kind!r}; known kinds: {', '.join(known_kinds())}"
        ) from None
