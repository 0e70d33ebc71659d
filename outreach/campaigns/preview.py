"""The preview: who would get which check-in and when, and who would not and why.

It runs the planner and the decision on every planned and not yet planned check-in of a
campaign, as of each one's due time and with what is known now, and writes nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from outreach.campaigns.decision import campaign_policy, decide
from outreach.campaigns.definition import ActiveCampaign, find_campaign
from outreach.campaigns.links import readiness
from outreach.campaigns.planning import PlanReport, candidates
from outreach.campaigns.sending import gather, lookback_of, try_compose
from outreach.campaigns.settings import Settings
from policies import PolicySet
from storage import campaigns as store
from storage.models import CheckIn, Order
from storage.types import utcnow

# What a stored check-in's status means in the preview.
DONE = {"sent": "sent", "answered": "answered", "skipped": "skipped"}


@dataclass(frozen=True)
class Entry:
    """One order's check-in: `outcome` is send, wait, skip or error for what is still to
    come, or sent, answered, skipped for what already happened."""

    order: str
    customer: str
    language: str
    due_at: datetime
    timezone: str
    outcome: str
    reason: str | None
    details: str
    subject: str | None
    checkin_id: int | None

    @property
    def local_due(self) -> str:
        from zoneinfo import ZoneInfo

        return f"{self.due_at.astimezone(ZoneInfo(self.timezone)):%Y-%m-%d %H:%M} {self.timezone}"


@dataclass
class Preview:
    """A campaign's check-ins, with the orders its segment leaves out counted by why."""

    campaign: str
    paused: bool
    entries: list[Entry] = field(default_factory=list)
    outside: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for e in self.entries if e.outcome == outcome)

    def reasons(self) -> Counter[str]:
        """Skipped and would-be-skipped check-ins per reason."""
        return Counter(e.reason or "?" for e in self.entries if e.outcome in ("skip", "skipped"))


def preview(
    settings: Settings, engine: Engine, name: str, *, now: datetime | None = None
) -> Preview:
    """What the campaign called `name` would do, without writing anything.

    Raises CampaignError when there is no such campaign."""
    now = now or utcnow()
    with Session(engine) as session:
        campaign = find_campaign(session, settings, name)
        policy = campaign_policy(PolicySet.from_settings(settings), campaign)
        result = Preview(campaign=name, paused=campaign.paused, problems=readiness(settings))
        stored = store.checkins_of(session, campaign_id=campaign.id) if campaign.id else []
        orders = {o.id: o for o in _orders(session, [c.order_id for c in stored])}
        views = {v.order.id: v for v in store.order_views(session, list(orders.values()))}
        for checkin in stored:
            view = views[checkin.order_id]
            customer = view.customer
            tz = campaign.zone_of(customer)
            label = customer.email or f"customer {customer.id}" if customer else "no buyer"
            if checkin.status in DONE:
                result.entries.append(
                    Entry(
                        order=view.order.external_id,
                        customer=label,
                        language=checkin.language or "",
                        due_at=checkin.sent_at or checkin.decided_at or checkin.due_at,
                        timezone=tz.key,
                        outcome=DONE[checkin.status],
                        reason=checkin.skip_reason,
                        details=checkin.skip_details or "",
                        subject=None,
                        checkin_id=checkin.id,
                    )
                )
                continue
            result.entries.append(_judge(settings, session, campaign, checkin, policy, now, view))
        report = PlanReport()
        for found in candidates(session, settings, campaign, now=now, report=report):
            customer = found.view.customer
            draft = CheckIn(
                campaign_id=campaign.id,
                order_id=found.view.order.id or 0,
                customer_id=customer.id if customer else None,
                trigger_at=found.trigger_at,
                due_at=found.due_at,
                language=found.language,
            )
            result.entries.append(
                _judge(settings, session, campaign, draft, policy, now, found.view)
            )
        result.outside = report.outside
        session.rollback()
    result.entries.sort(key=lambda e: (e.due_at, e.order))
    return result


def _orders(session: Session, ids: list[int]) -> list[Order]:
    from sqlmodel import col, select

    if not ids:
        return []
    return list(session.exec(select(Order).where(col(Order.id).in_(ids))).all())


def _judge(
    settings: Settings,
    session: Session,
    campaign: ActiveCampaign,
    checkin: CheckIn,
    policy: PolicySet,
    now: datetime,
    view: store.OrderView,
) -> Entry:
    facts = gather(
        session,
        campaign,
        view,
        checkin.trigger_at,
        now=now,
        lookback=lookback_of(policy),
        erasure_key=settings.privacy.erasure_key(settings.secret_key),
    )
    at = max(checkin.due_at, now)
    language = checkin.language or settings.brand.default_language
    decision = decide(
        campaign,
        facts,
        at=at,
        now=now,
        write=lambda: try_compose(settings, campaign, checkin, facts, now=at),
        language=language,
        policy=policy,
    )
    email = decision.email
    if email is None and decision.action == "wait":
        # Sending writes it when the wait is over; the preview shows its subject now.
        email, _ = try_compose(settings, campaign, checkin, facts, now=at)
    customer = view.customer
    label = (customer.email or f"customer {customer.id}") if customer else "no buyer"
    due = decision.until if decision.action == "wait" and decision.until else at
    return Entry(
        order=view.order.external_id,
        customer=label,
        language=language,
        due_at=due if decision.action in ("send", "wait") else checkin.due_at,
        timezone=facts.tz.key,
        outcome="send" if decision.action == "wait" else decision.action,
        reason=decision.reason,
        details=decision.explanation,
        subject=email.subject if email else None,
        checkin_id=checkin.id,
    )
