"""`ascolto import orders FILE.csv`: orders from a CSV file, validated row by row.

The file is UTF-8 (with or without a byte-order mark), comma-separated, with a header row;
column names are case-insensitive. One row per order line: an order with two products is
two rows with the same `order_id`, repeating the order's columns (or leaving them blank on
the later rows). A blank `status` is the latest stage that has a date.

| column | required | meaning |
|---|---|---|
| `order_id` | yes | the order's id in the shop; with the source, what makes an order unique |
| `email` | yes | the buyer's e-mail address; customers are matched on it (case ignored) |
| `ordered_at` | yes | when the order was placed |
| `sku` | `sku` or `title` | the product's stock-keeping unit; matched to configured products |
| `title` | `sku` or `title` | the line's product name; matched to product names and aliases |
| `quantity` | no | a whole number, 1 when blank |
| `unit_price` | no | price of one unit, e.g. `329.00` (a decimal comma is accepted) |
| `name` | no | the buyer's name |
| `country` | no | two-letter ISO country code, e.g. `IT` |
| `language` | no | language tag, e.g. `it` or `en-GB` |
| `timezone` | no | IANA time zone, e.g. `Europe/Rome` |
| `status` | no | ordered, shipped, delivered, returned, refunded, cancelled; blank: derived |
| `currency` | no | three-letter code, e.g. `EUR` |
| `total` | no | the order's total, e.g. `408.00` |
| `shipped_at` `delivered_at` `returned_at` `refunded_at` | no | when it reached that stage |
| `consent` | no | marketing consent: yes/no (also true/false, 1/0, sì); blank: unknown |
| `do_not_contact` | no | yes: never contact this person; an import never clears it once set |
| `handles` | no | the buyer's accounts as `platform:handle`, space-separated (`reddit:marco_b`) |

Dates are ISO 8601: `2026-11-20`, `2026-11-20 16:03`, `2026-11-20T16:03:11+01:00`; a time
without an offset is UTC. Every bad cell is reported with its line number, column, value and
what was expected; an order with a bad row is not imported at all (its other rows are listed
too), every other order is. Importing the same file again changes nothing: orders are unique
by (source, order_id) and each stage is stored once.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import available_timezones

from sqlalchemy.engine import Engine

from storage import audit
from storage.db import session_scope
from storage.models import Source
from storage.orders import (
    STATUSES,
    NewOrder,
    NewOrderLine,
    OrderCounts,
    is_email,
    normalise_email,
    problems,
    upsert_orders,
)
from storage.sources import get_source
from storage.types import whole_number

DEFAULT_SOURCE = "csv-import"
REQUIRED = ("order_id", "email", "ordered_at")
ORDER_COLUMNS = (
    "email",
    "name",
    "country",
    "language",
    "timezone",
    "status",
    "currency",
    "total",
    "ordered_at",
    "shipped_at",
    "delivered_at",
    "returned_at",
    "refunded_at",
    "consent",
    "do_not_contact",
    "handles",
)
LINE_COLUMNS = ("sku", "title", "quantity", "unit_price")
COLUMNS = ("order_id", *ORDER_COLUMNS, *LINE_COLUMNS)
DATE_COLUMNS = ("ordered_at", "shipped_at", "delivered_at", "returned_at", "refunded_at")
_YES = {"yes", "y", "true", "1", "si", "sì", "x"}
_NO = {"no", "n", "false", "0"}
_AMOUNT = re.compile(r"^\d{1,12}([.,]\d{1,2})?$")


class ImportFileError(Exception):
    """The file cannot be read as an orders CSV at all (exit code 2)."""


@dataclass(frozen=True)
class RowError:
    """One bad cell (or row): where, what was there, what was expected."""

    line: int
    column: str
    value: str
    expected: str

    def __str__(self) -> str:
        shown = self.value if len(self.value) <= 60 else self.value[:57] + "..."
        return f"line {self.line}, column {self.column}: {shown!r}: expected {self.expected}"


@dataclass
class ImportReport:
    """What an import did, and every row it refused."""

    source: str
    rows: int = 0
    orders: int = 0
    lines: int = 0
    dry_run: bool = False
    counts: OrderCounts = field(default_factory=OrderCounts)
    errors: list[RowError] = field(default_factory=list)
    rejected_lines: list[int] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 when every row was imported, 1 when some were rejected."""
        return 1 if self.rejected_lines else 0


