"""Sources and products mirrored from settings, and the per-source run lease."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from storage.models import Product, Source
from storage.types import utcnow


@dataclass(frozen=True)
class SourceSpec:
    """What storage needs to know of a configured source."""

    name: str
    kind: str
    enabled: bool = True


@dataclass(frozen=True)
class ProductSpec:
    """What storage needs to know of a configured product."""

    name: str
    aliases: tuple[str, ...] = ()
    skus: tuple[str, ...] = ()
    launched_on: date | None = None
    watch_days: int = 60


def sync_sources(session: Session, specs: Iterable[SourceSpec]) -> dict[str, Source]:
    """Create or update a row per configured source; unconfigured ones are disabled, not
    deleted, so their mentions and history stay."""
    existing = {s.name: s for s in session.exec(select(Source)).all()}
    configured: dict[str, Source] = {}
    for spec in specs:
        row = existing.pop(spec.name, None) or Source(name=spec.name, kind=spec.kind)
        row.kind = spec.kind
        row.enabled = spec.enabled
        session.add(row)
        configured[spec.name] = row
    for row in existing.values():
        row.enabled = False
        session.add(row)
    session.flush()
    return configured


def sync_products(session: Session, specs: Iterable[ProductSpec]) -> None:
    """Create or update a row per configured product."""
    existing = {p.name: p for p in session.exec(select(Product)).all()}
    for spec in specs:
        row = existing.get(spec.name) or Product(name=spec.name)
        row.aliases = list(spec.aliases)
        row.skus = list(spec.skus)
        row.launched_on = spec.launched_on
        row.watch_days = spec.watch_days
        session.add(row)
    session.flush()


def get_source(session: Session, name: str) -> Source | None:
    """The source row called `name`."""
    return session.exec(select(Source).where(Source.name == name)).first()


def lease_owner() -> str:
    """This process's identity for leases: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_is_dead(owner: str | None) -> bool:
    """True when `owner` is a process on this host that no longer exists."""
    if not owner:
        return True
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def acquire_lease(session: Session, source: Source, *, owner: str, seconds: int) -> bool:
    """Take the source's lease if it is free, expired or held by a dead local process.

    Compare-and-set on the previous owner, so two processes racing for it cannot both win.
    """
    session.refresh(source)
    now = utcnow()
    free = (
        source.lease_until is None or source.lease_until < now or _owner_is_dead(source.lease_owner)
    )
    if not free:
        return False
    result = session.execute(
        update(Source)
        .where(col(Source.id) == source.id)
        .where(
            col(Source.lease_owner).is_(None)
            if source.lease_owner is None
            else col(Source.lease_owner) == source.lease_owner
        )
        .values(lease_owner=owner, lease_until=now + timedelta(seconds=seconds))
    )
    session.flush()
    session.refresh(source)
    return bool(getattr(result, "rowcount", 0) == 1)


def release_lease(session: Session, source_id: int, *, owner: str) -> None:
    """Give the lease back, if this owner still holds it."""
    session.execute(
        update(Source)
        .where(col(Source.id) == source_id)
        .where(col(Source.lease_owner) == owner)
        .values(lease_owner=None, lease_until=None)
    )
