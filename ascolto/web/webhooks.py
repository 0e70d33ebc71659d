"""Order webhooks: POST /webhooks/orders/{source_name}, for sources of kind `webhook`.

Each delivery is checked before anything is read from it: the `X-Shopify-Hmac-Sha256`
header must be the base64 HMAC-SHA256 of the raw body under the secret in the environment
variable the source's `secret_env` names, compared in constant time. Unsigned or tampered
deliveries get 401, a log line (never the secret) and an audit event.

A delivery is known by what the signature covers, the SHA-256 of its body, not by its
delivery-id header (`X-Shopify-Webhook-Id`), which anyone replaying a signed body can
change: a body already accepted is acknowledged with 200 and not applied again. An order
older than the stored one (its `updated_at`) is acknowledged as stale and not applied, and
never re-grants consent (see `storage.orders`). A body that is not JSON, or not an order,
gets 400 with the reason. An accepted order is stored with its delivery in one transaction.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from starlette.concurrency import run_in_threadpool

from ascolto.settings import Settings, SourceSettings
from listeners.registry import source_options
from listeners.shopify import WEBHOOK_TOPICS, is_order, parse_order, parse_refund
from storage import audit
from storage.db import session_scope
from storage.models import InboundWebhook
from storage.orders import NewOrder, upsert_orders
from storage.quarantine import Rejected, quarantine
from storage.sources import get_source

log = logging.getLogger("ascolto.webhooks")

router = APIRouter()


def _answer(status: int, outcome: str, **details: Any) -> JSONResponse:
    return JSONResponse({"status": outcome, **details}, status_code=status)


def _webhook_source(settings: Settings, name: str) -> SourceSettings | None:
    for source in settings.sources:
        if source.name == name and source.kind == "webhook" and source.enabled:
            return source
    return None


@router.post("/webhooks/orders/{source_name}", summary="Receive a signed order webhook")
async def receive_order_webhook(source_name: str, request: Request) -> JSONResponse:
    settings: Settings = request.app.state.settings
    engine: Engine = request.app.state.engine
    source = _webhook_source(settings, source_name)
    if source is None:
        return _answer(404, "unknown", reason=f"no enabled webhook source {source_name!r}")
    options = source_options(source)
    # Bounded by `[web] max_body_bytes` before this runs (ascolto.web.middleware.BodyLimit).
    body = await request.body()
    topic = request.headers.get("x-shopify-topic")
    delivery = "sha256:" + hashlib.sha256(body).hexdigest()
    # Kept for the audit trail only: it is not signed, so it never decides a replay.
    header_id = request.headers.get("x-shopify-webhook-id") or request.headers.get(
        "x-shopify-event-id"
    )
    secret = os.environ.get(options.secret_env, "")
    if not secret:
        log.error(
            "webhook refused: environment variable %s (secret_env) is not set",
            options.secret_env,
            extra={"source": source_name},
        )
        return _answer(503, "unavailable", reason="the webhook secret is not configured")
    signature = request.headers.get("x-shopify-hmac-sha256")
    problem = _signature_problem(body, signature, secret)
    if problem:
        client = request.client.host if request.client else None
        await run_in_threadpool(
            _record_rejection, engine, source_name, problem, (delivery, header_id), topic, client
        )
        return _answer(401, "rejected", reason=problem)
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        return _answer(400, "malformed", reason=f"the body is not valid JSON: {exc}")
    except RecursionError:
        # Signed, but nested deeper than any order: the parser gives up, so do we.
        return _answer(400, "malformed", reason="the body is nested too deeply")
    if topic not in WEBHOOK_TOPICS:
        # A topic we do not use is acknowledged, so the shop does not retry it forever.
        return _answer(200, "ignored", reason=f"topic {topic!r} is not handled")
    parse = parse_refund if topic == "refunds/create" else parse_order
    if not isinstance(payload, dict) or (
        payload.get("order_id") in (None, "") if parse is parse_refund else not is_order(payload)
    ):
        what = (
            "a refund object with `order_id`"
            if parse is parse_refund
            else "an order with `id` and `created_at`"
        )
        return _answer(400, "malformed", reason=f"expected {what} for topic {topic}")
    order, reason = parse(payload)
    rejected = None if order else Rejected(reason=reason, payload=body.decode("utf-8", "replace"))
    target = options.orders_source or source_name
    return await run_in_threadpool(
        _apply, engine, source_name, target, (delivery, header_id), topic, order, rejected
    )


def _signature_problem(body: bytes, signature: str | None, secret: str) -> str | None:
    if not signature:
        return "missing X-Shopify-Hmac-Sha256 signature"
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    if not hmac.compare_digest(expected, signature.strip().encode("ascii", "replace")):
        return "signature does not match the body"
    return None


def _record_rejection(
    engine: Engine,
    source_name: str,
    problem: str,
    ids: tuple[str, str | None],
    topic: str | None,
    client: str | None,
) -> None:
    delivery, header_id = ids
    log.warning(
        "webhook refused: %s",
        problem,
        extra={"source": source_name, "delivery": delivery, "topic": topic, "client": client},
    )
    with session_scope(engine) as session:
        row = get_source(session, source_name)
        audit.record(
            session,
            actor="webhook",
            action="webhook.rejected",
            subject_type="source",
            subject_id=row.id if row else source_name,
            details={
                "reason": problem,
                "delivery_id": delivery,
                "webhook_id": header_id,
                "topic": topic,
                "client": client,
            },
        )


def _apply(
    engine: Engine,
    source_name: str,
    target_name: str,
    ids: tuple[str, str | None],
    topic: str | None,
    order: NewOrder | None,
    rejected: Rejected | None,
) -> JSONResponse:
    delivery, header_id = ids
    try:
        with session_scope(engine) as session:
            source = get_source(session, source_name)
            target = source if target_name == source_name else get_source(session, target_name)
            if source is None or target is None:
                return _answer(503, "unavailable", reason="the source is not in the database yet")
            seen = session.exec(
                select(InboundWebhook).where(InboundWebhook.delivery_id == delivery)
            ).first()
            if seen is not None:
                return _answer(200, "duplicate", delivery_id=delivery)
            session.add(InboundWebhook(delivery_id=delivery, source_id=source.id or 0, topic=topic))
            # Claimed first: a concurrent copy of this delivery fails here, not after the upsert.
            session.flush()
            details: dict[str, Any] = {
                "delivery_id": delivery,
                "webhook_id": header_id,
                "topic": topic,
            }
            if order is None:
                quarantine(
                    session,
                    source_id=target.id or 0,
                    items=[] if rejected is None else [rejected],
                )
                details["quarantined"] = rejected.reason if rejected else None
                outcome = "quarantined"
            else:
                counts = upsert_orders(session, source_id=target.id or 0, orders=[order])
                details |= {"order": order.external_id, **counts.as_dict()}
                # Older than what is stored: acknowledged (the shop must not retry it), unused.
                outcome = "stale" if counts.stale else "accepted"
            audit.record(
                session,
                actor="webhook",
                action="webhook.received",
                subject_type="source",
                subject_id=source.id,
                details=details,
            )
    except IntegrityError:
        # The same delivery, accepted by a concurrent request a moment ago.
        return _answer(200, "duplicate", delivery_id=delivery)
    shown = {k: v for k, v in details.items() if k not in ("topic", "webhook_id")}
    return _answer(200, outcome, **shown)
