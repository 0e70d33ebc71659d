"""The review queue: what waits for a person, and what a person may do with it.

The command line (`ascolto queue`) and the web app both call these functions; each one
works inside the caller's transaction and leaves an AuditEvent naming who did what.

Approval checks the draft again with the approver's role: an `allow` or `amend` verdict
may be approved by anyone; an `escalate` verdict only by a supervisor or admin, and not
when a more trusted role would be allowed what this one is not (e.g. compensation above
the supervisor's cap waits for an admin); a `block` verdict by no one. Approval enqueues
the message to the outbox under the key `draft:<id>`, so it is sent once however often
it is approved.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from ascolto.auth import CARE_ROLES, has_role
from ascolto.localization import N_
from ascolto.settings import Settings
from policies import DraftContext, PolicySet, Verdict
from storage import review as store
from storage.audit import record
from storage.errors import AscoltoError
from storage.models import (
    AuditEvent,
    Classification,
    Customer,
    Draft,
    Mention,
    OutboxMessage,
    SurveyAnswer,
)
from storage.types import utcnow

URGENT = ("safety", "legal", "press")
# Complaints that accuse or blame come before milder ones among drafts of equal urgency;
# two bands, not five, so a mild complaint still waits hours, not forever.
SEVERE = ("accusation", "blame")
"""Urgency labels that put a draft at the top of the queue, in this order."""
OPEN = ("pending", "escalated")
"""Statuses of drafts waiting for a person."""
WITHDRAWN = "withdrawn"
"""A draft made moot by a label correction (see `withdraw`)."""
MAX_TEXT = 20_000
MAX_REASON = 2_000


class ReviewError(AscoltoError):
    """A review action that cannot be done: unknown draft, wrong state, missing reason."""

    exit_code = 2


@dataclass(frozen=True)
class Reviewer:
    """The person acting: their username and role."""

    username: str
    role: str

    @classmethod
    def named(cls, session: Session, username: str) -> Reviewer:
        """The active user called `username` as a reviewer; a disabled one is refused."""
        from ascolto.auth import UserError, find_user

        user = find_user(session, username)
        if not user.active:
            raise UserError(f"user {user.username!r} is disabled")
        return cls(username=user.username, role=user.role)


@dataclass(frozen=True)
class QueueItem:
    """One open draft in the queue, with what decides its place."""

    draft: Draft
    mention: Mention | None
    labels: Classification | None
    source: str | None
    waiting_since: datetime

    @property
    def urgency(self) -> list[str]:
        """The mention's urgency labels, most pressing first."""
        found = list(self.labels.urgency) if self.labels else []
        return sorted(found, key=_urgency_rank)

    @property
    def urgent(self) -> bool:
        """Safety, legal or press: answered before anything else."""
        return any(u in URGENT for u in self.urgency)

    @property
    def severity(self) -> str | None:
        """How strongly the complaint blames (none ... blame), when the model says."""
        return self.labels.severity if self.labels else None

    @property
    def severe(self) -> bool:
        """An accusing or blaming complaint: ahead of milder ones of the same urgency."""
        return self.severity in SEVERE


def _urgency_rank(label: str) -> int:
    return URGENT.index(label) if label in URGENT else len(URGENT)


def queue(
    session: Session, *, statuses: tuple[str, ...] = OPEN, limit: int = 200
) -> list[QueueItem]:
    """Open drafts, most urgent first (safety, legal, press), then accusing or blaming
    complaints, then longest waiting."""
    items = [
        QueueItem(row.draft, row.mention, row.labels, row.source, store.waiting_since(row))
        for row in store.drafts_with_mentions(session, statuses=statuses)
    ]
    items.sort(
        key=lambda i: (
            min((_urgency_rank(u) for u in i.urgency), default=len(URGENT)),
            not i.severe,
            i.waiting_since,
            i.draft.id or 0,
        )
    )
    return items[:limit]


