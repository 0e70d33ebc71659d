"""Drafting replies: the scheduled step after classification, and single drafts on request.

A draft is written from a template chosen by intent, language and channel, checked by the
policy, and stored with its verdict for a person to approve. Each mention gets one reply
draft at most (its `key` is unique), so a rerun or a second worker never drafts twice;
each chunk of mentions is one transaction, so a crash loses only the chunk in flight.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from outreach.context import (
    REPLY_CHANNELS,
    DraftFacts,
    describe,
    facts_for_customer,
    facts_for_mention,
    policy_context,
)
from outreach.draft_settings import TEMPLATE_SOURCE
from outreach.drafters import Declined, DraftRequest, DraftSource, sources_for
from outreach.drafters.template import TemplateSource
from outreach.intents import choose_intent, kind_of
from outreach.lint import LintContext, LintFinding, context_from_data, lint
from outreach.phrasing import SurveyReply, template_data
from outreach.rendering import Renderer, RenderError, renderer
from outreach.settings import Settings
from outreach.voice import voice_for
from policies.policy_set import PolicySet
from policies.verdict import Verdict
from storage.audit import record
from storage.db import session_scope
from storage.models import Customer, Draft
from storage.outreach import (
    MentionFacts,
    draft_by_key,
    drafts_of_mention,
    mention_facts,
    mentions_to_draft,
    open_case,
    sync_responses,
)
from storage.types import utcnow

log = logging.getLogger(__name__)

ACTOR = "drafting"
# Retries of a chunk that lost a race with another worker drafting the same mentions.
_RACE_RETRIES = 3


def reply_key(mention_id: int) -> str:
    """The idempotency key of the reply to a mention."""
    return f"reply:mention:{mention_id}"


def follow_up_key(*, customer_id: int, mention_id: int | None) -> str:
    """The idempotency key of the follow-up e-mail about a mention (or to a customer)."""
    if mention_id is not None:
        return f"follow_up:mention:{mention_id}"
    return f"follow_up:customer:{customer_id}"


@dataclass(frozen=True)
class Drafter:
    """What drafting needs besides the database: settings, templates and the policy."""

    settings: Settings
    renderer: Renderer
    policy: PolicySet
    policy_version: str
    # The draft sources of `[drafts] sources`, tried in turn; the template's ends them.
    sources: tuple[DraftSource, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings, policy: PolicySet | None = None) -> Drafter:
        policy = policy or PolicySet.from_settings(settings)
        return cls(
            settings,
            renderer(settings.outreach.templates_dir),
            policy,
            policy_version(policy),
            sources_for(settings),
        )

    @property
    def lookback(self) -> timedelta:
        """How far back earlier contacts are read: as far as the policy's rules need."""
        return max(timedelta(days=90), self.policy.lookback)


def policy_version(policy: PolicySet) -> str:
    """Names the policy a verdict came from: its file and a digest of its rules."""
    rules = repr([(r.name, r.options.model_dump(mode="json")) for r in policy.rules])
    digest = hashlib.sha256(rules.encode()).hexdigest()[:12]
    return f"{Path(policy.source).name[:80]}@{digest}"


def draft_for_mention(
    session: Session,
    settings: Settings,
    mention_id: int,
    *,
    now: datetime | None = None,
    drafter: Drafter | None = None,
) -> Draft | None:
    """The reply draft for a mention: the stored one, else a new one (added to the session).

    None when the mention has no labels, calls for no reply, or repeats a post of the same
    author that already has one. Any intent is drafted here; the scheduled step drafts
    only the kinds in `[outreach] intents`.
    """
    existing = draft_by_key(session, reply_key(mention_id))
    if existing is not None:
        return existing
    found = mention_facts(session, mention_id=mention_id)
    if found is None:
        return None
    return _reply(session, drafter or Drafter.from_settings(settings), found, now or utcnow())


def draft_follow_up(
    session: Session,
    settings: Settings,
    *,
    customer_id: int,
    mention_id: int | None = None,
    now: datetime | None = None,
    drafter: Drafter | None = None,
    answer: SurveyReply | None = None,
) -> Draft | None:
    """A follow-up e-mail to a customer, about a mention of theirs when given, responding
    to their survey `answer` when it follows one.

    The stored one when it exists; None when the customer has no e-mail address.
    """
    key = follow_up_key(customer_id=customer_id, mention_id=mention_id)
    existing = draft_by_key(session, key)
    if existing is not None:
        return existing
    customer = session.get(Customer, customer_id)
    if customer is None or not customer.email:
        return None
    drafter = drafter or Drafter.from_settings(settings)
    now = now or utcnow()
    facts = facts_for_customer(session, settings, customer, now=now, lookback=drafter.lookback)
    if mention_id is not None:
        found = mention_facts(session, mention_id=mention_id)
        if found is not None:
            about = facts_for_mention(session, settings, found, now=now, lookback=drafter.lookback)
            facts = _with_customer(about, facts)
    return _store(
        session,
        drafter,
        facts,
        key=key,
        intent="follow_up",
        channel="email",
        recipient=customer.email,
        now=now,
        answer=answer,
    )


