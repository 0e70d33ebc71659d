"""How many mentions are claimed right now, seen from outside the claiming workers.

PostgreSQL keeps row locks in the rows themselves, not in `pg_locks`, and any query that
would notice one by conflicting with it would also make the workers skip the rows it
touched. The contrib module pgrowlocks reads them without taking any (Debian's
postgresql-contrib ships it; the tests create it in `public` as the superuser).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.conftest import POSTGRES_URL
from tests.requirements import missing


def enable_row_locks_view() -> None:
    """Create pgrowlocks in `public` once (skipping the test where it is not installed)."""
    admin = sa.create_engine(POSTGRES_URL)
    try:
        with admin.begin() as conn:
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pgrowlocks SCHEMA public"))
    except sa.exc.DBAPIError as exc:
        if "already exists" not in str(exc):
            missing(f"PostgreSQL's pgrowlocks module (postgresql-contrib): {exc}")
    finally:
        admin.dispose()


def claimed_mentions(engine: Engine) -> int:
    """Mention rows locked by some transaction: the chunks workers hold claimed."""
    with engine.connect() as conn:
        return int(
            conn.execute(sa.text("SELECT count(*) FROM public.pgrowlocks('mention')")).scalar() or 0
        )
