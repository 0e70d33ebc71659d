"""Open the configured database, migrate it, and mirror sources and products into it."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from ascolto.settings import DatabaseSettings, Settings
from storage import migrate
from storage.db import get_engine, safe_url, session_scope
from storage.errors import DatabaseError, SettingsError
from storage.runs import close_interrupted_runs
from storage.sources import ProductSpec, SourceSpec, sync_products, sync_sources

log = logging.getLogger(__name__)


def engine_for(settings: Settings) -> Engine:
    """The engine for the configured database URL."""
    try:
        return get_engine(settings.database.url, settings.database.echo)
    except (SQLAlchemyError, ValueError, ImportError) as exc:
        raise DatabaseError(
            f"database.url {safe_url(settings.database.url)!r} is not usable: {exc}"
        ) from None


def refuse_settings_nowhere(settings: Settings) -> None:
    """Say so when no settings were found, rather than start an empty database here."""
    default = DatabaseSettings().url
    if settings.loaded_from is not None or settings.database.url != default:
        return
    if Path(default.removeprefix("sqlite:///")).exists():
        return  # a database made here before: this folder is the install's
    raise SettingsError(
        f"no settings found: no --config, no ASCOLTO_CONFIG and no settings.toml in "
        f"{Path.cwd()}, so ascolto would start an empty database here with no sources. "
        "Run it from the folder that holds your settings.toml, pass --config FILE, set "
        "ASCOLTO_DATABASE_URL, or try `ascolto demo`"
    )


def upgrade(settings: Settings) -> tuple[str | None, str | None]:
    """Migrate the schema to the newest revision (creating the database if need be)."""
    refuse_settings_nowhere(settings)
    engine = engine_for(settings)
    try:
        return migrate.upgrade(engine)
    except OperationalError as exc:
        raise DatabaseError(
            f"cannot open or migrate the database {safe_url(settings.database.url)}: {exc.orig}"
        ) from None


def prepare(settings: Settings) -> Engine:
    """Migrate, mirror the configured sources and products, and close dead runs."""
    upgrade(settings)
    engine = engine_for(settings)
    with session_scope(engine) as session:
        sync_sources(session, (SourceSpec(s.name, s.kind, s.enabled) for s in settings.sources))
        sync_products(
            session,
            (
                ProductSpec(
                    name=p.name,
                    aliases=tuple(p.aliases),
                    skus=tuple(p.skus),
                    launched_on=date.fromisoformat(p.launched_on) if p.launched_on else None,
                    watch_days=p.watch_days,
                )
                for p in settings.products
            ),
        )
        closed = close_interrupted_runs(session)
    if closed:
        log.warning("closed %d run(s) left unfinished by a stopped process", closed)
    return engine
