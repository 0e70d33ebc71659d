"""Planning: one check-in per (campaign, order) that meets the trigger and the segment.

Orders are looked for by trigger time, from the campaign's start (or, once it has run a
while, from just before the oldest moment a check-in could still go out) up to now, so an
order stored late, or a service down for a day, still gets its check-in; one that missed
its time by more than `late_days` is planned and then skipped as late, visibly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from outreach.campaigns.definition import ActiveCampaign
from outreach.campaigns.messages import survey_language
from outreach.campaigns.segment import outside_segment, trigger_time
from outreach.campaigns.settings import Settings
from storage import campaigns as store
from storage.campaigns import OrderView
from storage.models import CheckIn

PAGE = 500


@dataclass(frozen=True)
class Candidate:
    """An order the campaign covers, with when its check-in is due and in which language."""

    view: OrderView
    trigger_at: datetime
    due_at: datetime
    tz: ZoneInfo
    language: str


@dataclass
class PlanReport:
    """What planning found: check-ins created, and orders left out by why."""

    created: int = 0
    outside: Counter[str] = field(default_factory=Counter)


def search_bounds(campaign: ActiveCampaign, now: datetime) -> tuple[datetime, datetime]:
    """Trigger times worth looking at: [since, now]."""
    delay = campaign.delay.longest
    # 14 hours cover every time zone's offset from UTC.
    since = campaign.first_due(ZoneInfo("UTC")) - delay - timedelta(hours=14)
    recent = now - delay - timedelta(days=campaign.config.late_days + 1)
    return max(since, recent), now


def candidates(
    session: Session,
    settings: Settings,
    campaign: ActiveCampaign,
    *,
    now: datetime,
    report: PlanReport,
) -> Iterator[Candidate]:
    """Unplanned orders the campaign covers, page by page; the others are counted by why."""
    since, until = search_bounds(campaign, now)
    config = campaign.config
    after = 0
    while True:
        views = store.unplanned_orders(
            session,
            campaign_id=campaign.id,
            trigger=config.trigger,
            since=since,
            until=until,
            after_id=after,
            limit=PAGE,
        )
        if not views:
            return
        after = views[-1].order.id or 0
        for view in views:
            at = trigger_time(view, config.trigger)
            if at is None:
                report.outside["not a " + config.trigger.replace("_", " ")] += 1
                continue
            tz = campaign.zone_of(view.customer)
            if not campaign.covers(at, tz):
                report.outside["outside the campaign's dates"] += 1
                continue
            why = outside_segment(view, config)
            if why is not None:
                report.outside[why] += 1
                continue
            language = survey_language(
                settings, config.template, view.customer.language if view.customer else None
            )
            yield Candidate(view, at, campaign.planned_time(at, tz), tz, language)


def plan_checkins(
    session: Session, settings: Settings, campaign: ActiveCampaign, *, now: datetime
) -> PlanReport:
    """Store a scheduled check-in for every new candidate, in the caller's transaction."""
    report = PlanReport()
    for found in candidates(session, settings, campaign, now=now, report=report):
        customer = found.view.customer
        row = CheckIn(
            campaign_id=campaign.id,
            order_id=found.view.order.id or 0,
            customer_id=customer.id if customer else None,
            trigger_at=found.trigger_at.astimezone(UTC),
            due_at=found.due_at,
            language=found.language,
            created_at=now,
        )
        if store.add_checkin(session, row) is not None:
            report.created += 1
    return report
