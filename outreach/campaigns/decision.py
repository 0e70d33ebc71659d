"""Whether a due check-in goes out, waits, or is skipped, and why.

The campaign's own rules come first (its dates, lateness, the send window, an address, the
order's fate). Who may be contacted, and when, is the policy engine's to say: its recipient
rules screen the check-in before anything is written (opt-out and suppression lists,
consent, an open complaint, contact limits with the campaign's `contact_gap_days` as one
more `contact_limit` rule, quiet hours), then it judges the written e-mail like any draft.
The same function serves sending and the preview, so the preview says what sending will do,
with the same reasons, also for a check-in whose e-mail cannot be written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from outreach.campaigns.definition import ActiveCampaign
from outreach.campaigns.messages import CheckInEmail
from outreach.campaigns.timing import in_window, next_send_time
from policies import DraftContext, PolicySet
from policies.context import primary_language
from policies.rule import Rule
from policies.rules.consent import Consent, ConsentOptions
from policies.rules.contact_limit import ContactLimit, ContactLimitOptions
from policies.rules.open_complaint import OpenComplaint, OpenComplaintOptions
from policies.rules.suppression import Suppression, SuppressionOptions
from policies.verdict import Verdict
from storage.campaigns import OrderView
from storage.models import Unsubscribe

Action = Literal["send", "wait", "skip", "error"]
# Writes the check-in's e-mail: the e-mail, or None and why it could not be written.
Writer = Callable[[], tuple[CheckInEmail | None, str | None]]
# Order statuses after which a "how is it going" e-mail would be tone-deaf.
ORDER_UNDONE = {"returned": "returned", "refunded": "refunded", "cancelled": "cancelled"}
# Reason codes of the policy rules that refuse a check-in; any other rule is "policy:<rule>"
# (the frequency cap is "policy:contact_limit", a listed address "policy:suppression").
RULE_REASONS = {"consent": "no_consent", "open_complaint": "open_complaint"}


@dataclass(frozen=True)
class Facts:
    """What is known about one check-in's customer and order when it is judged."""

    view: OrderView
    trigger_at: datetime
    tz: ZoneInfo
    unsubscribe: Unsubscribe | None
    open_complaints: tuple[int, ...]
    previous_contacts: tuple[datetime, ...]
    # The address belongs to a person erased on request: never contacted again.
    erased: bool = False


@dataclass(frozen=True)
class Decision:
    """`send` (with the e-mail and the text the policy allows), `wait` until `until`, `skip`
    with a reason code and every reason in words, or `error` (the e-mail could not be
    written)."""

    action: Action
    reason: str | None = None
    details: list[str] = field(default_factory=list)
    until: datetime | None = None
    text: str | None = None
    amended: bool = False
    email: CheckInEmail | None = None

    @property
    def explanation(self) -> str:
        return "; ".join(self.details)


def campaign_policy(base: PolicySet, campaign: ActiveCampaign) -> PolicySet:
    """The policy, with what every check-in needs whatever the policy file holds.

    Opt-out and suppression, consent (a refusal always blocks) and open complaints are
    added with their defaults when the file leaves them out; `require_consent` adds a
    consent rule that blocks unknown consent too, and `contact_gap_days` a contact limit.
    """
    present = {rule.name for rule in base.rules}
    floor: list[Rule[Any]] = [
        rule
        for rule in (
            Suppression(SuppressionOptions()),
            Consent(ConsentOptions(unknown="allow")),
            OpenComplaint(OpenComplaintOptions()),
        )
        if rule.name not in present
    ]
    rules = [*floor, *base.rules]
    config = campaign.config
    if config.require_consent:
        after = max(i for i, rule in enumerate(rules) if rule.name == "consent") + 1
        rules.insert(after, Consent(ConsentOptions(unknown="block")))
    if config.contact_gap_days:
        days = config.contact_gap_days
        rules.append(ContactLimit(ContactLimitOptions(max_contacts=1, period_days=days)))
    if len(rules) == len(base.rules):
        return base
    return PolicySet(rules, default_role=base.default_role, source=base.source)


