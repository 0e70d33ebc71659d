"""An erased person is never contacted again, on every path: a reply drafted to a new post
of theirs is blocked, a check-in after a new order is skipped, and a message written to
their address by hand is cancelled at delivery. Only hashes of their identifiers are kept."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ascolto.database import prepare
from ascolto.privacy.erasure import erase, person_key
from ascolto.settings import Settings
from outreach.campaigns import run_campaigns
from outreach.drafting import draft_pending
from outreach.outbox import deliver_due, enqueue
from storage.db import session_scope
from storage.models import Draft, OutboxMessage
from tests.campaigns.conftest import add_order as add_shop_order
from tests.campaigns.conftest import campaign_toml, checkin_of, outbox
from tests.campaigns.test_suppression import DUE
from tests.factories import at
from tests.outreach.delivery import delivery_toml, later
from tests.outreach.draft_factories import add_mention, add_order, settings_for
from tests.smtpserver import SmtpServer, smtp_server

EMAIL = "giada.conti@example.it"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


def test_a_reply_to_an_erased_author_or_customer_is_blocked(
    tmp_path: Path, database_url: str
) -> None:
    settings = settings_for(
        tmp_path, database_url, '[outreach]\nenabled = true\nreply_channel = "email"\n'
    )
    engine = prepare(settings)
    add_order(engine, email=EMAIL, name="Giada Conti", handles=(("reddit", "giada_c"),))
    add_mention(engine, handle="giada_c", text="My Acme Tab 3 never arrived, first post")
    erase(settings, engine, person_key(handle="reddit:giada_c"), actor="dpo")

    # Back again: a new order with the same address, a new post by the same handle.
    add_order(engine, email=EMAIL, name="Giada Conti", handles=())
    add_mention(engine, handle="Giada_C", text="Still waiting for my Acme Tab 3, second post")
    add_mention(engine, handle="someone_else", text="My Acme Tab 3 is late too, third post")
    report = draft_pending(settings, engine, now=at(days=1))
    assert report.ok, report.error
    with Session(engine) as session:
        found = session.exec(select(Draft).where(Draft.status != "withdrawn")).all()
    by_reason = [d for d in found if any(f["rule"] == "suppression" for f in d.verdict_details)]
    assert len(found) == 2, [d.verdict_details for d in found]
    (blocked,) = by_reason
    assert blocked.verdict == "block"
    assert any("suppression list" in f["reason"] for f in blocked.verdict_details), (
        blocked.verdict_details
    )
    (other,) = [d for d in found if d is not blocked]
    assert other.verdict != "block"


def test_an_erased_customer_gets_no_check_in_after_a_new_order(
    campaign_settings: Callable[..., Settings], engine: Engine
) -> None:
    settings = campaign_settings(campaign_toml(starts_on="2026-11-01"))
    add_shop_order(engine, email="first@example.com")
    add_shop_order(engine, email=EMAIL)
    erase(settings, engine, person_key(email=EMAIL), actor="dpo")
    again = add_shop_order(engine, email=EMAIL.upper())
    kept = add_shop_order(engine, email="kept@example.com")

    run_campaigns(settings, engine, now=DUE)
    assert checkin_of(engine, again).skip_reason == "opted_out"
    assert "suppression list" in (checkin_of(engine, again).skip_details or "")
    assert checkin_of(engine, kept).status == "sent"
    assert EMAIL not in {m.recipient for m in outbox(engine)}


def test_a_message_to_an_erased_address_is_cancelled_at_delivery(
    tmp_path: Path, database_url: str, smtp: SmtpServer
) -> None:
    settings = settings_for(
        tmp_path, database_url, delivery_toml(smtp_port=smtp.port) + "[outreach]\nenabled = false\n"
    )
    engine = prepare(settings)
    add_order(engine, email=EMAIL, name="Giada Conti")
    erase(settings, engine, person_key(email=EMAIL), actor="dpo")
    with session_scope(engine) as session:
        for address in (EMAIL, "other@example.it"):
            enqueue(
                session,
                key=f"hand:{address}",
                channel="email",
                recipient=address,
                subject="About your order",
                text="Hello",
                kind="reply",
            )
    report = deliver_due(settings, engine, now=later())
    assert report.sent == 1
    assert [m.rcpt_tos for m in smtp.received] == [["other@example.it"]]
    with Session(engine) as session:
        stopped = session.exec(select(OutboxMessage).where(OutboxMessage.recipient == EMAIL)).one()
    assert stopped.status == "cancelled"
    assert "erased" in (stopped.last_error or "")