def _with_customer(about: DraftFacts, customer: DraftFacts) -> DraftFacts:
    """Facts of a mention, spoken of to the customer (their order and contacts win)."""
    return replace(
        about,
        customer_id=customer.customer_id,
        customer_name=customer.customer_name or about.customer_name,
        customer_email=customer.customer_email,
        customer_language=customer.customer_language,
        customer_tz=customer.customer_tz,
        do_not_contact=customer.do_not_contact,
        erased=about.erased or customer.erased,
        order=about.order or customer.order,
        earlier=about.earlier or customer.earlier,
    )


def _reply(
    session: Session,
    drafter: Drafter,
    found: MentionFacts,
    now: datetime,
    kinds: set[str] | None = None,
) -> Draft | None:
    """The reply draft for a mention, when it calls for one (of `kinds`, when given)."""
    mention = found.mention
    if mention.duplicate_of_id is not None and _same_author_answered(session, found):
        return None
    facts = facts_for_mention(session, drafter.settings, found, now=now, lookback=drafter.lookback)
    intent = choose_intent(
        found.labels,
        known_issue=facts.known_issue is not None,
        text=facts.full_text,
        has_order=facts.order is not None,
    )
    if intent is None or (kinds is not None and kind_of(intent) not in kinds):
        return None
    channel, recipient = _reply_channel(drafter.settings, facts)
    return _store(
        session,
        drafter,
        facts,
        key=reply_key(mention.id or 0),
        intent=intent,
        channel=channel,
        recipient=recipient,
        now=now,
    )


def _same_author_answered(session: Session, found: MentionFacts) -> bool:
    """A repost of a post by the same author that already has a draft needs no second one."""
    original = mention_facts(session, mention_id=found.mention.duplicate_of_id or 0)
    if original is None or original.mention.author_id != found.mention.author_id:
        return False
    return bool(drafts_of_mention(session, mention_id=original.mention.id or 0))


def _reply_channel(settings: Settings, facts: DraftFacts) -> tuple[str, str | None]:
    """(channel, recipient): e-mail to a known customer when configured, else public."""
    if settings.outreach.reply_channel == "email" and facts.customer_email:
        return "email", facts.customer_email
    return REPLY_CHANNELS.get(facts.source_kind or "", "manual"), facts.handle


def choose_language(available: set[str], facts: DraftFacts, default: str, *, private: bool) -> str:
    """The customer's language when there are templates in it, else the brand's default."""
    wanted = facts.customer_first_language() if private else facts.reply_language()
    if wanted in available:
        return wanted
    if default in available:
        return default
    if not available:
        raise RenderError("no templates at all for this intent and channel")
    return sorted(available)[0]