@dataclass
class _Row:
    line: int
    values: dict[str, str]
    overflow: str = ""


@dataclass
class _Pending:
    order_id: str
    first_line: int
    fields: dict[str, Any] = field(default_factory=dict)
    seen_at: dict[str, int] = field(default_factory=dict)
    lines: list[NewOrderLine] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    bad: bool = False


def read_rows(path: Path) -> Iterator[_Row]:
    """The data rows of the file with their line numbers; ImportFileError if unreadable."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot read the file: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportFileError(
            f"{path}: not UTF-8 text (byte {exc.start + 1}, line {line}); "
            "save the file as UTF-8 (CSV UTF-8 in spreadsheet programs)"
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise ImportFileError(f"{path}: line 1 is not CSV: {exc}") from None
    if header is None or not any(h.strip() for h in header):
        raise ImportFileError(f"{path}: the file is empty; expected a header row")
    names = [h.strip().lower() for h in header]
    missing = [c for c in REQUIRED if c not in names]
    if "sku" not in names and "title" not in names:
        missing.append("sku or title")
    unknown = [h for h in names if h and h not in COLUMNS]
    doubled = sorted({h for h in names if h and names.count(h) > 1})
    complaints = []
    if missing:
        complaints.append(f"missing required column(s): {', '.join(missing)}")
    if unknown:
        complaints.append(f"unknown column(s): {', '.join(unknown)}")
    if doubled:
        complaints.append(f"column(s) given twice: {', '.join(doubled)}")
    if complaints:
        raise ImportFileError(
            f"{path}: {'; '.join(complaints)} (known columns: {', '.join(COLUMNS)})"
        )
    return _data_rows(path, reader, names)


def _data_rows(path: Path, reader: Any, names: list[str]) -> Iterator[_Row]:
    previous = reader.line_num
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ImportFileError(f"{path}: line {previous + 1} is not CSV: {exc}") from None
        line = previous + 1
        previous = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        values = {name: "" for name in names if name}
        for name, cell in zip(names, cells, strict=False):
            if name:
                values[name] = cell.strip()
        extra = [c for c in cells[len(names) :] if c.strip()]
        yield _Row(line, values, ",".join(extra))


def parse_file(path: Path) -> tuple[list[_Pending], list[RowError], int]:
    """Orders grouped from the file's rows, the errors found, and the number of rows."""
    pending: dict[str, _Pending] = {}
    errors: list[RowError] = []
    count = 0
    for row in read_rows(path):
        count += 1
        row_errors: list[RowError] = []

        def bad(
            column: str, expected: str, row: _Row = row, out: list[RowError] = row_errors
        ) -> None:
            out.append(RowError(row.line, column, row.values.get(column, ""), expected))

        if row.overflow:
            row_errors.append(
                RowError(row.line, "(after the last column)", row.overflow, "no more cells")
            )
        order_id = row.values.get("order_id", "")
        if not order_id:
            bad("order_id", "the order's id (not blank)")
        elif len(order_id) > 200:
            bad("order_id", "at most 200 characters")
        parsed = {c: _parse(c, row.values.get(c, ""), bad) for c in ORDER_COLUMNS}
        line = _parse_line(row, bad)
        if not row_errors and order_id:
            group = pending.setdefault(order_id, _Pending(order_id, row.line))
            for column, value in parsed.items():
                if value is None or value == "":
                    continue
                if column not in group.fields:
                    group.fields[column] = value
                    group.seen_at[column] = row.line
                elif group.fields[column] != value:
                    bad(
                        column,
                        f"the same {column} as line {group.seen_at[column]} for order "
                        f"{order_id} ({row_value(group.fields[column])})",
                    )
        if order_id:
            group = pending.setdefault(order_id, _Pending(order_id, row.line))
            group.rows.append(row.line)
            if row_errors:
                group.bad = True
            elif line is not None:
                group.lines.append(line)
        errors += row_errors
    for group in pending.values():
        if group.bad:
            continue
        for column in REQUIRED[1:]:
            if column not in group.fields:
                group.bad = True
                errors.append(
                    RowError(group.first_line, column, "", f"a value for order {group.order_id}")
                )
    return list(pending.values()), errors, count


