"""The scheduled `campaigns` step: mirror the settings, plan, send what is due, act on answers.

Safe to run at any time and any number of times: planning stores a check-in once per
(campaign, order), sending moves each check-in once, and acting marks each answer once.
A restart in the middle of a run finds everything in storage and carries on.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from outreach.campaigns.acting import ActReport, act_on_answers
from outreach.campaigns.decision import campaign_policy
from outreach.campaigns.definition import ActiveCampaign, sync_campaigns
from outreach.campaigns.links import readiness
from outreach.campaigns.planning import plan_checkins
from outreach.campaigns.sending import SendReport, send_due
from outreach.campaigns.settings import Settings
from policies import PolicySet
from storage import audit
from storage.db import session_scope
from storage.types import utcnow

if TYPE_CHECKING:
    from classify.pipeline import Classifier

log = logging.getLogger(__name__)

ACTOR = "campaigns"


@dataclass
class CampaignRun:
    """What one run did, per step."""

    planned: dict[str, int] = field(default_factory=dict)
    sent: dict[str, SendReport] = field(default_factory=dict)
    acted: ActReport = field(default_factory=ActReport)
    problems: list[str] = field(default_factory=list)

    @property
    def sent_total(self) -> int:
        return sum(r.sent for r in self.sent.values())


def run_campaigns(
    settings: Settings,
    engine: Engine,
    *,
    now: datetime | None = None,
    classifier: Classifier | None = None,
    stop: threading.Event | None = None,
) -> CampaignRun:
    """One pass of every campaign. `now` fixes the clock (tests)."""
    now = now or utcnow()
    run = CampaignRun()
    with session_scope(engine) as session:
        campaigns = sync_campaigns(session, settings)
    base = PolicySet.from_settings(settings)
    # Without any campaign a missing key or address is nobody's problem yet.
    run.problems = readiness(settings) if campaigns else []
    for problem in run.problems:
        log.error("check-ins are not sent: %s", problem)
    for campaign in campaigns:
        if stop is not None and stop.is_set():
            return run
        with session_scope(engine) as session:
            planned = plan_checkins(session, settings, campaign, now=now)
            if planned.created:
                audit.record(
                    session,
                    actor=ACTOR,
                    action="campaign.planned",
                    subject_type="campaign",
                    subject_id=campaign.id,
                    details={"checkins": planned.created, "outside": dict(planned.outside)},
                )
        run.planned[campaign.name] = planned.created
        if not run.problems and not campaign.paused:
            run.sent[campaign.name] = send_due(
                settings, engine, [campaign], policy=campaign_policy(base, campaign), now=now
            )
    if stop is None or not stop.is_set():
        run.acted = act_on_answers(
            settings, engine, {c.id: c for c in campaigns}, now=now, classifier=classifier
        )
    _log(run)
    return run


def _log(run: CampaignRun) -> None:
    planned = sum(run.planned.values())
    skipped = sum(sum(r.skipped.values()) for r in run.sent.values())
    if planned or run.sent_total or skipped or run.acted.answers:
        log.info(
            "campaigns: %d check-in(s) planned, %d sent, %d skipped, %d answer(s) judged, "
            "%d follow-up draft(s)",
            planned,
            run.sent_total,
            skipped,
            run.acted.answers,
            run.acted.follow_ups,
        )


__all__ = ["ActiveCampaign", "CampaignRun", "run_campaigns"]
