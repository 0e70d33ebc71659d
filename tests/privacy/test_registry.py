"""Every table and every text column is placed in the record of personal data, so a new
one cannot hold people's data unnoticed by erasure, export and the docs."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import JSON, LargeBinary, String, Text
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

import storage.models  # noqa: F401  (registers the tables)
from storage.privacy import FREE_OF_PERSONAL_DATA, PERSONAL_DATA

TEXTUAL = (String, Text, JSON, LargeBinary, AutoString)
DOCS = Path(__file__).parents[2] / "docs" / "privacy.md"


def test_every_table_is_placed_once() -> None:
    tables = {t.name for t in SQLModel.metadata.sorted_tables}
    placed = set(PERSONAL_DATA) | set(FREE_OF_PERSONAL_DATA)
    assert tables - placed == set(), "add these tables to storage.privacy.PERSONAL_DATA"
    assert placed - tables == set(), "these tables are gone: remove them from the record"
    assert set(PERSONAL_DATA) & set(FREE_OF_PERSONAL_DATA) == set()


def test_every_text_column_is_personal_or_plain() -> None:
    for table in SQLModel.metadata.sorted_tables:
        holding = PERSONAL_DATA.get(table.name) or FREE_OF_PERSONAL_DATA[table.name]
        columns = {c.name for c in table.columns}
        textual = {c.name for c in table.columns if isinstance(c.type, TEXTUAL)}
        unplaced = textual - set(holding.personal) - holding.plain
        assert unplaced == set(), f"{table.name}: say whether {sorted(unplaced)} name people"
        assert set(holding.personal) | holding.plain <= columns, table.name
        assert not set(holding.personal) & holding.plain, table.name
        if holding.personal:
            assert holding.erasure != "none" or table.name == "erasedidentity", table.name


def test_the_record_of_processing_names_every_personal_column() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for table, holding in PERSONAL_DATA.items():
        for column in holding.personal:
            assert f"`{table}.{column}`" in text, f"docs/privacy.md: describe {table}.{column}"
