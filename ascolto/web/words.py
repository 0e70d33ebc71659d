"""The product's stored words that pages show (roles, statuses, labels, verdicts...).

They are data, so no template names them literally; marking them here puts them in the
catalogue, and pages translate them where they show them with `_(value)`.
"""

from __future__ import annotations

from ascolto.localization import N_

WORDS = (
    # Roles
    N_("agent"),
    N_("supervisor"),
    N_("product"),
    N_("marketer"),
    N_("admin"),
    # Drafts
    N_("pending"),
    N_("approved"),
    N_("rejected"),
    N_("escalated"),
    N_("sent"),
    N_("failed"),
    N_("withdrawn"),
    N_("uncertain"),
    N_("Pending"),
    N_("Approved"),
    N_("Rejected"),
    N_("Escalated"),
    N_("Sent"),
    N_("Failed"),
    N_("Withdrawn"),
    # Verdicts
    N_("allow"),
    N_("amend"),
    N_("escalate"),
    N_("block"),
    # Labels
    N_("none"),
    N_("reproach"),
    N_("disapproval"),
    N_("accusation"),
    N_("blame"),
    N_("negative"),
    N_("neutral"),
    N_("positive"),
    N_("safety"),
    N_("legal"),
    N_("churn"),
    N_("press"),
    N_("defect"),
    N_("delivery"),
    N_("billing"),
    N_("service"),
    N_("question"),
    N_("praise"),
    N_("other"),
    N_("sentiment"),
    N_("complaint"),
    N_("issue"),
    N_("issues"),
    N_("urgency"),
    N_("language"),
    N_("products"),
    # Intents
    N_("complaint_defect"),
    N_("complaint_delivery"),
    N_("complaint_billing"),
    N_("complaint_service"),
    N_("complaint_other"),
    N_("known_issue"),
    N_("follow_up"),
    # Alerts and clusters
    N_("open"),
    N_("acknowledged"),
    N_("dismissed"),
    N_("resolved"),
    N_("acknowledge"),
    N_("dismiss"),
    N_("resolve"),
    # Sources
    N_("working"),
    N_("failing"),
    N_("blocked"),
    N_("never run"),
    N_("running"),
    # Campaigns and check-ins
    N_("delivered"),
    N_("shipped"),
    N_("first_order"),
    N_("repeat_order"),
    N_("return"),
    N_("scheduled"),
    N_("skipped"),
    N_("answered"),
    N_("send"),
    N_("skip"),
    N_("ordered"),
    N_("cancelled"),
    N_("refunded"),
)
