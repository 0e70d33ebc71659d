"""One run of a step at a time across every worker: PostgreSQL session advisory locks.

The lock lives as long as the connection that took it, so a worker that is killed, or
whose connection the server drops, lets go of it at once; no lease has to expire.
Keys are hashed with the schema's name, so two ascolto installations sharing one
PostgreSQL database in different schemas do not hold each other up.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)

_KEY = "hashtext(current_schema() || ':' || :name)"


@contextlib.contextmanager
def step_lock(engine: Engine, name: str, *, wait: float = 0.0) -> Iterator[bool]:
    """Yield True while this process holds the lock called `name`, False if another
    holds it (after waiting up to `wait` seconds). Without PostgreSQL, always True: a
    SQLite database has one process, whose scheduler never overlaps a job with itself."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        held = _acquire(connection, name, wait)
        try:
            yield held
        finally:
            if held:
                _release(connection, name)
    finally:
        connection.close()


def _acquire(connection: Connection, name: str, wait: float) -> bool:
    deadline = time.monotonic() + wait
    while True:
        got = connection.execute(text(f"SELECT pg_try_advisory_lock({_KEY})"), {"name": name})
        if got.scalar():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))


def _release(connection: Connection, name: str) -> None:
    try:
        connection.execute(text(f"SELECT pg_advisory_unlock({_KEY})"), {"name": name})
    except SQLAlchemyError:
        # The server dropped the connection, and the lock went with it.
        log.warning("lock %s was already gone with its connection", name)
        connection.invalidate()


def holders(engine: Engine, name: str) -> int:
    """How many sessions hold the lock called `name` (0 or 1): for health checks and tests."""
    if engine.dialect.name != "postgresql":
        return 0
    query = text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) "
        "= hashtext(current_schema() || ':' || :name)::bigint"
    )
    with engine.connect() as connection:
        return int(connection.execute(query, {"name": name}).scalar() or 0)
