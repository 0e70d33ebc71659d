"""The review queue's actions on real drafts, policy and outbox, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ascolto.database import prepare
from ascolto.review.queue import Reviewer, ReviewError, Reviewing, escalate, queue, reject, show
from ascolto.settings import Settings
from outreach.drafting import draft_for_mention
from policies.policy_set import default_policy_text
from storage.db import session_scope
from storage.models import AuditEvent, CareCase, Contact, Draft, Mention, OutboxMessage
from tests.factories import at
from tests.outreach.draft_factories import add_mention, add_order, settings_for

AGENT = Reviewer("tom", "agent")
SUPERVISOR = Reviewer("giulia", "supervisor")
ADMIN = Reviewer("ada", "admin")
NOW = at(days=1)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    # The shipped policy, with an admin allowed more than a supervisor.
    policy = default_policy_text().replace(
        "caps.admin = { USD = 1000,", "caps.admin = { USD = 5000,"
    )
    assert "USD = 5000" in policy
    (tmp_path / "policy.toml").write_text(policy, encoding="utf-8")
    return settings_for(
        tmp_path, database_url, f'[policies]\nfile = "{tmp_path / "policy.toml"}"\n'
    )


@pytest.fixture
def engine(settings: Settings) -> Engine:
    return prepare(settings)


@pytest.fixture
def reviewing(settings: Settings) -> Reviewing:
    return Reviewing(settings)


def drafted(engine: Engine, settings: Settings, **mention: Any) -> int:
    mention_id = add_mention(engine, **mention)
    with session_scope(engine) as session:
        draft = draft_for_mention(session, settings, mention_id, now=NOW)
        assert draft is not None
        session.flush()
        return draft.id or 0


def get(engine: Engine, draft_id: int) -> Draft:
    with Session(engine) as session:
        draft = session.get(Draft, draft_id)
        assert draft is not None
        return draft


def outbox(engine: Engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage)).all())


def audit(engine: Engine, draft_id: int) -> list[tuple[str, str]]:
    with Session(engine) as session:
        rows = session.exec(
            select(AuditEvent)
            .where(AuditEvent.subject_type == "draft")
            .where(AuditEvent.subject_id == str(draft_id))
            .order_by(AuditEvent.id)  # type: ignore[arg-type]
        ).all()
        return [(e.actor, e.action) for e in rows]


def approve(engine: Engine, reviewing: Reviewing, draft_id: int, who: Reviewer) -> Any:
    with session_scope(engine) as session:
        return reviewing.approve(session, draft_id, reviewer=who, now=NOW)


def edit(engine: Engine, reviewing: Reviewing, draft_id: int, who: Reviewer, text: str) -> Any:
    with session_scope(engine) as session:
        return reviewing.edit(session, draft_id, reviewer=who, text=text, now=NOW)


def test_urgent_first_then_longest_waiting(engine: Engine, settings: Settings) -> None:
    newest_plain = drafted(engine, settings, published_at=at(50), handle="a")
    oldest_plain = drafted(engine, settings, published_at=at(10), handle="b")
    press = drafted(engine, settings, published_at=at(20), urgency=("press",), handle="c")
    safety = drafted(engine, settings, published_at=at(40), urgency=("safety",), handle="d")
    legal = drafted(engine, settings, published_at=at(30), urgency=("legal",), handle="e")
    churn = drafted(engine, settings, published_at=at(5), urgency=("churn",), handle="f")
    both = drafted(engine, settings, published_at=at(45), urgency=("press", "safety"), handle="g")
    with Session(engine) as session:
        items = queue(session)
    assert [i.draft.id for i in items] == [
        safety,
        both,
        legal,
        press,
        churn,
        oldest_plain,
        newest_plain,
    ]
    assert items[1].urgency == ["safety", "press"]
    assert [i.urgent for i in items] == [True, True, True, True, False, False, False]


def test_accusing_complaints_come_before_milder_ones_of_equal_urgency(
    engine: Engine, settings: Settings
) -> None:
    mild_old = drafted(engine, settings, published_at=at(10), handle="a", severity="reproach")
    blame_new = drafted(engine, settings, published_at=at(40), handle="b", severity="blame")
    accusation = drafted(engine, settings, published_at=at(30), handle="c", severity="accusation")
    unknown = drafted(engine, settings, published_at=at(5), handle="d")
    legal_mild = drafted(
        engine, settings, published_at=at(50), handle="e", severity="reproach", urgency=("legal",)
    )
    with Session(engine) as session:
        items = queue(session)
    # Urgency first; then accusing or blaming complaints; then the longest waiting.
    assert [i.draft.id for i in items] == [legal_mild, accusation, blame_new, unknown, mild_old]
    assert [i.severe for i in items] == [False, True, True, False, False]


def test_approval_enqueues_exactly_one_message(
    engine: Engine, settings: Settings, reviewing: Reviewing
) -> None:
    add_order(engine, ordered_at=at(days=-5))
    draft_id = drafted(engine, settings)
    assert get(engine, draft_id).status == "pending"

    decision = approve(engine, reviewing, draft_id, AGENT)
    assert decision.done, decision.message
    (message,) = outbox(engine)
    assert message.key == f"draft:{draft_id}"
    assert message.draft_id == draft_id
    assert message.text == get(engine, draft_id).text
    assert message.payload["in_reply_to_url"].startswith("https://social.example.com/")
    draft = get(engine, draft_id)
    assert (draft.status, draft.decided_by, draft.decided_at) == ("approved", "tom", NOW)
    assert draft.outbox_id == message.id

    # A double click, a replayed form: nothing more is sent.
    again = approve(engine, reviewing, draft_id, SUPERVISOR)
    assert not again.done
    assert again.message == "already approved by tom"
    assert len(outbox(engine)) == 1
    assert get(engine, draft_id).decided_by == "tom"

    with Session(engine) as session:
        contact = session.exec(select(Contact)).one()
        assert (contact.draft_id, contact.at) == (draft_id, NOW)
        case = session.exec(select(CareCase)).one()
        assert (case.first_response_at, case.first_response_draft_id) == (NOW, draft_id)
    assert audit(engine, draft_id)[-2:] == [
        ("tom", "draft.approved"),
        ("giulia", "draft.approve_repeated"),
    ]


def test_agents_cannot_approve_escalated_drafts_supervisors_can(
    engine: Engine, settings: Settings, reviewing: Reviewing
) -> None:
    draft_id = drafted(
        engine,
        settings,
        text="My Acme Tab 3 charger smells of burning and got very hot!",
        issues=("defect",),
        urgency=("safety",),
    )
    draft = get(engine, draft_id)
    assert (draft.status, draft.verdict) == ("escalated", "escalate")
    with Session(engine) as session:
        assert show(session, draft_id, reviewer=AGENT).approvable == (
            "escalated: a supervisor must approve it"
        )
        assert show(session, draft_id, reviewer=SUPERVISOR).approvable is None

    refused = approve(engine, reviewing, draft_id, AGENT)
    assert not refused.done
    assert "supervisor must approve" in refused.message
    assert outbox(engine) == []
    assert get(engine, draft_id).status == "escalated"

    assert approve(engine, reviewing, draft_id, SUPERVISOR).done
    assert len(outbox(engine)) == 1
    assert audit(engine, draft_id) == [
        ("drafting", "draft.created"),
        ("tom", "draft.approve_refused"),
        ("giulia", "draft.approved"),
    ]


def test_an_edit_is_checked_again_with_the_editors_role(
    engine: Engine, settings: Settings, reviewing: Reviewing
) -> None:
    draft_id = drafted(engine, settings)
    original = get(engine, draft_id).text
    offer = original.replace(
        "— The Acme team", "We will send you a 300 USD voucher.\n\n— The Acme team"
    )

    decision = edit(engine, reviewing, draft_id, AGENT, offer)
    assert decision.done
    draft = get(engine, draft_id)
    assert draft.text == offer
    assert draft.drafted_text == original  # what drafting wrote stays, for the statistics
    assert (draft.verdict, draft.status) == ("escalate", "escalated")
    (finding,) = [f for f in draft.verdict_details if f["rule"] == "compensation"]
    assert "over the agent cap of 200 USD" in finding["reason"]
    assert not approve(engine, reviewing, draft_id, AGENT).done
    assert approve(engine, reviewing, draft_id, SUPERVISOR).done

    with Session(engine) as session:
        edited = session.exec(select(AuditEvent).where(AuditEvent.action == "draft.edited")).one()
    assert edited.actor == "tom"
    assert edited.details["before"] == original
    assert edited.details["after"] == offer
    assert edited.details["verdict"] == "escalate"


def test_more_than_a_supervisor_may_offer_waits_for_an_admin(
    engine: Engine, settings: Settings, reviewing: Reviewing
) -> None:
    draft_id = drafted(engine, settings)
    text = get(engine, draft_id).text + "\n\nWe are refunding 2000 USD."
    assert edit(engine, reviewing, draft_id, SUPERVISOR, text).draft.verdict == "escalate"
    refused = approve(engine, reviewing, draft_id, SUPERVISOR)
    assert not refused.done
    assert refused.message.startswith("needs an admin: compensation: offers 2000 USD")
    assert approve(engine, reviewing, draft_id, ADMIN).done
    assert len(outbox(engine)) == 1


def test_blocked_text_cannot_be_approved_until_edited(
    engine: Engine, settings: Settings, reviewing: Reviewing
) -> None:
    draft_id = drafted(engine, settings)
    good = get(engine, draft_id).text
    decision = edit(engine, reviewing, draft_id, ADMIN, good + "\n\nWe guarantee it.")
    assert decision.draft.verdict == "block"
    assert decision.draft.status == "pending"  # still open: a person can fix it
    refused = approve(engine, reviewing, draft_id, ADMIN)
    assert not refused.done
    assert refused.message.startswith("the policy blocks this text: forbidden_phrases")
    assert outbox(engine) == []
    assert edit(engine, reviewing, draft_id, AGENT, good).draft.verdict == "allow"
    assert approve(engine, reviewing, draft_id, AGENT).done


def test_amended_text_is_stored_and_shown_before_approval(
    engine: Engine, settings: Settings, reviewing: Reviewing
) -> None:
    draft_id = drafted(engine, settings)
    text = get(engine, draft_id).text + "\n\nWrite to us at care@acme.example."
    decision = edit(engine, reviewing, draft_id, AGENT, text)
    assert decision.draft.verdict == "amend"
    assert "care@acme.example" not in decision.draft.text  # no personal data in public
    assert approve(engine, reviewing, draft_id, AGENT).done
    (message,) = outbox(engine)
    assert message.text == decision.draft.text


def test_reject_needs_a_reason(engine: Engine, settings: Settings) -> None:
    draft_id = drafted(engine, settings)
    with session_scope(engine) as session, pytest.raises(ReviewError, match="reason is required"):
        reject(session, draft_id, reviewer=AGENT, reason="   ")
    with session_scope(engine) as session:
        decision = reject(session, draft_id, reviewer=AGENT, reason="  wrong\n product ", now=NOW)
    assert decision.done
    draft = get(engine, draft_id)
    assert (draft.status, draft.reason, draft.decided_by) == ("rejected", "wrong product", "tom")
    with session_scope(engine) as session, pytest.raises(ReviewError, match="is rejected"):
        reject(session, draft_id, reviewer=AGENT, reason="again")
    assert audit(engine, draft_id)[-1] == ("tom", "draft.rejected")


def test_escalation_hands_the_draft_to_a_supervisor(
    engine: Engine, settings: Settings, reviewing: Reviewing
) -> None:
    draft_id = drafted(engine, settings)
    with session_scope(engine) as session:
        decision = escalate(session, draft_id, reviewer=AGENT, reason="the customer is a lawyer")
    assert decision.done
    draft = get(engine, draft_id)
    assert (draft.status, draft.reason) == ("escalated", "the customer is a lawyer")
    with session_scope(engine) as session:
        assert not escalate(session, draft_id, reviewer=AGENT, reason="again").done
        assert not reject(session, draft_id, reviewer=AGENT, reason="no").done
    assert not approve(engine, reviewing, draft_id, AGENT).done
    assert approve(engine, reviewing, draft_id, SUPERVISOR).done
    assert [a for _, a in audit(engine, draft_id)] == [
        "draft.created",
        "draft.escalated",
        "draft.escalate_refused",
        "draft.reject_refused",
        "draft.approve_refused",
        "draft.approved",
    ]


def test_bad_requests_are_clear_errors(
    engine: Engine, settings: Settings, reviewing: Reviewing
) -> None:
    draft_id = drafted(engine, settings)
    with session_scope(engine) as session:
        with pytest.raises(ReviewError, match="no draft with id 999"):
            reviewing.approve(session, 999, reviewer=AGENT)
        with pytest.raises(ReviewError, match="the text is empty"):
            reviewing.edit(session, draft_id, reviewer=AGENT, text=" \r\n ")
    with session_scope(engine) as session:
        reject(session, draft_id, reviewer=AGENT, reason="duplicate")
    with session_scope(engine) as session, pytest.raises(ReviewError, match="cannot be approved"):
        reviewing.approve(session, draft_id, reviewer=SUPERVISOR)


def test_show_gathers_the_customers_history(engine: Engine, settings: Settings) -> None:
    add_order(engine, ordered_at=at(days=-5), external_id="A-1001")
    earlier = drafted(engine, settings, text="Where is my Acme Tab 3? Ordered ages ago.")
    with session_scope(engine) as session:
        reject(session, earlier, reviewer=AGENT, reason="answered by phone")
    draft_id = drafted(engine, settings, text="Still no Acme Tab 3, this is getting silly.")
    with Session(engine) as session:
        view = show(session, draft_id, reviewer=AGENT)
    assert view.customer is not None
    assert view.customer.name == "Marco Bellini"
    assert [o.external_id for o in view.history.orders] == ["A-1001"]
    assert [m.text for m, _ in view.history.mentions] == [
        "Where is my Acme Tab 3? Ordered ages ago."
    ]
    assert [d.id for d in view.history.drafts] == [earlier]
    assert view.item.labels is not None
    assert view.item.labels.issues == ["delivery"]


@pytest.mark.parametrize("role", ["product", "marketer"])
def test_only_care_roles_review_drafts(
    engine: Engine, settings: Settings, reviewing: Reviewing, role: str
) -> None:
    draft_id = drafted(engine, settings)
    outsider = Reviewer("pat", role)
    with session_scope(engine) as session:
        with pytest.raises(ReviewError, match="only agent, supervisor, admin review drafts"):
            reviewing.approve(session, draft_id, reviewer=outsider)
        with pytest.raises(ReviewError, match="review drafts"):
            reviewing.edit(session, draft_id, reviewer=outsider, text="Hello")
        with pytest.raises(ReviewError, match="review drafts"):
            reject(session, draft_id, reviewer=outsider, reason="no")
        with pytest.raises(ReviewError, match="review drafts"):
            escalate(session, draft_id, reviewer=outsider, reason="no")
    assert get(engine, draft_id).status == "pending"
    assert outbox(engine) == []


@pytest.mark.parametrize("link", [None, "tag:forum.example,2026:post-7", "javascript:alert(1)"])
def test_a_mention_without_a_web_link_can_still_be_approved(
    engine: Engine, settings: Settings, reviewing: Reviewing, link: str | None
) -> None:
    # App Store reviews have no link; a feed's entry id may be a tag: URI. The manual
    # channel's copy then names the mention instead of linking to it.
    add_order(engine, ordered_at=at(days=-5))
    draft_id = drafted(engine, settings)
    with session_scope(engine) as session:
        mention = session.get(Mention, get(engine, draft_id).mention_id)
        assert mention is not None
        mention.url = link
        session.add(mention)
    decision = approve(engine, reviewing, draft_id, AGENT)
    assert decision.done, decision.message
    (message,) = outbox(engine)
    assert message.channel == "manual"
    assert message.payload["in_reply_to_url"] is None
    assert message.payload["mention_id"] == get(engine, draft_id).mention_id
