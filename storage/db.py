"""Engines and sessions for SQLite files and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine


@lru_cache(maxsize=8)
def get_engine(url: str, echo: bool = False) -> Engine:
    """One engine per URL per process."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo, "pool_pre_ping": True}
    if parsed.get_backend_name() == "sqlite":
        # Listener threads and the web app share the file: wait for locks instead of
        # failing at once.
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
    engine = create_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the web app read while a run writes; foreign keys are off by default.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def safe_url(url: str) -> str:
    """The URL with any password replaced, fit for logs and screens."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unparseable database URL)"
