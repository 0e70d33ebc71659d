"""What a draft knows: the mention, its labels, the product, the order, earlier contacts.

Only facts read from storage go in; a template can state nothing else. The same facts
make the policy engine's `DraftContext`, so the verdict judges the draft against what is
actually known (e.g. the delivery dates in the order data).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session

from outreach.settings import Settings
from policies.context import DraftContext, primary_language
from storage.models import Customer
from storage.outreach import (
    ContactFact,
    KnownIssue,
    MentionFacts,
    OrderFacts,
    earlier_contacts,
    latest_order,
    open_issues,
    products_by_name,
)
from storage.privacy import is_erased
from storage.types import utcnow

# Source kinds whose public replies go out through the source's API; the others get a
# ready-to-post copy (channel "manual").
REPLY_CHANNELS = {"mastodon": "mastodon"}
# How far back earlier contacts are read, at least: the policy may need longer.
CONTACT_LOOKBACK = timedelta(days=90)


@dataclass(frozen=True)
class DraftFacts:
    """Everything a draft may say, and what the policy check needs besides."""

    mention_id: int | None
    mention_text: str
    mention_url: str | None
    platform: str | None
    source_kind: str | None
    mention_language: str | None
    author_id: int | None
    handle: str | None
    display_name: str | None
    customer_id: int | None
    customer_name: str | None
    customer_email: str | None
    customer_language: str | None
    customer_tz: str | None
    do_not_contact: bool
    issues: tuple[str, ...]
    urgency: tuple[str, ...]
    product: str | None
    product_id: int | None
    order: OrderFacts | None
    earlier: tuple[ContactFact, ...]
    known_issue: KnownIssue | None
    opened_at: datetime | None
    # The address or handle belongs to a person erased on request: never contacted again.
    erased: bool = False
    # The classifier's sentiment of the mention, and its title (forums, reviews).
    sentiment: str | None = None
    mention_title: str | None = None

    @property
    def full_text(self) -> str:
        """The mention as its author wrote it: title (when any) and text."""
        if self.mention_title and self.mention_title not in self.mention_text:
            return f"{self.mention_title}\n{self.mention_text}".strip()
        return self.mention_text

    @property
    def latest_contact(self) -> ContactFact | None:
        """The most recent earlier contact, if any."""
        return self.earlier[0] if self.earlier else None

    def reply_language(self) -> str | None:
        """The language the person writes in: the mention's, else the customer's."""
        return primary_language(self.mention_language) or primary_language(self.customer_language)

    def customer_first_language(self) -> str | None:
        """For a private message: the customer's own language, else the one they wrote in."""
        return primary_language(self.customer_language) or primary_language(self.mention_language)

    def timezone(self) -> ZoneInfo | None:
        """The customer's time zone, when known and valid."""
        if not self.customer_tz:
            return None
        try:
            return ZoneInfo(self.customer_tz)
        except (ZoneInfoNotFoundError, ValueError):
            return None


def facts_for_mention(
    session: Session,
    settings: Settings,
    found: MentionFacts,
    *,
    now: datetime | None = None,
    lookback: timedelta = CONTACT_LOOKBACK,
) -> DraftFacts:
    """Gather what a reply to this mention may say."""
    now = now or utcnow()
    mention, labels, author, customer = found.mention, found.labels, found.author, found.customer
    products = products_by_name(session, labels.products)
    order = None
    if customer is not None and customer.id is not None:
        order = latest_order(
            session,
            customer_id=customer.id,
            since=now - timedelta(days=settings.outreach.order_window_days),
            product_ids=[p.id for p in products.values() if p.id is not None],
        )
    # The product the mention names; else the one in the order it is likely about.
    product_name = next((n for n in labels.products if n in products), None)
    product_id = products[product_name].id if product_name else None
    if product_name is None and order is not None and order.products:
        product_name = order.products[0]
        product_id = order.product_ids[0] if order.product_ids else None
    issues = open_issues(session, product_ids=[product_id] if product_id else [])
    earlier = earlier_contacts(
        session,
        customer_id=customer.id if customer else None,
        author_id=author.id if author else None,
        since=now - lookback,
    )
    return DraftFacts(
        mention_id=mention.id,
        mention_text=mention.text,
        mention_url=mention.url,
        platform=author.platform if author else None,
        source_kind=found.source_kind,
        mention_language=labels.language or mention.lang,
        author_id=author.id if author else None,
        handle=author.handle if author else None,
        display_name=author.display_name if author else None,
        customer_id=customer.id if customer else None,
        customer_name=customer.name if customer else None,
        customer_email=customer.email if customer else None,
        customer_language=customer.language if customer else None,
        customer_tz=customer.timezone if customer else None,
        do_not_contact=bool(customer and customer.do_not_contact),
        issues=tuple(labels.issues),
        urgency=tuple(labels.urgency),
        product=product_name,
        product_id=product_id,
        order=order,
        earlier=tuple(earlier),
        known_issue=issues[0] if issues else None,
        opened_at=mention.published_at or mention.fetched_at,
        erased=is_erased(
            session,
            key=settings.privacy.erasure_key(settings.secret_key),
            email=customer.email if customer else None,
            platform=author.platform if author else None,
            handle=author.handle if author else None,
        ),
        sentiment=labels.sentiment,
        mention_title=mention.title,
    )


