"""Public replies never quote a customer's e-mail address, phone number or order number,
on every channel a reply can take: the shipped policy's `personal_data` rule takes them out
of the draft an agent edits, so the approved message in the outbox carries none of them."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

from ascolto.database import prepare
from ascolto.review.queue import Reviewer, Reviewing
from outreach.channels import known_channels
from outreach.drafting import draft_pending
from policies.context import PRIVATE_CHANNELS, DraftContext
from policies.policy_set import PolicySet
from storage.db import session_scope
from storage.models import Draft, Mention, OutboxMessage
from tests.factories import at
from tests.outreach.draft_factories import add_mention, add_order, settings_for

EMAIL = "chiara.galli@example.it"
PHONE = "+39 333 123 4567"
ORDER = "100234"
QUOTED = (
    f"Hi Chiara, we wrote to {EMAIL} and will call {PHONE} about order {ORDER}; "
    "a new Acme Tab 3 is on its way."
)
AGENT = Reviewer("tom", "agent")


def leaks(text: str) -> list[str]:
    return [data for data in (EMAIL, PHONE, ORDER) if data in text]


@pytest.mark.parametrize("kind", ["mastodon", "reddit", "bluesky", "hackernews", "appstore"])
def test_an_edited_public_reply_loses_the_customers_data(
    tmp_path: Path, sqlite_url: str, kind: str
) -> None:
    settings = settings_for(tmp_path, sqlite_url)
    engine = prepare(settings)
    add_order(
        engine,
        email=EMAIL,
        name="Chiara Galli",
        handles=((kind, "chiara_g"),),
        external_id=ORDER,
        ordered_at=at(days=-6),
        delivered_at=at(days=-1),
    )
    mention_id = add_mention(engine, source_kind=kind, handle="chiara_g", platform=kind)
    if kind == "mastodon":
        # Where a Mastodon status lives, as the listener stores it, so the reply can go.
        with session_scope(engine) as session:
            mention = session.get(Mention, mention_id)
            assert mention is not None
            mention.extra = {"instance": "https://mastodon.example", "status_id": "1176701829"}
            session.add(mention)
    report = draft_pending(settings, engine, now=at(days=1))
    assert (report.ok, report.drafted) == (True, 1), report.error
    with session_scope(engine) as session:
        draft = session.exec(select(Draft)).one()
        assert draft.channel in ("mastodon", "manual")
        assert draft.channel not in PRIVATE_CHANNELS
        reviewing = Reviewing(settings)
        reviewing.edit(session, draft.id or 0, reviewer=AGENT, text=QUOTED, now=at(days=1))
        session.flush()
        assert leaks(draft.text) == [], draft.text
        assert any(f["rule"] == "personal_data" for f in draft.verdict_details)
        decision = reviewing.approve(session, draft.id or 0, reviewer=AGENT, now=at(days=1))
        assert decision.done, decision.message
    with Session(engine) as session:
        (message,) = session.exec(select(OutboxMessage)).all()
    assert leaks(message.text + str(message.payload) + message.subject) == []


@pytest.mark.parametrize("channel", sorted(set(known_channels()) - PRIVATE_CHANNELS))
def test_the_shipped_policy_removes_them_on_every_public_channel(channel: str) -> None:
    verdict = PolicySet.default().check(
        DraftContext(text=QUOTED, channel=channel, language="en", order_ids=(ORDER,))
    )
    assert leaks(verdict.text) == [], (channel, verdict.text)
    assert verdict.outcome in ("amend", "block", "escalate")


def test_a_private_e_mail_may_name_the_order() -> None:
    verdict = PolicySet.default().check(
        DraftContext(text=QUOTED, channel="email", language="en", order_ids=(ORDER,))
    )
    assert ORDER in verdict.text