def row_value(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _parse(column: str, value: str, bad: Any) -> Any:
    if not value:
        return None
    if column == "email":
        email = normalise_email(value)
        if not is_email(email):
            bad(column, "an e-mail address such as name@example.com")
            return None
        return email
    if column in DATE_COLUMNS:
        return _date(column, value, bad)
    if column == "total":
        return _decimal(column, value, bad)
    if column in ("consent", "do_not_contact"):
        lowered = value.lower()
        if lowered in _YES:
            return True
        if lowered in _NO:
            return False
        bad(column, "yes or no (or true/false, 1/0), or blank for unknown")
        return None
    if column == "status":
        if value.lower() not in STATUSES:
            bad(column, f"one of {', '.join(STATUSES)}, or blank")
            return None
        return value.lower()
    if column == "currency":
        if not re.fullmatch(r"[A-Za-z]{3}", value):
            bad(column, "a three-letter currency code such as EUR")
            return None
        return value.upper()
    if column == "country":
        if not re.fullmatch(r"[A-Za-z]{2}", value):
            bad(column, "a two-letter country code such as IT")
            return None
        return value.upper()
    if column == "timezone":
        if value not in _zones():
            bad(column, "an IANA time zone such as Europe/Rome")
            return None
        return value
    if column == "language":
        if len(value) > 20 or not re.fullmatch(r"[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*", value):
            bad(column, "a language tag such as it or en-GB")
            return None
        return value
    if column == "name" and len(value) > 300:
        bad(column, "at most 300 characters")
        return None
    if column == "handles":
        pairs = []
        for token in value.split():
            platform, sep, handle = token.partition(":")
            if not sep or not platform or not handle.lstrip("@"):
                bad(column, "platform:handle pairs separated by spaces, e.g. reddit:marco_b")
                return None
            pairs.append((platform, handle))
        return tuple(pairs)
    return value


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _date(column: str, value: str, bad: Any) -> datetime | None:
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        bad(column, "a date or time such as 2026-11-20 or 2026-11-20T16:03:11+01:00")
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _decimal(column: str, value: str, bad: Any) -> Decimal | None:
    if not _AMOUNT.match(value):
        bad(column, "an amount such as 329.00 (no currency sign or thousands separator)")
        return None
    try:
        return Decimal(value.replace(",", "."))
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        bad(column, "an amount such as 329.00")
        return None


def _parse_line(row: _Row, bad: Any) -> NewOrderLine | None:
    sku = row.values.get("sku") or None
    title = row.values.get("title") or None
    if sku is None and title is None:
        bad("sku", "a sku or a title for the order line")
        return None
    ok = True
    if sku is not None and len(sku) > 100:
        bad("sku", "at most 100 characters")
        ok = False
    if title is not None and len(title) > 500:
        bad("title", "at most 500 characters")
        ok = False
    quantity = 1
    raw_quantity = row.values.get("quantity", "")
    if raw_quantity:
        if whole_number(raw_quantity, low=1, high=100_000) is None:
            bad("quantity", "a whole number from 1, such as 2")
            ok = False
        else:
            quantity = int(raw_quantity)
    price = None
    if row.values.get("unit_price"):
        price = _decimal("unit_price", row.values["unit_price"], bad)
        ok = ok and price is not None
    return NewOrderLine(sku, title, quantity, price) if ok else None


# A stage cannot come before the one it follows: (stage, the earlier one).
_FOLLOWS = (
    ("shipped_at", "ordered_at"),
    ("delivered_at", "shipped_at"),
    ("delivered_at", "ordered_at"),
    ("returned_at", "ordered_at"),
    ("refunded_at", "ordered_at"),
)


def _out_of_order(order: NewOrder) -> list[tuple[str, str]]:
    """(column, why) for each stage dated before the one it follows (a swapped column)."""
    found: list[tuple[str, str]] = []
    for later, earlier in _FOLLOWS:
        at, before = getattr(order, later), getattr(order, earlier)
        if at is not None and before is not None and at < before:
            stage, first = later.removesuffix("_at"), earlier.removesuffix("_at")
            found.append(
                (
                    later,
                    f"a time after {earlier} ({before:%Y-%m-%d %H:%M}): "
                    f"{stage} before it was {first}?",
                )
            )
    return found


def _to_order(group: _Pending) -> NewOrder:
    f = group.fields
    return NewOrder(
        external_id=group.order_id,
        email=f.get("email"),
        name=f.get("name"),
        country=f.get("country"),
        language=f.get("language"),
        timezone=f.get("timezone"),
        consent=f.get("consent"),
        do_not_contact=bool(f.get("do_not_contact")),
        status=f.get("status"),
        currency=f.get("currency"),
        total=f.get("total"),
        lines=group.lines,
        ordered_at=f.get("ordered_at"),
        shipped_at=f.get("shipped_at"),
        delivered_at=f.get("delivered_at"),
        returned_at=f.get("returned_at"),
        refunded_at=f.get("refunded_at"),
        handles=f.get("handles") or (),
        extra={"imported_from": "csv"},
    )


_COLUMN_OF = {
    "email": "email",
    "name": "name",
    "country": "country",
    "language": "language",
    "timezone": "timezone",
    "status": "status",
    "currency": "currency",
    "total": "total",
}


def import_orders(
    engine: Engine, path: Path, *, source: str | None = None, dry_run: bool = False
) -> ImportReport:
    """Validate `path` and store its good orders in one transaction (none when dry_run).

    Raises ImportFileError for a file that cannot be read or lacks required columns, and
    LookupError for an unknown `source`.
    """
    name = source or DEFAULT_SOURCE
    report = ImportReport(source=name, dry_run=dry_run)
    groups, errors, report.rows = parse_file(path)
    good: list[tuple[_Pending, NewOrder]] = []
    for group in groups:
        if group.bad:
            continue
        order = _to_order(group)
        # What the row checks cannot see (e.g. an unknown time zone) is caught here.
        for problem in problems(order):
            column, _, why = problem.partition(" ")
            column = column.rstrip(":")
            errors.append(
                RowError(
                    group.seen_at.get(column, group.first_line),
                    _COLUMN_OF.get(column, column),
                    str(group.fields.get(column, "")),
                    why.split(": expected ", 1)[-1].removeprefix(": "),
                )
            )
            group.bad = True
        for column, why in _out_of_order(order):
            value = group.fields.get(column)
            errors.append(
                RowError(
                    group.seen_at.get(column, group.first_line),
                    column,
                    value.isoformat() if isinstance(value, datetime) else str(value or ""),
                    why,
                )
            )
            group.bad = True
        if not group.bad:
            good.append((group, order))
    errors.sort(key=lambda e: (e.line, e.column))
    report.errors = errors
    report.rejected_lines = sorted(line for g in groups if g.bad for line in g.rows)
    report.orders = len(good)
    report.lines = sum(len(o.lines) for _, o in good)
    if dry_run:
        return report
    with session_scope(engine) as session:
        row = get_source(session, name)
        if row is None:
            if source is not None:
                raise LookupError(
                    f"no source named {source!r}: name a configured source, or leave out "
                    f"--source to use {DEFAULT_SOURCE!r}"
                )
            row = Source(name=name, kind="import", enabled=False)
            session.add(row)
            session.flush()
        if good:
            report.counts = upsert_orders(
                session, source_id=row.id or 0, orders=[o for _, o in good]
            )
        audit.record(
            session,
            actor="cli",
            action="orders.import",
            subject_type="source",
            subject_id=row.id,
            details={
                "file": path.name,
                "rows": report.rows,
                "orders": report.orders,
                "rejected_rows": len(report.rejected_lines),
                **report.counts.as_dict(),
            },
        )
    return report
