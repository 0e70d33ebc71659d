"""Migrations: reach head from empty, idempotently, matching the models, and back down."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers every table on SQLModel.metadata)
from storage.db import get_engine
from storage.migrate import alembic_config, current_revision, head_revision, upgrade

# APScheduler creates and owns its job table; it is not one of our models.
FOREIGN_TABLES = {"apscheduler_jobs"}


def _include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    return not (type_ == "table" and name in FOREIGN_TABLES)


def schema_diff(engine: Engine) -> list[Any]:
    """What autogenerate would change to make the database match the models."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": True, "include_object": _include},
        )
        return list(compare_metadata(context, SQLModel.metadata))


def snapshot(engine: Engine) -> dict[str, Any]:
    """Tables, columns, indexes and constraints as the database reports them."""
    inspector = sa.inspect(engine)
    result: dict[str, Any] = {}
    for table in sorted(inspector.get_table_names()):
        result[table] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)
            ],
            "indexes": sorted(str(sorted(i.items())) for i in inspector.get_indexes(table)),
            "unique": sorted(
                str(sorted(u.items())) for u in inspector.get_unique_constraints(table)
            ),
            "fks": sorted(str(sorted(f.items())) for f in inspector.get_foreign_keys(table)),
        }
    return result


def downgrade(engine: Engine, revision: str) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def model_tables() -> set[str]:
    return set(SQLModel.metadata.tables)


def test_upgrade_from_empty_reaches_head_and_is_idempotent(database_url: str) -> None:
    engine = get_engine(database_url)
    assert current_revision(engine) is None
    head = head_revision()
    assert head is not None

    before, after = upgrade(engine)
    assert (before, after) == (None, head)
    assert current_revision(engine) == head
    assert model_tables() <= set(sa.inspect(engine).get_table_names())
    first = snapshot(engine)

    assert upgrade(engine) == (head, head)
    assert snapshot(engine) == first
    assert current_revision(engine) == head


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = get_engine(database_url)
    upgrade(engine)
    # A table of APScheduler's next to ours is not a difference.
    with engine.begin() as connection:
        connection.execute(
            sa.text("CREATE TABLE apscheduler_jobs (id VARCHAR(191) PRIMARY KEY, job_state TEXT)")
        )
    assert schema_diff(engine) == []


def test_schema_diff_notices_a_missing_column(database_url: str) -> None:
    # The comparison above is only worth something if it can fail.
    engine = get_engine(database_url)
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE auditevent DROP COLUMN subject_type"))
    diff = schema_diff(engine)
    assert any(
        d[0] == "add_column" and d[2] == "auditevent" and d[3].name == "subject_type"
        for d in diff
        if isinstance(d, tuple)
    ), diff


def test_downgrade_to_base_and_upgrade_again(database_url: str) -> None:
    engine = get_engine(database_url)
    upgrade(engine)
    head = head_revision()

    downgrade(engine, "base")
    assert current_revision(engine) is None
    assert not model_tables() & set(sa.inspect(engine).get_table_names())

    assert upgrade(engine) == (None, head)
    assert schema_diff(engine) == []