def _store(
    session: Session,
    drafter: Drafter,
    facts: DraftFacts,
    *,
    key: str,
    intent: str,
    channel: str,
    recipient: str | None,
    now: datetime,
    answer: SurveyReply | None = None,
) -> Draft:
    settings = drafter.settings
    private = channel == "email"
    kind = "email" if private else "public"
    language = choose_language(
        drafter.renderer.languages(intent, kind),
        facts,
        settings.brand.default_language,
        private=private,
    )
    data = template_data(
        facts,
        voice_for(settings.brand, language),
        channel=kind,
        language=language,
        drafts=settings.drafts,
        answer=answer,
    )
    rendered = drafter.renderer.render(language, intent, kind, data)
    request = DraftRequest(
        session=session,
        settings=settings,
        facts=facts,
        intent=intent,
        language=language,
        kind=kind,
        data=data,
        template=rendered,
        now=now,
    )
    lint_context = context_from_data(data, intent=intent, network=facts.source_kind)

    def check(text: str) -> Verdict:
        ctx = policy_context(
            facts,
            text=text,
            channel=channel,
            public=not private,
            language=language,
            recipient=recipient,
            send_at=now,
            intent=intent,
            brand=settings.brand.name,
        )
        return drafter.policy.check(ctx, now=now)

    chosen = _compose(drafter, request, check, lint_context)
    verdict, text = chosen.verdict, chosen.text
    html = rendered.html
    if rendered.subject is not None and verdict.text != rendered.text:
        html = drafter.renderer.html(
            language, intent, data, subject=rendered.subject, text=verdict.text
        )
    draft = Draft(
        key=key,
        mention_id=facts.mention_id,
        customer_id=facts.customer_id,
        author_id=facts.author_id,
        channel=channel,
        public=not private,
        recipient=recipient,
        subject=rendered.subject,
        language=language,
        intent=intent,
        template=rendered.template,
        text=verdict.text,
        html=html,
        drafted_text=verdict.text,
        verdict=verdict.outcome,
        verdict_details=verdict.details(),
        policy_version=drafter.policy_version,
        amended=verdict.text != text,
        send_after=verdict.send_after,
        created_at=now,
        source=chosen.source,
        source_details=chosen.details,
        source_ms=chosen.ms,
        source_cost=chosen.cost,
    )
    _set_status(draft, verdict, now)
    session.add(draft)
    session.flush()
    if facts.mention_id is not None and facts.opened_at is not None:
        open_case(
            session,
            mention_id=facts.mention_id,
            opened_at=facts.opened_at,
            customer_id=facts.customer_id,
        )
    record(
        session,
        actor=ACTOR,
        action="draft.created",
        subject_type="draft",
        subject_id=draft.id,
        details={
            **describe(facts),
            "intent": intent,
            "language": language,
            "channel": channel,
            "verdict": verdict.outcome,
            "rules": sorted({f.rule for f in verdict.findings}),
            "lint": [str(f) for f in chosen.lint],
            "source": chosen.source,
            "gave_way": chosen.details.get("gave_way", []),
        },
    )
    return draft


@dataclass(frozen=True)
class _Chosen:
    """The text a draft source wrote, its verdict and lint, and what the sources reported."""

    source: str
    text: str
    verdict: Verdict
    lint: list[LintFinding]
    details: dict[str, Any]
    ms: float | None
    cost: float | None


def _compose(
    drafter: Drafter,
    request: DraftRequest,
    check: Callable[[str], Verdict],
    lint_context: LintContext,
) -> _Chosen:
    """The first source's draft the policy does not block and the lint finds nothing in;
    the template's draft, whatever its verdict, when none before it does.

    Time and cost add up over every source tried (a refused call still cost its tokens).
    """
    gave_way: list[dict[str, Any]] = []
    spent_ms: list[float] = []
    spent: list[float] = []
    sources = list(drafter.sources)
    if not sources or sources[-1].name != TEMPLATE_SOURCE:
        sources.append(TemplateSource(drafter.settings))
    for source in sources:
        last = source.name == TEMPLATE_SOURCE
        try:
            composed = source.compose(request)
        except Declined as exc:
            _spend(spent_ms, spent, exc.ms, exc.cost)
            gave_way.append({"source": source.name, "reason": exc.reason, **exc.details})
            continue
        except Exception as exc:
            if last:
                raise
            # A source's own fault (a plugin's bug) costs this source, never the draft.
            log.exception("draft source %s failed", source.name)
            gave_way.append({"source": source.name, "reason": f"{type(exc).__name__}: {exc}"})
            continue
        _spend(spent_ms, spent, composed.ms, composed.cost)
        verdict = check(composed.text)
        found = lint(verdict.text, lint_context)
        if not last:
            reason = None
            if verdict.outcome == "block":
                reason = "blocked by the policy: " + "; ".join(
                    f"{f.rule}: {f.reason}" for f in verdict.findings if f.outcome == "block"
                )
            elif found:
                reason = "draft-lint: " + "; ".join(str(f) for f in found)
            if reason is not None:
                gave_way.append({"source": source.name, "reason": reason, **composed.details})
                continue
        details = dict(composed.details)
        if gave_way:
            details["gave_way"] = gave_way
        return _Chosen(
            source=source.name,
            text=composed.text,
            verdict=verdict,
            lint=found,
            details=details,
            ms=round(sum(spent_ms), 2) if spent_ms else None,
            cost=round(sum(spent), 8) if spent else None,
        )
    raise RenderError("no draft source wrote a draft")  # the template always does


def _spend(spent_ms: list[float], spent: list[float], ms: float | None, cost: float | None) -> None:
    if ms is not None:
        spent_ms.append(ms)
    if cost is not None:
        spent.append(cost)


def _set_status(draft: Draft, verdict: Verdict, now: datetime) -> None:
    """A blocked draft is rejected by the policy; an escalated one waits for a supervisor."""
    if verdict.outcome not in ("block", "escalate"):
        draft.status = "pending"
        return
    draft.reason = "; ".join(
        f"{f.rule}: {f.reason}" for f in verdict.findings if f.outcome == verdict.outcome
    )
    if verdict.outcome == "escalate":
        draft.status = "escalated"
        return
    draft.status = "rejected"
    draft.decided_by = "policy"
    draft.decided_at = now