@dataclass(frozen=True)
class DraftView:
    """Everything the reviewer sees about one draft."""

    item: QueueItem
    author_name: str | None
    customer: Customer | None
    history: store.History
    verdict: Verdict
    approvable: str | None
    """Why the viewer may not approve it as it stands; None when they may."""
    answer: SurveyAnswer | None = None
    """The survey answer a follow-up e-mail responds to, shown next to it."""


def show(session: Session, draft_id: int, *, reviewer: Reviewer | None = None) -> DraftView:
    """A draft with its mention, labels, the customer's history and the stored verdict."""
    rows = store.drafts_with_mentions(session, statuses=(), ids=[draft_id])
    if not rows:
        raise ReviewError(f"no draft with id {draft_id}")
    row = rows[0]
    draft = row.draft
    author, customer = store.people(session, draft)
    item = QueueItem(draft, row.mention, row.labels, row.source, store.waiting_since(row))
    verdict = stored_verdict(draft)
    return DraftView(
        item=item,
        author_name=(author.display_name or author.handle) if author else None,
        customer=customer,
        history=store.history(
            session,
            customer_id=customer.id if customer else None,
            author_id=draft.author_id,
            draft_id=draft_id,
            mention_id=draft.mention_id,
        ),
        verdict=verdict,
        approvable=None if reviewer is None else _stored_block(draft, verdict, reviewer),
        answer=store.answer_followed_by(session, draft_id) if draft.intent == "follow_up" else None,
    )


def stored_verdict(draft: Draft) -> Verdict:
    """The verdict stored with the draft."""
    return Verdict.from_details(draft.verdict, draft.text, draft.verdict_details)


def _stored_block(draft: Draft, verdict: Verdict, reviewer: Reviewer) -> str | None:
    """Why approval would be refused on the stored verdict (approval checks again)."""
    if draft.status not in OPEN:
        return f"the draft is {draft.status}"
    if verdict.outcome == "block":
        return "the policy blocks this text: edit it or reject the draft"
    if (verdict.outcome == "escalate" or draft.status == "escalated") and not has_role(
        reviewer.role, "supervisor"
    ):
        return "escalated: a supervisor must approve it"
    return None


@dataclass(frozen=True)
class Decision:
    """What an action did: `done` is False when it was refused; `message` says why or what."""

    draft: Draft
    done: bool
    message: str
    verdict: Verdict | None = None
    outbox: OutboxMessage | None = None
    event: AuditEvent | None = None