def decide(
    campaign: ActiveCampaign,
    facts: Facts,
    *,
    at: datetime,
    now: datetime,
    write: Writer,
    language: str,
    policy: PolicySet,
) -> Decision:
    """Judge one check-in as if sent at `at` (now, or its due time in a preview).

    `write` is called only for a check-in the screening lets through."""
    config = campaign.config
    if not campaign.covers(facts.trigger_at, facts.tz):
        return _skip("campaign_ended", "the campaign's dates no longer include this check-in")
    planned = campaign.planned_time(facts.trigger_at, facts.tz)
    if now > planned + timedelta(days=config.late_days):
        local = planned.astimezone(facts.tz)
        return _skip(
            "late",
            f"due {local:%Y-%m-%d %H:%M} {facts.tz.key}, more than {config.late_days} day(s) ago",
        )
    if not in_window(at, campaign.window, facts.tz):
        return Decision("wait", until=next_send_time(at, campaign.window, facts.tz))
    ctx = _context(facts, language=language, at=at)
    screened = policy.screen(ctx, now=at)
    reasons = [
        *_missing_address(facts),
        *_refusals(screened, facts),
        *_order_undone(campaign, facts),
    ]
    if reasons:
        return Decision("skip", reasons[0][0], [text for _, text in reasons])
    if screened.send_after is not None and screened.send_after > at:
        return _wait(screened.send_after, campaign, facts)
    email, problem = write()
    if email is None:
        return Decision("error", details=[problem or "the e-mail could not be written"])
    verdict = policy.check(ctx.with_text(email.text), now=at)
    refusals = _refusals(verdict, facts)
    if refusals:
        return Decision("skip", refusals[0][0], [text for _, text in refusals], email=email)
    if verdict.send_after is not None and verdict.send_after > at:
        return _wait(verdict.send_after, campaign, facts, email)
    return Decision("send", text=verdict.text, amended=verdict.text != email.text, email=email)


def _skip(reason: str, text: str) -> Decision:
    return Decision("skip", reason, [text])


def _wait(
    after: datetime, campaign: ActiveCampaign, facts: Facts, email: CheckInEmail | None = None
) -> Decision:
    return Decision("wait", until=next_send_time(after, campaign.window, facts.tz), email=email)


def _context(facts: Facts, *, language: str, at: datetime) -> DraftContext:
    """The check-in as the policy sees it, before its text is written."""
    customer = facts.view.customer
    return DraftContext(
        text="",
        channel="email",
        public=False,
        language=language,
        customer_language=primary_language(customer.language if customer else None),
        customer_tz=customer.timezone if customer else None,
        customer_id=customer.id if customer else None,
        delivery_dates=_delivery_dates(facts),
        order_ids=(facts.view.order.external_id,),
        previous_contacts=facts.previous_contacts,
        opted_out=bool(customer and customer.do_not_contact),
        suppressed=facts.unsubscribe is not None or facts.erased,
        recipient=customer.email if customer else None,
        send_at=at,
        proactive=True,
        consent=customer.consent if customer else None,
        open_complaints=facts.open_complaints,
    )


def _refusals(verdict: Verdict, facts: Facts) -> list[tuple[str, str]]:
    """The findings that keep the check-in from going out, each with its reason code."""
    found: list[tuple[str, str]] = []
    for finding in verdict.findings:
        if finding.outcome not in ("block", "escalate"):
            continue
        found.append((_reason_code(finding.rule, facts), f"{finding.rule}: {finding.reason}"))
        if finding.rule == "suppression" and facts.unsubscribe is not None:
            when = facts.unsubscribe.at.astimezone(facts.tz)
            note = f"unsubscribed from check-ins on {when:%Y-%m-%d}"
            if (found[-1][0], note) not in found:
                found.append((found[-1][0], note))
    if not found and not verdict.allowed:
        found.append(("policy", verdict.explain()))
    return found


def _reason_code(rule: str, facts: Facts) -> str:
    if rule == "suppression":
        customer = facts.view.customer
        opted_out = (
            facts.unsubscribe is not None
            or facts.erased
            or bool(customer and customer.do_not_contact)
        )
        return "opted_out" if opted_out else "policy:suppression"
    return RULE_REASONS.get(rule, f"policy:{rule}"[:40])


def _missing_address(facts: Facts) -> list[tuple[str, str]]:
    customer = facts.view.customer
    if customer is None or not customer.email:
        return [("no_email", "no e-mail address is known for the customer")]
    return []


def _order_undone(campaign: ActiveCampaign, facts: Facts) -> list[tuple[str, str]]:
    """A returned, refunded or cancelled order gets no check-in (but from a return campaign)."""
    order = facts.view.order
    if campaign.config.trigger == "return":
        return []
    undone = ORDER_UNDONE.get(order.status) or (
        "returned" if order.returned_at else "refunded" if order.refunded_at else None
    )
    if undone:
        return [(f"order_{undone}", f"order {order.external_id} was {undone}")]
    return []


def _delivery_dates(facts: Facts) -> tuple[date, ...]:
    """The delivery date the order data backs, on the customer's calendar: only when it
    was delivered (the order has no expected date), never its order or shipping date."""
    delivered = facts.view.order.delivered_at
    return (delivered.astimezone(facts.tz).date(),) if delivered is not None else ()
