"""POST /webhooks/orders/{source}: signed, idempotent, one transaction per delivery."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from ascolto.database import prepare
from ascolto.runtime.scheduler import JOB_PREFIX, build_scheduler, sync_jobs
from ascolto.settings import Settings
from ascolto.web.app import create_app
from listeners.shopify import parse_order
from storage.db import session_scope
from storage.models import (
    AuditEvent,
    Customer,
    InboundWebhook,
    Order,
    OrderEvent,
    QuarantinedItem,
)
from storage.orders import upsert_orders
from storage.sources import get_source
from tests.feedserver import DATA

SECRET = "ascolto-test-webhook-secret"  # the recorded delivery was signed with it
SECRET_ENV = "SHOP_WEBHOOK_SECRET_TEST"
URL = "/webhooks/orders/shop-hooks"
BODY = (DATA / "shopify" / "webhook_orders_fulfilled.json").read_bytes()


def recorded_headers() -> dict[str, str]:
    lines = (DATA / "shopify" / "webhook_orders_fulfilled.headers").read_text().splitlines()
    pairs = (line.partition(":") for line in lines[1:] if ":" in line)
    keep = ("x-shopify-", "content-type")
    return {k.strip(): v.strip() for k, _, v in pairs if k.strip().lower().startswith(keep)}


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def headers(body: bytes, *, topic: str = "orders/updated", delivery: str = "d-1") -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sign(body),
        "X-Shopify-Webhook-Id": delivery,
    }


@pytest.fixture
def settings(make_settings, monkeypatch: pytest.MonkeyPatch) -> Settings:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(SECRET_ENV, SECRET)
    built: Settings = make_settings(
        f'[[sources]]\nname = "shop-hooks"\nkind = "webhook"\nsecret_env = "{SECRET_ENV}"\n'
    )
    return built


@pytest.fixture
def app_engine(settings: Settings) -> Engine:
    return prepare(settings)


@pytest.fixture
def client(settings: Settings, app_engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings, app_engine)) as test_client:
        yield test_client


def stored_events(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return sorted(session.exec(select(OrderEvent.event)).all())


def test_recorded_delivery_is_verified_and_stored(client: TestClient, app_engine: Engine) -> None:
    response = client.post(URL, content=BODY, headers=recorded_headers())
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "accepted"
    with Session(app_engine) as session:
        order = session.exec(select(Order)).one()
        assert (order.external_id, order.status) == ("6123456789001", "delivered")
        delivery = session.exec(select(InboundWebhook)).one()
        assert delivery.delivery_id == "sha256:" + hashlib.sha256(BODY).hexdigest()
        assert delivery.topic == "orders/fulfilled"
        audit_row = session.exec(
            select(AuditEvent).where(AuditEvent.action == "webhook.received")
        ).one()
        assert audit_row.details["orders_new"] == 1
    assert stored_events(app_engine) == ["delivered", "ordered", "shipped"]


def test_replayed_delivery_is_acknowledged_and_applied_once(
    client: TestClient, app_engine: Engine
) -> None:
    first = client.post(URL, content=BODY, headers=recorded_headers())
    again = client.post(URL, content=BODY, headers=recorded_headers())
    assert first.json()["status"] == "accepted"
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    with Session(app_engine) as session:
        assert len(session.exec(select(InboundWebhook)).all()) == 1
        assert len(session.exec(select(Order)).all()) == 1
    assert stored_events(app_engine) == ["delivered", "ordered", "shipped"]


def test_other_deliveries_of_the_same_order_never_double_events(
    client: TestClient, app_engine: Engine
) -> None:
    order = json.loads(BODY)
    created = {
        **order,
        "fulfillments": [],
        "fulfillment_status": None,
        "updated_at": "2026-11-20T09:00:00+01:00",
    }
    paid = {**created, "updated_at": "2026-11-20T09:00:05+01:00"}
    for delivery, topic, payload, outcome in (
        ("a", "orders/create", created, "accepted"),
        ("b", "orders/paid", paid, "accepted"),
        ("c", "orders/fulfilled", order, "accepted"),
        ("d", "orders/updated", {**order, "updated_at": "2026-11-22T15:00:00+01:00"}, "accepted"),
        # Late, and older than what is stored: must not move the status back.
        ("e", "orders/create", {**created, "note": "late copy"}, "stale"),
    ):
        body = json.dumps(payload).encode()
        response = client.post(
            URL, content=body, headers=headers(body, topic=topic, delivery=delivery)
        )
        assert response.json()["status"] == outcome, delivery
    refund = {
        "id": 991,
        "order_id": order["id"],
        "created_at": "2026-11-25T10:00:00+01:00",
        "processed_at": "2026-11-25T10:00:00+01:00",
        "transactions": [{"kind": "refund", "status": "success", "amount": "329.00"}],
        "refund_line_items": [{"quantity": 1, "restock_type": "return"}],
    }
    body = json.dumps(refund).encode()
    for delivery in ("r1", "r2"):
        client.post(
            URL, content=body, headers=headers(body, topic="refunds/create", delivery=delivery)
        )
    assert stored_events(app_engine) == ["delivered", "ordered", "refunded", "returned", "shipped"]
    with Session(app_engine) as session:
        stored = session.exec(select(Order)).one()
        assert stored.status == "refunded"
        assert stored.customer_id is not None


def test_tampered_body_is_refused_logged_and_audited(
    client: TestClient, app_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    tampered = BODY.replace(b'"329.00"', b'"1.00"', 1)
    assert tampered != BODY
    with caplog.at_level(logging.WARNING, logger="ascolto.webhooks"):
        response = client.post(URL, content=tampered, headers=recorded_headers())
    assert response.status_code == 401
    assert "does not match" in response.json()["reason"]
    assert "webhook refused" in caplog.text
    assert SECRET not in caplog.text
    with Session(app_engine) as session:
        assert session.exec(select(Order)).all() == []
        assert session.exec(select(InboundWebhook)).all() == []
        audit_row = session.exec(
            select(AuditEvent).where(AuditEvent.action == "webhook.rejected")
        ).one()
        assert audit_row.details["webhook_id"] == "3f1b9c2e-7a4d-4e8b-9c61-2d5f0a8e7b13"
        assert SECRET not in json.dumps(audit_row.details)
    # The genuine delivery with the same id is still accepted afterwards.
    assert client.post(URL, content=BODY, headers=recorded_headers()).status_code == 200


def test_missing_or_wrong_key_signature_is_refused(client: TestClient, app_engine: Engine) -> None:
    unsigned = {k: v for k, v in recorded_headers().items() if k != "X-Shopify-Hmac-Sha256"}
    response = client.post(URL, content=BODY, headers=unsigned)
    assert response.status_code == 401
    assert "missing" in response.json()["reason"]
    other_key = {**recorded_headers(), "X-Shopify-Hmac-Sha256": sign(BODY, "another-secret")}
    assert client.post(URL, content=BODY, headers=other_key).status_code == 401
    with Session(app_engine) as session:
        assert session.exec(select(Order)).all() == []
        rejected = session.exec(
            select(AuditEvent).where(AuditEvent.action == "webhook.rejected")
        ).all()
        assert len(rejected) == 2


def test_malformed_json_is_400_with_reason(client: TestClient, app_engine: Engine) -> None:
    body = BODY[:1000]
    response = client.post(URL, content=body, headers=headers(body))
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["reason"]
    not_an_order = b'{"hello": "world"}'
    response = client.post(URL, content=not_an_order, headers=headers(not_an_order, delivery="x"))
    assert response.status_code == 400
    assert "`id`" in response.json()["reason"]
    with Session(app_engine) as session:
        assert session.exec(select(InboundWebhook)).all() == []


def test_invalid_order_is_quarantined_once(client: TestClient, app_engine: Engine) -> None:
    payload = {**json.loads(BODY), "email": "giulia at example", "contact_email": None}
    payload["customer"] = {**payload["customer"], "email": None}
    body = json.dumps(payload).encode()
    for _ in range(2):
        response = client.post(URL, content=body, headers=headers(body, delivery="q"))
        assert response.status_code == 200
    with Session(app_engine) as session:
        item = session.exec(select(QuarantinedItem)).one()
        assert "email" in item.reason
        assert session.exec(select(Order)).all() == []


def test_unknown_source_and_missing_secret(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (
        client.post("/webhooks/orders/nope", content=BODY, headers=recorded_headers()).status_code
        == 404
    )
    monkeypatch.delenv(SECRET_ENV)
    assert client.post(URL, content=BODY, headers=recorded_headers()).status_code == 503


def test_webhook_sources_are_not_scheduled(settings: Settings, app_engine: Engine) -> None:
    scheduler = build_scheduler(settings, app_engine, persistent=False)
    scheduler.start(paused=True)
    try:
        sync_jobs(scheduler, settings)
        listeners = [job.id for job in scheduler.get_jobs() if job.id.startswith(JOB_PREFIX)]
        assert listeners == []
    finally:
        scheduler.shutdown(wait=False)
    with Session(app_engine) as session:
        assert session.exec(select(Order).where(col(Order.id) > 0)).all() == []


def test_webhooks_can_update_the_orders_of_the_polled_source(
    make_settings,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    settings: Settings = make_settings(
        '[[sources]]\nname = "shop"\nkind = "shopify"\nshop_url = "https://acme.example"\n'
        'token_env = "UNUSED_TOKEN"\n\n'
        f'[[sources]]\nname = "shop-hooks"\nkind = "webhook"\nsecret_env = "{SECRET_ENV}"\n'
        'orders_source = "shop"\n'
    )
    engine = prepare(settings)
    with TestClient(create_app(settings, engine)) as client:
        assert client.post(URL, content=BODY, headers=recorded_headers()).status_code == 200
    # The poll of the same shop then sees the order it already has.
    page = json.loads((DATA / "shopify" / "orders_page2.json").read_bytes())
    polled, _ = parse_order(page["orders"][0])
    assert polled is not None
    with session_scope(engine) as session:
        shop = get_source(session, "shop")
        assert shop is not None
        counts = upsert_orders(session, source_id=shop.id or 0, orders=[polled])
    assert (counts.new, counts.events) == (0, 0)
    with Session(engine) as session:
        assert len(session.exec(select(Order)).all()) == 1
    assert stored_events(engine) == ["delivered", "ordered", "shipped"]


def customer_consent(engine: Engine) -> bool | None:
    with Session(engine) as session:
        customer = session.exec(
            select(Customer).where(Customer.email == "giulia.ferri@example.it")
        ).one()
        return customer.consent


def post(client: TestClient, payload: dict[str, object], delivery: str) -> str:
    body = json.dumps(payload).encode()
    response = client.post(URL, content=body, headers=headers(body, delivery=delivery))
    assert response.status_code == 200, response.text
    status: str = response.json()["status"]
    return status


def test_signed_body_resent_under_a_new_delivery_id_is_a_replay(
    client: TestClient, app_engine: Engine
) -> None:
    assert client.post(URL, content=BODY, headers=recorded_headers()).json()["status"] == (
        "accepted"
    )
    resent = {**recorded_headers(), "X-Shopify-Webhook-Id": "forged-new-id"}
    resent.pop("X-Shopify-Event-Id", None)
    again = client.post(URL, content=BODY, headers=resent)
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    with Session(app_engine) as session:
        assert len(session.exec(select(InboundWebhook)).all()) == 1
        received = session.exec(
            select(AuditEvent).where(AuditEvent.action == "webhook.received")
        ).all()
        assert len(received) == 1


def test_withdrawn_consent_is_never_regranted_by_older_events(
    client: TestClient, app_engine: Engine
) -> None:
    recorded = json.loads(BODY)  # subscribed since 2026-03-02, order updated 2026-11-22
    assert client.post(URL, content=BODY, headers=recorded_headers()).json()["status"] == (
        "accepted"
    )
    assert customer_consent(app_engine) is True
    withdrawn = {
        **recorded,
        "updated_at": "2026-11-23T08:00:00+01:00",
        "buyer_accepts_marketing": False,
        "customer": {
            **recorded["customer"],
            "email_marketing_consent": {
                "state": "unsubscribed",
                "opt_in_level": "single_opt_in",
                "consent_updated_at": "2026-11-23T08:00:00+01:00",
            },
        },
    }
    assert post(client, withdrawn, "w") == "accepted"
    assert customer_consent(app_engine) is False
    # The recorded delivery again, under a new id: a replay.
    resent = {**recorded_headers(), "X-Shopify-Webhook-Id": "another-id"}
    assert client.post(URL, content=BODY, headers=resent).json()["status"] == "duplicate"
    # An older state of the same order arriving late: stale, not applied.
    older = {**recorded, "updated_at": "2026-11-21T10:00:00+01:00", "total_price": "1.00"}
    assert post(client, older, "late") == "stale"
    # Another, older order of the same buyer, seen for the first time: stored, but its
    # consent is older than the withdrawal.
    other = {
        **recorded,
        "id": 6123456780999,
        "name": "#1001",
        "updated_at": "2026-04-01T10:00:00+01:00",
    }
    assert post(client, other, "other") == "accepted"
    assert customer_consent(app_engine) is False
    with Session(app_engine) as session:
        stored = session.exec(select(Order).where(Order.external_id == str(recorded["id"]))).one()
        assert str(stored.total) == recorded["total_price"]
    # A newer event may grant it again: the buyer subscribed after withdrawing.
    regranted = {
        **withdrawn,
        "updated_at": "2026-11-24T08:00:00+01:00",
        "customer": {
            **recorded["customer"],
            "email_marketing_consent": {
                "state": "subscribed",
                "opt_in_level": "single_opt_in",
                "consent_updated_at": "2026-11-24T08:00:00+01:00",
            },
        },
    }
    assert post(client, regranted, "again") == "accepted"
    assert customer_consent(app_engine) is True


def test_out_of_order_updates_never_roll_an_order_back(
    client: TestClient, app_engine: Engine
) -> None:
    recorded = json.loads(BODY)
    newer = {**recorded, "updated_at": "2026-11-23T08:00:00+01:00", "total_price": "300.00"}
    assert post(client, newer, "newer") == "accepted"
    # The recorded (older) delivery arrives after it.
    assert client.post(URL, content=BODY, headers=recorded_headers()).json()["status"] == "stale"
    with Session(app_engine) as session:
        stored = session.exec(select(Order)).one()
        assert str(stored.total) == "300.00"
        assert stored.source_updated_at is not None
        assert stored.source_updated_at.isoformat().startswith("2026-11-23T07:00:00")


@pytest.mark.parametrize("payload", [{"id": 1}, {"id": 1, "email": "x@example.com"}, {}])
def test_a_signed_body_that_is_no_order_is_refused_not_stored(
    client: TestClient, app_engine: Engine, payload: dict[str, object]
) -> None:
    body = json.dumps(payload).encode()
    response = client.post(URL, content=body, headers=headers(body, delivery="bare"))
    assert response.status_code == 400
    assert "`created_at`" in response.json()["reason"]
    with Session(app_engine) as session:
        assert session.exec(select(Order)).all() == []
        assert session.exec(select(InboundWebhook)).all() == []
        assert session.exec(select(QuarantinedItem)).all() == []