class Reviewing:
    """The actions on drafts, with the settings and policy they are checked against."""

    def __init__(self, settings: Settings, policy: PolicySet | None = None) -> None:
        self.settings = settings
        self.policy = policy or PolicySet.from_settings(settings)

    def check(
        self,
        session: Session,
        draft: Draft,
        *,
        role: str,
        text: str | None = None,
        now: datetime | None = None,
    ) -> Verdict:
        """The verdict on the draft (or on `text` in its place) if `role` approved it now."""
        now = now or utcnow()
        ctx = draft_context(session, self.settings, draft, policy=self.policy, now=now, role=role)
        if ctx is None:
            # The mention and customer are gone: judge the text on its own.
            ctx = DraftContext(
                text=draft.text,
                channel=draft.channel,
                public=draft.public,
                language=draft.language,
                recipient=draft.recipient,
                send_at=now,
                role=role,
            )
        return self.policy.check(ctx.with_text(draft.text if text is None else text), now=now)

    def approval_refusal(
        self, session: Session, draft: Draft, verdict: Verdict, reviewer: Reviewer, now: datetime
    ) -> str | None:
        """Why `reviewer` may not approve the draft under `verdict`; None when they may."""
        if verdict.outcome == "block":
            return "the policy blocks this text: " + _reasons(verdict, "block")
        if draft.status == "escalated" and not has_role(reviewer.role, "supervisor"):
            return "the draft was escalated: a supervisor must approve it"
        if verdict.outcome != "escalate":
            return None
        if not has_role(reviewer.role, "supervisor"):
            return "escalated to a supervisor: " + _reasons(verdict, "escalate")
        # An escalation a more trusted role would not get is beyond this role's authority.
        for higher in CARE_ROLES[CARE_ROLES.index(reviewer.role) + 1 :]:
            if self.check(session, draft, role=higher, now=now).allowed:
                return f"needs an {higher}: " + _reasons(verdict, "escalate")
        return None

    def approve(
        self, session: Session, draft_id: int, *, reviewer: Reviewer, now: datetime | None = None
    ) -> Decision:
        """Approve the draft and enqueue its message, or say why not.

        Approving an approved draft again (a double click, a replayed form) changes nothing
        and enqueues nothing.
        """
        from outreach.outbox import enqueue, reply_payload
        from storage.outreach import record_contact, record_response

        now = now or utcnow()
        _may_review(reviewer)
        draft = _get(session, draft_id)
        if draft.status in ("approved", "sent"):
            return _decided(
                session,
                reviewer,
                "draft.approve_repeated",
                draft,
                False,
                f"already approved by {draft.decided_by}",
            )
        if draft.status not in OPEN:
            raise ReviewError(f"draft {draft_id} is {draft.status}: it cannot be approved")
        verdict = self.check(session, draft, role=reviewer.role, now=now)
        refusal = self.approval_refusal(session, draft, verdict, reviewer, now)
        if refusal is None and verdict.text != draft.text:
            refusal = "the policy changed the text: read it again, then approve"
        if refusal is not None:
            self._store_verdict(draft, verdict)
            if verdict.text != draft.text:
                draft.text = verdict.text
                draft.amended = True
            if verdict.outcome == "escalate" and draft.status == "pending":
                draft.status = "escalated"
                draft.reason = _reasons(verdict, "escalate")
            session.add(draft)
            return _decided(
                session, reviewer, "draft.approve_refused", draft, False, refusal, verdict
            )
        mention = session.get(Mention, draft.mention_id) if draft.mention_id else None
        try:
            message = enqueue(
                session,
                key=f"draft:{draft.id}",
                channel=draft.channel,
                recipient=draft.recipient or "",
                subject=draft.subject or "",
                text=draft.text,
                html=draft.html,
                payload=reply_payload(mention) if mention is not None and draft.public else None,
                kind="follow_up" if draft.intent == "follow_up" else "reply",
                draft_id=draft.id,
                send_after=verdict.send_after,
            )
        except ValueError as exc:
            # A message its channel could never send (a bad address): say so, do not crash.
            raise ReviewError(f"draft {draft_id} cannot be sent as it is: {exc}") from None
        self._store_verdict(draft, verdict)
        draft.status = "approved"
        draft.decided_by = reviewer.username
        draft.decided_at = now
        draft.outbox_id = message.id
        session.add(draft)
        record_contact(
            session,
            channel=draft.channel,
            kind=draft.intent,
            customer_id=draft.customer_id,
            author_id=draft.author_id,
            draft_id=draft.id,
            at=now,
        )
        if draft.mention_id is not None:
            record_response(session, mention_id=draft.mention_id, at=now, draft_id=draft.id)
        when = (
            f" (sent after {verdict.send_after:%Y-%m-%d %H:%M} UTC)" if verdict.send_after else ""
        )
        return _decided(
            session,
            reviewer,
            "draft.approved",
            draft,
            True,
            f"approved: queued for {draft.channel}{when}",
            verdict,
            outbox=message,
        )

    def edit(
        self,
        session: Session,
        draft_id: int,
        *,
        reviewer: Reviewer,
        text: str,
        now: datetime | None = None,
    ) -> Decision:
        """Replace the draft's text and check it again; the new verdict is stored with it."""
        now = now or utcnow()
        _may_review(reviewer)
        text = _clean_text(text)
        draft = _open(session, draft_id, "edited")
        verdict = self.check(session, draft, role=reviewer.role, text=text, now=now)
        before = draft.text
        draft.text = verdict.text
        draft.html = self._html(session, draft, now) if draft.html is not None else None
        self._store_verdict(draft, verdict)
        if verdict.outcome == "escalate" and draft.status == "pending":
            draft.status = "escalated"
            draft.reason = _reasons(verdict, "escalate")
        session.add(draft)
        return _decided(
            session,
            reviewer,
            "draft.edited",
            draft,
            True,
            f"edited and checked again: {verdict.outcome}",
            verdict,
            before=before,
            after=draft.text,
        )

    def _store_verdict(self, draft: Draft, verdict: Verdict) -> None:
        from outreach.drafting import policy_version

        draft.verdict = verdict.outcome
        draft.verdict_details = verdict.details()
        draft.send_after = verdict.send_after
        draft.policy_version = policy_version(self.policy)

    def _html(self, session: Session, draft: Draft, now: datetime) -> str | None:
        """The e-mail's HTML part for the edited text, from the draft's own templates."""
        from outreach.context import facts_for_customer
        from outreach.phrasing import template_data
        from outreach.rendering import RenderError, renderer
        from outreach.voice import voice_for

        customer = session.get(Customer, draft.customer_id) if draft.customer_id else None
        if customer is None or draft.subject is None:
            return None
        facts = facts_for_customer(session, self.settings, customer, now=now)
        data = template_data(
            facts,
            voice_for(self.settings.brand, draft.language),
            channel="email",
            language=draft.language,
        )
        try:
            return renderer(self.settings.outreach.templates_dir).html(
                draft.language, draft.intent, data, subject=draft.subject, text=draft.text
            )
        except RenderError:
            return None


