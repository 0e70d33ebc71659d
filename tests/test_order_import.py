"""`ascolto import orders FILE.csv`, run as a real process against real databases."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from listeners.order_import import import_orders, parse_file
from tests.conftest import write_settings
from tests.feedserver import DATA

ASCOLTO = Path(sys.executable).parent / "ascolto"
EXAMPLE = DATA / "orders" / "orders_example.csv"
WITH_ERRORS = DATA / "orders" / "orders_with_errors.csv"
PRODUCTS = (
    '[[products]]\nname = "Acme Tab 3"\nskus = ["ACME-TAB3-128-GRY"]\n\n'
    '[[products]]\nname = "Acme Buds"\nskus = ["ACME-BUDS-WHT"]\n\n'
)


def ascolto(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ASCOLTO), "-c", str(cwd / "settings.toml"), *args],
        cwd=cwd,
        env={**os.environ, "COLUMNS": "250"},
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )


def query(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(sql)).all()]
    finally:
        engine.dispose()


@pytest.fixture
def workdir(tmp_path: Path, database_url: str) -> Path:
    write_settings(tmp_path / "settings.toml", database_url, PRODUCTS)
    return tmp_path


def test_good_file_imports_everything_and_again_changes_nothing(
    workdir: Path, database_url: str
) -> None:
    result = ascolto(workdir, "import", "orders", str(EXAMPLE))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "imported 3 order(s), 4 line(s)" in result.stdout
    orders = query(
        database_url,
        'SELECT o.external_id, o.status, c.email FROM "order" o '
        "JOIN customer c ON c.id = o.customer_id ORDER BY o.external_id",
    )
    assert orders == [
        ("A-1001", "delivered", "marco.bellini@example.it"),
        ("A-1002", "shipped", "giulia.ferri@example.it"),
        ("A-1003", "refunded", "jen.hale@example.com"),
    ]
    events = query(database_url, "SELECT count(*) FROM orderevent")[0][0]
    assert events == 3 + 2 + 5
    unmatched = query(database_url, "SELECT count(*) FROM orderline WHERE product_id IS NULL")
    assert unmatched == [(0,)]

    again = ascolto(workdir, "import", "orders", str(EXAMPLE))
    assert again.returncode == 0
    assert "new 0, updated 0, unchanged 3, events 0" in again.stdout
    assert query(database_url, "SELECT count(*) FROM orderevent")[0][0] == events
    assert query(database_url, "SELECT count(*) FROM orderline")[0][0] == 4


def test_bad_rows_are_listed_and_good_ones_imported(workdir: Path, database_url: str) -> None:
    result = ascolto(workdir, "import", "orders", str(WITH_ERRORS))
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert "imported 2 order(s)" in out
    assert "rejected 6 row(s) (lines 3, 4, 5, 6, 7, 8)" in out
    for expected in (
        "line 3, column email: 'not-an-email': expected an e-mail address",
        "line 4, column total: '12 €': expected an amount such as 329.00",
        "line 5, column ordered_at: '24/11/2026': expected a date or time",
        "line 5, column quantity: 'two': expected a whole number",
        "line 6, column status: 'lost': expected one of ordered, shipped",
        "line 6, column consent: 'maybe': expected yes or no",
        "line 8, column currency: 'USD': expected the same currency as line 7 for order B-2006",
        "line 7: not imported, another row of the same order is invalid",
    ):
        assert expected in out, f"{expected!r} not in:\n{out}"
    assert query(database_url, 'SELECT external_id FROM "order" ORDER BY external_id') == [
        ("B-2001",),
        ("B-2007",),
    ]
    assert query(database_url, "SELECT email, consent FROM customer ORDER BY email") == [
        ("anna.rossi@example.it", True),
        ("tom@example.com", False),
    ]


def test_dry_run_stores_nothing(workdir: Path, database_url: str) -> None:
    result = ascolto(workdir, "import", "orders", str(WITH_ERRORS), "--dry-run")
    assert result.returncode == 1
    assert "would import 2 order(s)" in result.stdout
    assert query(database_url, 'SELECT count(*) FROM "order"') == [(0,)]


def test_unreadable_files_exit_2(workdir: Path) -> None:
    missing_column = workdir / "no_email.csv"
    missing_column.write_text("order_id,sku,ordered_at\n1,X,2026-11-01\n", encoding="utf-8")
    latin1 = workdir / "latin1.csv"
    latin1.write_bytes(EXAMPLE.read_text(encoding="utf-8").encode("latin-1"))
    for path, message in (
        (missing_column, "missing required column(s): email"),
        (latin1, "not UTF-8 text"),
        (workdir / "nowhere.csv", "cannot read the file"),
    ):
        result = ascolto(workdir, "import", "orders", str(path))
        assert result.returncode == 2, result.stdout + result.stderr
        assert message in " ".join(result.stderr.split())


# In-process checks of the parser and the rules, on both databases where it matters.


def test_bom_and_header_case_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    text = EXAMPLE.read_text(encoding="utf-8")
    header, rest = text.split("\n", 1)
    path.write_bytes(b"\xef\xbb\xbf" + (header.upper() + "\n" + rest).encode("utf-8"))
    groups, errors, rows = parse_file(path)
    assert (len(groups), errors, rows) == (3, [], 4)


def test_unknown_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "typo.csv"
    path.write_text("order_id,emial,email,ordered_at,sku\n", encoding="utf-8")
    with pytest.raises(Exception, match="unknown column\\(s\\): emial"):
        parse_file(path)


def test_do_not_contact_survives_a_later_import(
    tmp_path: Path, database_url: str, engine: sa.engine.Engine
) -> None:
    first = tmp_path / "first.csv"
    first.write_text(
        "order_id,email,ordered_at,sku,consent,do_not_contact,handles\n"
        "C-1,Ada@Example.com,2026-11-01,ACME-BUDS-WHT,yes,yes,reddit:ada_l\n",
        encoding="utf-8",
    )
    second = tmp_path / "second.csv"
    second.write_text(
        "order_id,email,ordered_at,sku,consent,do_not_contact\n"
        "C-2,ada@example.com,2026-11-02,ACME-BUDS-WHT,no,no\n",
        encoding="utf-8",
    )
    assert import_orders(engine, first).exit_code == 0
    report = import_orders(engine, second)
    assert (report.exit_code, report.counts.customers_new) == (0, 0)
    assert query(database_url, "SELECT email, consent, do_not_contact FROM customer") == [
        ("ada@example.com", False, True)
    ]
    linked = query(
        database_url,
        "SELECT a.platform, a.handle FROM author a JOIN customer c ON c.id = a.customer_id",
    )
    assert linked == [("reddit", "ada_l")]


def test_unknown_source_is_refused(tmp_path: Path, engine: sa.engine.Engine) -> None:
    copy = tmp_path / "orders.csv"
    shutil.copy(EXAMPLE, copy)
    with pytest.raises(LookupError, match="no source named 'nope'"):
        import_orders(engine, copy, source="nope")


def test_stages_out_of_order_are_rejected_with_the_reason(
    tmp_path: Path, database_url: str, engine: sa.engine.Engine
) -> None:
    path = tmp_path / "swapped.csv"
    path.write_text(
        "order_id,email,ordered_at,shipped_at,delivered_at,sku\n"
        "S-1,a@example.com,2026-11-05,2026-11-01,,ACME-BUDS-WHT\n"
        "S-2,b@example.com,2026-11-01,2026-11-05,2026-11-03,ACME-BUDS-WHT\n"
        "S-3,c@example.com,2026-11-01,2026-11-02,2026-11-04,ACME-BUDS-WHT\n",
        encoding="utf-8",
    )
    report = import_orders(engine, path)
    assert report.exit_code == 1
    assert report.rejected_lines == [2, 3]
    said = [str(e) for e in report.errors]
    assert any("shipped before it was ordered" in s and "shipped_at" in s for s in said), said
    assert any("delivered before it was shipped" in s for s in said), said
    assert query(database_url, 'SELECT external_id FROM "order"') == [("S-3",)]
