"""Channels by name: built-ins in this package, plugins by entry point."""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from importlib.metadata import entry_points

from outreach.channels.base import Channel, DeliveryError, SendResult

ENTRY_POINT_GROUP = "ascolto.channels"

__all__ = ["Channel", "DeliveryError", "SendResult", "get_channel", "known_channels", "registry"]


@lru_cache(maxsize=1)
def registry() -> dict[str, type[Channel]]:
    """Every channel class keyed by name; a name defined twice is an error."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        entry_point.load()
    found: dict[str, type[Channel]] = {}
    pending = list(Channel.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        name = getattr(cls, "name", None)
        if not name:
            continue
        if name in found and found[name] is not cls:
            raise RuntimeError(
                f"channel {name!r} is defined twice: {found[name].__module__}."
                f"{found[name].__name__} and {cls.__module__}.{cls.__name__}"
            )
        found[name] = cls
    return found


def known_channels() -> list[str]:
    """The registered channel names, sorted."""
    return sorted(registry())


def get_channel(name: str) -> Channel:
    """The channel called `name`; KeyError with the known names otherwise."""
    try:
        return registry()[name]()
    except KeyError:
        raise KeyError(
            f"unknown channel {name!r}; known channels: {', '.join(known_channels())}"
        ) from None