@dataclass
class DraftReport:
    """What one drafting run did, for logs and the command line."""

    considered: int = 0
    drafted: int = 0
    skipped: int = 0
    failed: int = 0
    chunks: int = 0
    responses: int = 0
    seconds: float = 0.0
    verdicts: Counter[str] = field(default_factory=Counter)
    intents: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    stopped: bool = False
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def draft_pending(
    settings: Settings,
    engine: Engine,
    *,
    now: datetime | None = None,
    stop: threading.Event | None = None,
    on_draft: Callable[[Draft], None] | None = None,
    drafter: Drafter | None = None,
) -> DraftReport:
    """Draft replies to recent mentions of the configured kinds that have none yet.

    One transaction per chunk of `[outreach] batch_size` mentions. `on_draft` sees each
    draft before its chunk is committed. Errors end the run with `report.error` set;
    committed chunks stay. First, approved drafts are recorded as first responses.
    """
    report = DraftReport()
    started = time.perf_counter()
    try:
        drafter = drafter or Drafter.from_settings(settings)
        with session_scope(engine) as session:
            report.responses = sync_responses(session)
        _run(drafter, engine, report, now or utcnow(), stop, on_draft)
    except Exception as exc:
        log.exception("drafting stopped by an error")
        report.error = f"{type(exc).__name__}: {exc}"
    report.seconds = time.perf_counter() - started
    log.info(
        "drafting %s: %d drafted (%s), %d skipped, %d failed in %d chunk(s), %.1fs",
        "failed" if report.error else "stopped" if report.stopped else "done",
        report.drafted,
        ", ".join(f"{k} {v}" for k, v in sorted(report.verdicts.items())) or "none",
        report.skipped,
        report.failed,
        report.chunks,
        report.seconds,
    )
    return report


def _run(
    drafter: Drafter,
    engine: Engine,
    report: DraftReport,
    now: datetime,
    stop: threading.Event | None,
    on_draft: Callable[[Draft], None] | None,
) -> None:
    outreach = drafter.settings.outreach
    kinds: set[str] = set(outreach.intents)
    since = now - timedelta(days=outreach.max_age_days)
    after_id = 0
    races = 0
    while True:
        if stop is not None and stop.is_set():
            report.stopped = True
            return
        chunk_report = DraftReport()
        try:
            with session_scope(engine) as session:
                chunk = mentions_to_draft(
                    session,
                    after_id=after_id,
                    limit=outreach.batch_size,
                    since=since,
                    complaints="complaint" in kinds,
                    issues=[k for k in ("question", "praise") if k in kinds],
                    min_confidence=drafter.settings.classify.min_confidence,
                    # Claimed until this chunk's drafts are committed: other workers
                    # draft other mentions meanwhile.
                    claim=True,
                )
                if not chunk:
                    return
                for found in chunk:
                    _draft_one(session, drafter, found, kinds, now, chunk_report, on_draft)
                last = chunk[-1].mention.id or 0
        except IntegrityError:
            # Another worker drafted some of these first: its drafts stand, redo the rest.
            races += 1
            if races > _RACE_RETRIES:
                raise
            log.warning("a chunk of drafts collided with another worker's; retrying it")
            continue
        after_id = last
        _add(report, chunk_report)
        report.chunks += 1


def _draft_one(
    session: Session,
    drafter: Drafter,
    found: MentionFacts,
    kinds: set[str],
    now: datetime,
    report: DraftReport,
    on_draft: Callable[[Draft], None] | None,
) -> None:
    report.considered += 1
    try:
        # Rendering comes before anything is added to the session: a broken template
        # fails this one draft, not the chunk.
        draft = _reply(session, drafter, found, now, kinds)
    except RenderError as exc:
        log.error("mention %s: no draft: %s", found.mention.id, exc)
        report.failed += 1
        report.failures[str(exc).split(":")[0]] += 1
        return
    if draft is None:
        report.skipped += 1
        return
    report.drafted += 1
    report.verdicts[draft.verdict] += 1
    report.intents[draft.intent] += 1
    if on_draft is not None:
        on_draft(draft)


def _add(total: DraftReport, chunk: DraftReport) -> None:
    for name in ("considered", "drafted", "skipped", "failed"):
        setattr(total, name, getattr(total, name) + getattr(chunk, name))
    total.verdicts.update(chunk.verdicts)
    total.intents.update(chunk.intents)
    total.failures.update(chunk.failures)
