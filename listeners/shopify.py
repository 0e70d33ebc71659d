"""Shopify orders: polled from the Admin REST API (kind `shopify`) or pushed by webhooks
(kind `webhook`, received by the web app at POST /webhooks/orders/{source name}).

How an order's Shopify fields become stages (OrderEvents):
- ordered: `processed_at`, else `created_at`.
- shipped: the earliest successful fulfillment's `created_at`.
- delivered: a successful fulfillment whose `shipment_status` is `delivered` (the first one,
  for a split shipment); the REST API has no delivery time, so the fulfillment's
  `updated_at` when it moved after its creation, else the order's `updated_at` (when the
  delivery was recorded at the latest).
- refunded: the earliest refund with a successful `refund` transaction (`processed_at`,
  else `created_at`), full or partial (`extra.financial_status` says which); a refund with
  no transactions counts when `financial_status` is `refunded` or `partially_refunded`.
- returned: the earliest refund with a line restocked as a `return`, or the earliest entry
  of a `returns` list when the payload carries one.
- status: the latest stage reached; `cancelled` for a cancelled order with no refund.
Customer: `email` (else `contact_email`, else the customer's), name, the shipping (else
billing) country, `customer_locale` as language; consent from the customer's
`email_marketing_consent.state` (`subscribed` yes, `unsubscribed`/`not_subscribed` no),
else `buyer_accepts_marketing`, said at its `consent_updated_at` (else the order's
`updated_at`, which also orders deliveries: an older one is not applied); a customer
tagged `do-not-contact` is flagged so.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from listeners.base import BaseUrl, Batch, Listener, SourceOptions
from listeners.errors import BadContent, ListenError
from storage.orders import NewOrder, NewOrderLine, problems
from storage.quarantine import Rejected

WEBHOOK_TOPICS = frozenset(
    {
        "orders/create",
        "orders/updated",
        "orders/fulfilled",
        "orders/partially_fulfilled",
        "orders/paid",
        "orders/cancelled",
        "refunds/create",
    }
)
DO_NOT_CONTACT_TAGS = frozenset({"do-not-contact", "do_not_contact", "donotcontact"})


class ShopifyOptions(SourceOptions):
    shop_url: BaseUrl = Field(
        description="Address of the shop's admin API, e.g. https://acme.myshopify.com."
    )
    token_env: str = Field(
        description="Name of the environment variable holding the Admin API access token "
        "(sent as X-Shopify-Access-Token). The token itself never goes in settings."
    )
    api_version: str = Field(
        "2024-10", description="Admin API version in the request path, e.g. 2024-10."
    )
    page_size: int = Field(250, ge=1, le=250, description="Orders per page (`limit`, at most 250).")
    max_pages: int = Field(
        200,
        ge=1,
        description="Most pages one run follows; when there are more, the run stores what "
        "it read, keeps the old cursor and says so.",
    )
    start_date: str | None = Field(
        None,
        description="On the first run, only orders updated since this date (YYYY-MM-DD); "
        "without it the first run reads every order.",
    )

    @field_validator("start_date")
    @classmethod
    def _iso_date(cls, value: str | None) -> str | None:
        from datetime import date

        if value is not None:
            try:
                date.fromisoformat(value)
            except ValueError:
                raise ValueError("a date as YYYY-MM-DD, e.g. 2026-01-01") from None
        return value


class ShopifyListener(Listener):
    """Orders from a Shopify store's Admin REST API, paginated back to the last cursor."""

    kind = "shopify"
    Options = ShopifyOptions
    options: ShopifyOptions

    def fetch(self, cursor: dict[str, Any] | None) -> Batch:
        token = os.environ.get(self.options.token_env)
        if not token:
            raise ListenError(
                f"environment variable {self.options.token_env} (token_env) is not set: "
                "it must hold the shop's Admin API access token"
            )
        since = (cursor or {}).get("updated_at_min") or self.options.start_date
        endpoint = f"{self.options.shop_url}/admin/api/{self.options.api_version}/orders.json"
        params: dict[str, Any] | None = {"status": "any", "limit": self.options.page_size}
        if since and params is not None:
            params["updated_at_min"] = since
        url = endpoint
        headers = {"X-Shopify-Access-Token": token, "Accept": "application/json"}
        orders: list[NewOrder] = []
        rejected: list[Rejected] = []
        skipped = 0
        newest: str | None = since
        warnings: list[str] = []
        pages = 0
        for _ in range(self.options.max_pages):
            pages += 1
            response = self.http.get(url, headers=headers, params=params)
            payload = _json(response.content, response.url)
            if not isinstance(payload, dict) or not isinstance(payload.get("orders"), list):
                raise BadContent(f"{response.url}: expected a JSON object with an `orders` list")
            for raw in payload["orders"]:
                if isinstance(raw, dict) and raw.get("test") is True:
                    skipped += 1
                    continue
                order, reason = parse_order(raw)
                if order is None:
                    rejected.append(_rejected(raw, reason))
                    continue
                orders.append(order)
                updated = raw.get("updated_at")
                if isinstance(updated, str) and (newest is None or _later(updated, newest)):
                    newest = updated
            next_query = _next_page(response.headers.get("link", ""))
            if next_query is None:
                break
            # Follow the page cursor on our own endpoint: the token never goes to a host
            # named by a response header, and page_info requests take no other filters.
            url, params = f"{endpoint}?{next_query}", None
        else:
            warnings.append(
                f"more than max_pages ({self.options.max_pages}) pages of orders: stored "
                f"what was read ({pages} pages), cursor kept; raise max_pages"
            )
            newest = since
        new_cursor = {"updated_at_min": newest} if newest else (cursor or None)
        return Batch(
            items=[],
            orders=orders,
            cursor=new_cursor,
            skipped=skipped,
            warnings=warnings,
            quarantined=rejected,
        )