def reject(
    session: Session,
    draft_id: int,
    *,
    reviewer: Reviewer,
    reason: str,
    now: datetime | None = None,
) -> Decision:
    """Reject the draft for a reason; nothing is sent."""
    _may_review(reviewer)
    reason = _clean_reason(reason)
    draft = _open(session, draft_id, "rejected")
    if draft.status == "escalated" and not has_role(reviewer.role, "supervisor"):
        return _decided(
            session,
            reviewer,
            "draft.reject_refused",
            draft,
            False,
            N_("the draft was escalated: a supervisor decides on it"),
            reason=reason,
        )
    draft.status = "rejected"
    draft.reason = reason
    draft.decided_by = reviewer.username
    draft.decided_at = now or utcnow()
    session.add(draft)
    return _decided(session, reviewer, "draft.rejected", draft, True, "rejected", reason=reason)


def escalate(
    session: Session,
    draft_id: int,
    *,
    reviewer: Reviewer,
    reason: str,
) -> Decision:
    """Hand the draft to a supervisor, saying why."""
    _may_review(reviewer)
    reason = _clean_reason(reason)
    draft = _open(session, draft_id, "escalated")
    if draft.status == "escalated":
        return _decided(
            session,
            reviewer,
            "draft.escalate_refused",
            draft,
            False,
            N_("the draft is already escalated"),
            reason=reason,
        )
    draft.status = "escalated"
    draft.reason = reason
    session.add(draft)
    return _decided(
        session,
        reviewer,
        "draft.escalated",
        draft,
        True,
        "escalated to a supervisor",
        reason=reason,
    )


def withdraw(
    session: Session,
    draft_id: int,
    *,
    reviewer: Reviewer,
    reason: str,
    now: datetime | None = None,
) -> Decision:
    """Take an open draft out of the queue because what it answers changed (a person
    corrected the mention's labels): it is kept, never sent, and no longer holds the
    mention's reply key, so the next drafting run may write the reply the labels now call
    for."""
    _may_review(reviewer)
    reason = _clean_reason(reason)
    draft = _open(session, draft_id, "withdrawn")
    draft.status = WITHDRAWN
    draft.key = f"{draft.key}:withdrawn:{draft.id}"
    draft.reason = reason
    draft.decided_by = reviewer.username
    draft.decided_at = now or utcnow()
    session.add(draft)
    return _decided(session, reviewer, "draft.withdrawn", draft, True, "withdrawn", reason=reason)


