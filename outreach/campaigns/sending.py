"""Sending: each due check-in is judged, then enqueued in the outbox or skipped, once.

Each check-in is decided in a transaction of its own: the check-in moves from `scheduled`
to `sent` (compare-and-set, so two processes never both win), the e-mail is enqueued under
the key `checkin:<id>` (the outbox stores a key once) and the contact is recorded, all
committed together. A crash before the commit leaves the check-in scheduled and nothing
enqueued; after it, nothing is left to do. Either way nothing goes out twice.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from outreach.campaigns.decision import Decision, Facts, decide
from outreach.campaigns.definition import ActiveCampaign
from outreach.campaigns.links import LinkError
from outreach.campaigns.messages import CHANNEL, CheckInEmail, compose
from outreach.campaigns.settings import Settings
from outreach.outbox import enqueue
from outreach.rendering import RenderError
from policies import PolicySet
from storage import audit
from storage import campaigns as store
from storage.campaigns import OrderView
from storage.db import session_scope
from storage.models import CheckIn, Order
from storage.outreach import earlier_contacts, record_contact
from storage.privacy import is_erased

log = logging.getLogger(__name__)

ACTOR = "campaigns"
KIND = "checkin"
# Complaints older than this no longer hold a check-in back, answered or not.
COMPLAINT_DAYS = 90


@dataclass
class SendReport:
    """What one sending pass did."""

    sent: int = 0
    waiting: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)


def outbox_key(checkin_id: int) -> str:
    """The idempotency key of a check-in's e-mail."""
    return f"checkin:{checkin_id}"


def gather(
    session: Session,
    campaign: ActiveCampaign,
    view: OrderView,
    trigger_at: datetime,
    *,
    now: datetime,
    lookback: timedelta,
    erasure_key: bytes | None = None,
) -> Facts:
    """What is known now about a check-in's customer: opt-outs, erasures, complaints,
    contacts."""
    customer = view.customer
    customer_id = customer.id if customer and customer.id is not None else None
    unsubscribe = store.unsubscribes(session, emails=[customer.email if customer else None])
    complaints = (
        store.open_complaints(
            session, customer_ids=[customer_id], since=now - timedelta(days=COMPLAINT_DAYS)
        ).get(customer_id, [])
        if customer_id is not None
        else []
    )
    contacts = earlier_contacts(
        session, customer_id=customer_id, author_id=None, since=now - lookback
    )
    return Facts(
        view=view,
        trigger_at=trigger_at,
        tz=campaign.zone_of(customer),
        unsubscribe=next(iter(unsubscribe.values()), None),
        open_complaints=tuple(complaints),
        previous_contacts=tuple(c.at for c in contacts),
        erased=erasure_key is not None
        and is_erased(session, key=erasure_key, email=customer.email if customer else None),
    )


def lookback_of(policy: PolicySet) -> timedelta:
    """How far back contacts are read: what the policy's rules need, at least a year."""
    return max(policy.lookback, timedelta(days=365))


def try_compose(
    settings: Settings,
    campaign: ActiveCampaign,
    checkin: CheckIn,
    facts: Facts,
    *,
    now: datetime,
) -> tuple[CheckInEmail | None, str | None]:
    """The e-mail, or None and why it could not be written."""
    try:
        email = compose(
            settings,
            campaign,
            checkin_id=checkin.id or 0,
            view=facts.view,
            language=checkin.language or settings.brand.default_language,
            tz=facts.tz,
            expires_at=now + timedelta(days=campaign.config.link_days),
            now=now,
        )
    except (RenderError, LinkError) as exc:
        return None, str(exc)
    return email, None