class WebhookOptions(SourceOptions):
    secret_env: str = Field(
        description="Name of the environment variable holding the webhook signing secret "
        "(the HMAC key). The secret itself never goes in settings."
    )
    format: Literal["shopify"] = Field(
        "shopify", description="Payload format of the webhooks: `shopify` (orders, refunds)."
    )
    orders_source: str | None = Field(
        None,
        description="Name of the source whose orders these webhooks update, e.g. the "
        "`shopify` source polling the same shop, so both share one order and its events; "
        "default: this source.",
    )


class WebhookListener(Listener):
    """Orders pushed to POST /webhooks/orders/{name}, signed with HMAC-SHA256; not polled."""

    kind = "webhook"
    Options = WebhookOptions
    options: WebhookOptions
    polled = False
    supports_dry_run = False

    def fetch(self, cursor: dict[str, Any] | None) -> Batch:
        raise ListenError(
            f"a `webhook` source is not polled: its orders arrive at "
            f"POST /webhooks/orders/{self.options.name}"
        )


def _json(content: bytes, where: str) -> Any:
    try:
        return json.loads(content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadContent(f"{where}: not valid JSON (truncated?): {exc}") from None


def _rejected(raw: Any, reason: str) -> Rejected:
    external_id = str(raw.get("id")) if isinstance(raw, dict) and raw.get("id") else None
    return Rejected(
        reason=reason,
        payload=json.dumps(raw, ensure_ascii=False, default=str),
        external_id=external_id,
    )


def _next_page(link: str) -> str | None:
    """The query string of the `rel="next"` URL in a Link header, if any."""
    for part in link.split(","):
        if "<" not in part or ">" not in part:
            continue
        target, _, params = part.partition(">")
        rels = [p.strip() for p in params.split(";") if p.strip().startswith("rel=")]
        if any(r.split("=", 1)[1].strip().strip('"') == "next" for r in rels):
            return urlsplit(target.strip().lstrip("<")).query or None
    return None


def _later(a: str, b: str) -> bool:
    try:
        return _time(a) > _time(b)  # type: ignore[operator]
    except (TypeError, ValueError):
        return a > b


def _time(value: Any) -> datetime | None:
    """A Shopify timestamp (ISO 8601 with offset), or a plain date at UTC midnight."""
    if not isinstance(value, str) or not value.strip():
        return None
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r} has no UTC offset")
    return parsed


