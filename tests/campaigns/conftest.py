"""Campaign test helpers: settings with campaigns, orders stored as a listener stores them."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from ascolto.settings import Settings, load_settings
from storage.db import session_scope
from storage.models import CheckIn, Order, OutboxMessage, Source
from storage.orders import NewOrder, NewOrderLine, upsert_orders
from storage.sources import ProductSpec, sync_products
from tests.conftest import write_settings

SECRET_KEY = "campaign-test-secret-" + "x" * 20
PUBLIC_URL = "https://care.acme.example"
PRODUCTS = """[[products]]
name = "Acme Tab 3"
skus = ["TAB3"]

[[products]]
name = "Acme Buds"
skus = ["BUDS"]

"""

_serial = itertools.count(1)

# A policy without the language detector and with no quiet hours of its own: the tests
# of the send window see the campaign's window, and each policy rule is tested on purpose.
QUIET_POLICY = """
[suppression]
public = true

[contact_limit]
max_contacts = 3
period_days = 7
"""


def campaign_toml(name: str = "after-delivery", **keys: Any) -> str:
    """A `[[campaigns]]` table; keyword values become TOML values."""
    lines = [f'[[campaigns]]\nname = "{name}"']
    for key, value in keys.items():
        lines.append(f"{key} = {_toml(value)}")
    return "\n".join(lines) + "\n\n"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)


@pytest.fixture
def campaign_settings(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Settings]:
    """Settings with these campaigns (TOML), products, a secret key and a public address.

    The policy is QUIET_POLICY unless `policy` is given (None: the shipped policy).
    """
    monkeypatch.setenv("ASCOLTO_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("ASCOLTO_WEB_PUBLIC_URL", PUBLIC_URL)

    def build(*campaigns: str, extra: str = "", policy: str | None = QUIET_POLICY) -> Settings:
        body = PRODUCTS + extra
        if policy is not None:
            policy_file = tmp_path / "policy.toml"
            policy_file.write_text(policy, encoding="utf-8")
            body = f'[policies]\nfile = "{policy_file}"\n\n' + body
        body += "".join(campaigns)
        return load_settings(write_settings(tmp_path / "settings.toml", database_url, body))

    return build


def setup_products(engine: Engine, settings: Settings) -> None:
    """Mirror the settings' products, as `prepare` does."""
    with session_scope(engine) as session:
        sync_products(session, [ProductSpec(p.name, skus=tuple(p.skus)) for p in settings.products])


def add_order(engine: Engine, **values: Any) -> int:
    """Store one order through the listeners' upsert; returns its id.

    Defaults: an Italian customer in Europe/Rome with consent, one Acme Tab 3, delivered.
    """
    n = next(_serial)
    defaults: dict[str, Any] = {
        "external_id": f"A{n:04d}",
        "email": f"customer{n}@example.com",
        "name": "Marco Rossi",
        "country": "IT",
        "language": "it",
        "timezone": "Europe/Rome",
        "consent": True,
        "currency": "EUR",
        "total": Decimal("199.00"),
        "lines": [NewOrderLine("TAB3", "Acme Tab 3", 1, Decimal("199.00"))],
        "ordered_at": datetime(2026, 11, 1, 9, 0, tzinfo=UTC),
        "shipped_at": datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
        "delivered_at": datetime(2026, 11, 3, 14, 0, tzinfo=UTC),
    }
    defaults.update(values)
    with session_scope(engine) as session:
        source = session.exec(select(Source).where(Source.name == "shop")).first()
        if source is None:
            source = Source(name="shop", kind="webhook")
            session.add(source)
            session.flush()
        counts = upsert_orders(session, source_id=source.id or 0, orders=[NewOrder(**defaults)])
        return counts.order_ids[0]


def checkins(engine: Engine) -> list[CheckIn]:
    """Every stored check-in, by id."""
    with Session(engine) as session:
        return list(session.exec(select(CheckIn).order_by(col(CheckIn.id))).all())


def checkin_of(engine: Engine, order_id: int) -> CheckIn:
    """The one check-in of an order."""
    found = [c for c in checkins(engine) if c.order_id == order_id]
    assert len(found) == 1, found
    return found[0]


def outbox(engine: Engine) -> list[OutboxMessage]:
    """Every outbox message, by id."""
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all())


def order(engine: Engine, order_id: int) -> Order:
    with Session(engine) as session:
        found = session.get(Order, order_id)
        assert found is not None
        return found


def survey_path(engine: Engine, order_id: int) -> str:
    """The survey page of an order's check-in, as linked from its e-mail (path only)."""
    checkin = checkin_of(engine, order_id)
    [message] = [m for m in outbox(engine) if m.key == f"checkin:{checkin.id}"]
    found = re.search(re.escape(PUBLIC_URL) + r"(/survey/[\w.\-]+)", message.text)
    assert found, message.text
    return found.group(1)


def unsubscribe_path(engine: Engine, order_id: int) -> str:
    """The one-click unsubscribe address of an order's check-in (path and query)."""
    checkin = checkin_of(engine, order_id)
    [message] = [m for m in outbox(engine) if m.key == f"checkin:{checkin.id}"]
    link = message.headers["List-Unsubscribe"].strip("<>")
    assert link.startswith(PUBLIC_URL + "/unsubscribe?token="), link
    return link.removeprefix(PUBLIC_URL)