def send_due(
    settings: Settings,
    engine: Engine,
    campaigns: list[ActiveCampaign],
    *,
    policy: PolicySet,
    now: datetime,
    limit: int = 500,
) -> SendReport:
    """Decide every check-in due by `now` of the campaigns that are not paused."""
    report = SendReport()
    running = {c.id: c for c in campaigns if not c.paused}
    with session_scope(engine) as session:
        ids = store.due_checkin_ids(session, now=now, campaign_ids=list(running), limit=limit)
    for checkin_id in ids:
        try:
            with session_scope(engine) as session:
                _send_one(session, settings, running, checkin_id, policy, now, report)
        except Exception as exc:
            log.exception("check-in %s could not be decided", checkin_id)
            report.errors.append(f"check-in {checkin_id}: {type(exc).__name__}: {exc}")
    return report


def _send_one(
    session: Session,
    settings: Settings,
    running: dict[int, ActiveCampaign],
    checkin_id: int,
    policy: PolicySet,
    now: datetime,
    report: SendReport,
) -> None:
    checkin = session.get(CheckIn, checkin_id)
    if checkin is None or checkin.status != "scheduled":
        return
    campaign = running[checkin.campaign_id]
    order = session.get(Order, checkin.order_id)
    if order is None:
        return
    view = store.order_views(session, [order])[0]
    facts = gather(
        session,
        campaign,
        view,
        checkin.trigger_at,
        now=now,
        lookback=lookback_of(policy),
        erasure_key=settings.privacy.erasure_key(settings.secret_key),
    )
    decision = decide(
        campaign,
        facts,
        at=now,
        now=now,
        write=lambda: try_compose(settings, campaign, checkin, facts, now=now),
        language=checkin.language or settings.brand.default_language,
        policy=policy,
    )
    if decision.action == "wait" and decision.until is not None:
        store.postpone(session, checkin_id=checkin_id, due_at=decision.until)
        report.waiting += 1
    elif decision.action == "skip":
        _skip(session, checkin, decision, now, report)
    elif decision.action == "error":
        report.errors.append(f"check-in {checkin_id}: {decision.explanation}")
    elif decision.email is not None:
        _send(session, checkin, campaign, view, decision.email, decision, now, report)


def _skip(
    session: Session, checkin: CheckIn, decision: Decision, now: datetime, report: SendReport
) -> None:
    reason = decision.reason or "skipped"
    if not store.claim(
        session,
        checkin_id=checkin.id or 0,
        status="skipped",
        at=now,
        skip_reason=reason,
        skip_details=decision.explanation,
    ):
        return
    audit.record(
        session,
        actor=ACTOR,
        action="campaign.checkin_skipped",
        subject_type="checkin",
        subject_id=checkin.id,
        details={"reason": reason, "details": decision.details},
    )
    report.skipped[reason] += 1


def _send(
    session: Session,
    checkin: CheckIn,
    campaign: ActiveCampaign,
    view: OrderView,
    email: CheckInEmail,
    decision: Decision,
    now: datetime,
    report: SendReport,
) -> None:
    customer = view.customer
    if customer is None or not customer.email:
        return
    expires_at = now + timedelta(days=campaign.config.link_days)
    if not store.claim(
        session,
        checkin_id=checkin.id or 0,
        status="sent",
        at=now,
        sent_at=now,
        expires_at=expires_at,
        recipient=customer.email,
    ):
        return
    message = enqueue(
        session,
        key=outbox_key(checkin.id or 0),
        channel=CHANNEL,
        recipient=customer.email,
        subject=email.subject,
        text=decision.text or email.text,
        # An amended text no longer matches the HTML part rendered from the template.
        html=None if decision.amended else email.html,
        payload={"checkin_id": checkin.id, "campaign": campaign.name},
        kind=KIND,
        headers=email.headers,
    )
    store.set_outbox(session, checkin_id=checkin.id or 0, outbox_id=message.id or 0)
    record_contact(session, channel=CHANNEL, kind=KIND, customer_id=customer.id, at=now)
    audit.record(
        session,
        actor=ACTOR,
        action="campaign.checkin_sent",
        subject_type="checkin",
        subject_id=checkin.id,
        details={
            "campaign": campaign.name,
            "outbox_id": message.id,
            "order": view.order.external_id,
        },
    )
    report.sent += 1
