"""Post-purchase check-ins: campaigns, their surveys (CSAT, NPS) and what the answers lead to.

    run = run_campaigns(settings, engine)           # the scheduled step (ascolto.runtime.jobs)
    shown = preview(settings, engine, "after-delivery")  # who would get what, and when
    table = figures(report_rows(session), by="product")  # CSAT, NPS, response rate

Modules: `definition` (settings mirrored into storage), `timing` (delays and send windows in
the customer's time zone), `segment`, `planning`, `decision` (suppression and the policy
check), `sending` (through the outbox), `links` (signed survey links), `answers`,
`acting` (follow-up drafts), `reports`, `preview`.
"""

from outreach.campaigns.job import CampaignRun, run_campaigns
from outreach.campaigns.preview import Preview, preview
from outreach.campaigns.reports import Figures, figures

__all__ = ["CampaignRun", "Figures", "Preview", "figures", "preview", "run_campaigns"]