def facts_for_customer(
    session: Session,
    settings: Settings,
    customer: Customer,
    *,
    now: datetime | None = None,
    lookback: timedelta = CONTACT_LOOKBACK,
) -> DraftFacts:
    """Gather what a message to a customer (no mention answered) may say."""
    now = now or utcnow()
    order = None
    if customer.id is not None:
        order = latest_order(
            session,
            customer_id=customer.id,
            since=now - timedelta(days=settings.outreach.order_window_days),
        )
    product_id = order.product_ids[0] if order and order.product_ids else None
    issues = open_issues(session, product_ids=[product_id] if product_id else [])
    earlier = earlier_contacts(
        session, customer_id=customer.id, author_id=None, since=now - lookback
    )
    return DraftFacts(
        mention_id=None,
        mention_text="",
        mention_url=None,
        platform=None,
        source_kind=None,
        mention_language=None,
        author_id=None,
        handle=None,
        display_name=None,
        customer_id=customer.id,
        customer_name=customer.name,
        customer_email=customer.email,
        customer_language=customer.language,
        customer_tz=customer.timezone,
        do_not_contact=customer.do_not_contact,
        issues=(),
        urgency=(),
        product=order.products[0] if order and order.products else None,
        product_id=product_id,
        order=order,
        earlier=tuple(earlier),
        known_issue=issues[0] if issues else None,
        opened_at=None,
        erased=is_erased(
            session, key=settings.privacy.erasure_key(settings.secret_key), email=customer.email
        ),
    )


def delivery_dates(facts: DraftFacts) -> list[date]:
    """Dates of the order's stages, as the customer's calendar shows them."""
    if facts.order is None:
        return []
    zone = facts.timezone()
    return sorted(
        {(at.astimezone(zone) if zone else at).date() for at in facts.order.stages.values()}
    )


def policy_context(
    facts: DraftFacts,
    *,
    text: str,
    channel: str,
    public: bool,
    language: str,
    recipient: str | None,
    send_at: datetime | None = None,
    role: str | None = None,
    intent: str | None = None,
    brand: str | None = None,
) -> DraftContext:
    """The policy engine's view of a draft written from `facts` for `intent`."""
    return DraftContext(
        text=text,
        channel=channel,
        public=public,
        language=language,
        customer_language=facts.reply_language() if public else facts.customer_first_language(),
        customer_tz=facts.customer_tz,
        customer_id=facts.customer_id,
        urgency=facts.urgency,
        issues=facts.issues,
        delivery_dates=delivery_dates(facts),
        order_ids=(
            tuple(n for n in (facts.order.number, facts.order.internal_id) if n)
            if facts.order
            else ()
        ),
        role=role,
        previous_contacts=tuple(c.at for c in facts.earlier),
        opted_out=facts.do_not_contact,
        suppressed=facts.erased,
        recipient=recipient,
        send_at=send_at,
        mention_text=facts.full_text,
        author_handle=facts.handle,
        author_name=facts.display_name,
        network=facts.source_kind,
        sentiment=facts.sentiment,
        intent=intent,
        brand=brand,
    )


def describe(facts: DraftFacts) -> dict[str, Any]:
    """A JSON-ready summary of the facts, for the audit trail and the command line."""
    return {
        "mention_id": facts.mention_id,
        "customer_id": facts.customer_id,
        "product": facts.product,
        "order": facts.order.number if facts.order else None,
        "order_status": facts.order.status if facts.order else None,
        "earlier_contacts": len(facts.earlier),
        "known_issue_alert": facts.known_issue.alert_id if facts.known_issue else None,
    }
