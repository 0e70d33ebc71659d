"""Draft sources by name: built-ins in this package, plugins by entry point."""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from importlib.metadata import entry_points

from outreach.drafters.base import Composed, Declined, DraftRequest, DraftSource
from outreach.settings import Settings

ENTRY_POINT_GROUP = "ascolto.drafters"

__all__ = [
    "Composed",
    "Declined",
    "DraftRequest",
    "DraftSource",
    "known_sources",
    "registry",
    "sources_for",
]


@lru_cache(maxsize=1)
def registry() -> dict[str, type[DraftSource]]:
    """Every draft source class keyed by name; a name defined twice is an error."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        entry_point.load()
    found: dict[str, type[DraftSource]] = {}
    pending = list(DraftSource.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        name = getattr(cls, "name", None)
        if not name:
            continue
        if name in found and found[name] is not cls:
            raise RuntimeError(
                f"draft source {name!r} is defined twice: {found[name].__module__}."
                f"{found[name].__name__} and {cls.__module__}.{cls.__name__}"
            )
        found[name] = cls
    return found


def known_sources() -> list[str]:
    """The registered source names, sorted."""
    return sorted(registry())


def sources_for(settings: Settings) -> tuple[DraftSource, ...]:
    """The sources `[drafts] sources` names, in its order; KeyError for an unknown one."""
    found = registry()
    chosen = []
    for name in settings.drafts.sources:
        if name not in found:
            raise KeyError(
                f"unknown draft source {name!r} in drafts.sources; known sources: "
                f"{', '.join(known_sources())}"
            )
        chosen.append(found[name](settings))
    return tuple(chosen)