def _amount(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not an amount") from None


def _earliest(values: list[datetime | None]) -> datetime | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def parse_order(raw: Any) -> tuple[NewOrder | None, str]:
    """A Shopify order object as a NewOrder, or None and the reason it cannot be one."""
    if not isinstance(raw, dict):
        return None, "an order must be a JSON object"
    if raw.get("id") in (None, ""):
        return None, "the order has no `id`"
    if not is_order(raw):
        return None, f"order {raw.get('id')}: no `created_at`: not a Shopify order"
    try:
        order = _to_order(raw)
    except (TypeError, ValueError, AttributeError) as exc:
        return None, f"order {raw.get('id')}: {exc}"
    found = problems(order)
    if found:
        return None, f"order {raw.get('id')}: {'; '.join(found)}"
    return order, ""


def is_order(raw: dict[str, Any]) -> bool:
    """Whether `raw` looks like a Shopify order: every one has an id and a creation time
    (a bare `{"id": 1}`, validly signed or not, is no order)."""
    return raw.get("id") not in (None, "") and bool(
        raw.get("created_at") or raw.get("processed_at")
    )


def parse_refund(raw: Any) -> tuple[NewOrder | None, str]:
    """A Shopify refund object (topic refunds/create) as the refunded stage of its order."""
    if not isinstance(raw, dict):
        return None, "a refund must be a JSON object"
    if raw.get("order_id") in (None, ""):
        return None, "the refund has no `order_id`"
    try:
        refunded, returned = _refund_times(raw)
        order = NewOrder(
            external_id=str(raw["order_id"]),
            refunded_at=refunded or _time(raw.get("created_at")),
            returned_at=returned,
            extra={"last_refund_id": raw.get("id")},
        )
    except (TypeError, ValueError, AttributeError) as exc:
        return None, f"refund {raw.get('id')}: {exc}"
    found = problems(order)
    if found:
        return None, f"refund {raw.get('id')}: {'; '.join(found)}"
    return order, ""


def _refund_times(refund: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    """(refunded at, returned at) of one refund object."""
    at = _time(refund.get("processed_at")) or _time(refund.get("created_at"))
    transactions = refund.get("transactions") or []
    refunded = None
    if any(
        t.get("kind") == "refund" and t.get("status") == "success"
        for t in transactions
        if isinstance(t, dict)
    ):
        refunded = _earliest(
            [
                _time(t.get("processed_at")) or at
                for t in transactions
                if isinstance(t, dict)
                and t.get("kind") == "refund"
                and t.get("status") == "success"
            ]
        )
    returned = None
    if any(
        isinstance(line, dict) and line.get("restock_type") == "return"
        for line in refund.get("refund_line_items") or []
    ):
        returned = _time(refund.get("created_at")) or at
    return refunded, returned


def _to_order(raw: dict[str, Any]) -> NewOrder:
    customer = raw.get("customer") or {}
    address = raw.get("shipping_address") or raw.get("billing_address") or {}
    default_address = customer.get("default_address") or {}
    name = " ".join(p for p in (customer.get("first_name"), customer.get("last_name")) if p) or (
        address.get("name") or None
    )
    country = address.get("country_code") or default_address.get("country_code") or None

    fulfillments = [
        f
        for f in raw.get("fulfillments") or []
        if isinstance(f, dict) and f.get("status") in ("success", None)
    ]
    shipped = _earliest([_time(f.get("created_at")) for f in fulfillments])
    delivered_times: list[datetime | None] = []
    for f in fulfillments:
        if f.get("shipment_status") == "delivered":
            created, updated = _time(f.get("created_at")), _time(f.get("updated_at"))
            moved = updated is not None and (created is None or updated > created)
            delivered_times.append(updated if moved else _time(raw.get("updated_at")))
    delivered = _earliest(delivered_times)

    refunds = [r for r in raw.get("refunds") or [] if isinstance(r, dict)]
    times = [_refund_times(r) for r in refunds]
    refunded = _earliest([t[0] for t in times])
    financial = raw.get("financial_status")
    if refunded is None and refunds and financial in ("refunded", "partially_refunded"):
        refunded = _earliest(
            [_time(r.get("processed_at")) or _time(r.get("created_at")) for r in refunds]
        )
    returns = [r for r in raw.get("returns") or [] if isinstance(r, dict)]
    returned = _earliest([t[1] for t in times] + [_time(r.get("created_at")) for r in returns])

    status = None
    if raw.get("cancelled_at") and refunded is None and returned is None:
        status = "cancelled"

    lines = []
    for item in raw.get("line_items") or []:
        if not isinstance(item, dict):
            raise ValueError("a line item is not an object")
        quantity = item.get("quantity", 1)
        if not isinstance(quantity, int):
            raise ValueError(f"line item quantity {quantity!r} is not a whole number")
        lines.append(
            NewOrderLine(
                sku=(item.get("sku") or None),
                title=(item.get("name") or item.get("title") or None),
                quantity=quantity,
                unit_price=_amount(item.get("price")),
            )
        )

    tags = {t.strip().lower() for t in str(customer.get("tags") or "").split(",")}
    return NewOrder(
        external_id=str(raw["id"]),
        email=raw.get("email") or raw.get("contact_email") or customer.get("email") or None,
        name=name,
        country=country,
        language=(raw.get("customer_locale") or None),
        consent=_consent(raw, customer),
        consent_at=_time((customer.get("email_marketing_consent") or {}).get("consent_updated_at")),
        do_not_contact=bool(tags & DO_NOT_CONTACT_TAGS),
        customer_external_id=f"shopify:{customer['id']}" if customer.get("id") else None,
        status=status,
        currency=raw.get("currency") or None,
        total=_amount(raw.get("total_price")),
        lines=lines,
        ordered_at=_time(raw.get("processed_at")) or _time(raw.get("created_at")),
        shipped_at=shipped,
        delivered_at=delivered,
        returned_at=returned,
        refunded_at=refunded,
        updated_at=_time(raw.get("updated_at")),
        extra={
            "name": raw.get("name"),
            "financial_status": financial,
            "fulfillment_status": raw.get("fulfillment_status"),
            "cancelled_at": raw.get("cancelled_at"),
            "updated_at": raw.get("updated_at"),
            "current_total_price": raw.get("current_total_price"),
        },
    )


def _consent(raw: dict[str, Any], customer: dict[str, Any]) -> bool | None:
    state = (customer.get("email_marketing_consent") or {}).get("state")
    if state == "subscribed":
        return True
    if state in ("unsubscribed", "not_subscribed", "redacted", "invalid"):
        return False
    accepts = raw.get("buyer_accepts_marketing")
    return accepts if isinstance(accepts, bool) else None