def draft_context(
    session: Session,
    settings: Settings,
    draft: Draft,
    *,
    policy: PolicySet,
    now: datetime,
    role: str | None,
) -> DraftContext | None:
    """The draft's circumstances now, from what storage knows; None when they are gone."""
    from outreach.context import facts_for_customer, facts_for_mention, policy_context
    from storage.outreach import mention_facts

    lookback = max(timedelta(days=90), policy.lookback)
    facts = None
    if draft.mention_id is not None:
        found = mention_facts(session, mention_id=draft.mention_id)
        if found is not None:
            facts = facts_for_mention(session, settings, found, now=now, lookback=lookback)
    customer = session.get(Customer, draft.customer_id) if draft.customer_id else None
    if customer is not None and (facts is None or not draft.public):
        # A private message speaks to the customer: their language, zone, orders, contacts.
        own = facts_for_customer(session, settings, customer, now=now, lookback=lookback)
        facts = (
            own
            if facts is None
            else replace(
                facts,
                customer_id=own.customer_id,
                customer_language=own.customer_language,
                customer_tz=own.customer_tz,
                do_not_contact=own.do_not_contact,
                order=facts.order or own.order,
                earlier=facts.earlier or own.earlier,
            )
        )
    if facts is None:
        return None
    # The draft's own approval is not an earlier contact.
    facts = replace(facts, earlier=tuple(c for c in facts.earlier if c.draft_id != draft.id))
    return policy_context(
        facts,
        text=draft.text,
        channel=draft.channel,
        public=draft.public,
        language=draft.language,
        recipient=draft.recipient,
        send_at=now,
        role=role,
        intent=draft.intent,
        brand=settings.brand.name,
    )


def _may_review(reviewer: Reviewer) -> None:
    if not has_role(reviewer.role, "agent"):
        raise ReviewError(
            f"{reviewer.username} is {reviewer.role}: only {', '.join(CARE_ROLES)} review drafts"
        )


def _get(session: Session, draft_id: int) -> Draft:
    draft = store.lock_draft(session, draft_id)
    if draft is None:
        raise ReviewError(f"no draft with id {draft_id}")
    return draft


def _open(session: Session, draft_id: int, verb: str) -> Draft:
    draft = _get(session, draft_id)
    if draft.status not in OPEN:
        raise ReviewError(f"draft {draft_id} is {draft.status}: it cannot be {verb}")
    return draft


def _clean_text(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise ReviewError("the text is empty")
    if len(text) > MAX_TEXT:
        raise ReviewError(f"the text has {len(text)} characters; at most {MAX_TEXT}")
    return text


def _clean_reason(reason: str) -> str:
    reason = " ".join(reason.split())
    if not reason:
        raise ReviewError("say why: the reason is required")
    if len(reason) > MAX_REASON:
        raise ReviewError(f"the reason has {len(reason)} characters; at most {MAX_REASON}")
    return reason


def _reasons(verdict: Verdict, outcome: str) -> str:
    return "; ".join(f"{f.rule}: {f.reason}" for f in verdict.findings if f.outcome == outcome)


def _decided(
    session: Session,
    reviewer: Reviewer,
    action: str,
    draft: Draft,
    done: bool,
    message: str,
    verdict: Verdict | None = None,
    *,
    outbox: OutboxMessage | None = None,
    **details: Any,
) -> Decision:
    """Record the action (done or refused) as an AuditEvent and describe its outcome."""
    if verdict is not None:
        details["verdict"] = verdict.outcome
        details["rules"] = sorted({f.rule for f in verdict.findings})
    if outbox is not None:
        details["outbox_id"] = outbox.id
    event = record(
        session,
        actor=reviewer.username,
        action=action,
        subject_type="draft",
        subject_id=draft.id,
        details={"role": reviewer.role, "status": draft.status, "message": message, **details},
    )
    session.flush()
    return Decision(draft, done, message, verdict, outbox, event)
