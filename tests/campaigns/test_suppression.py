"""Suppression: who gets no check-in and why, the same in the preview and when sending."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ascolto.settings import CampaignSettings, Settings
from outreach.campaigns import preview, run_campaigns
from outreach.campaigns.answers import unsubscribe
from outreach.campaigns.decision import campaign_policy, decide
from outreach.campaigns.definition import ActiveCampaign, find_campaign
from outreach.campaigns.messages import CheckInEmail
from outreach.campaigns.sending import gather
from policies import PolicySet
from policies.rules.delivery_promises import DeliveryPromises, DeliveryPromisesOptions
from storage import campaigns as store
from storage.classifications import LabelsRecord, save_labels
from storage.db import session_scope
from storage.mentions import NewMention, ingest
from storage.models import CareCase, CheckIn, Customer, Mention, Order, Source
from storage.outreach import record_contact
from tests.campaigns.conftest import (
    QUIET_POLICY,
    add_order,
    campaign_toml,
    checkin_of,
    checkins,
    outbox,
)

ROME = ZoneInfo("Europe/Rome")
# Orders are delivered on 2026-11-03 at 15:00 in Rome: due three days later at 15:00.
DUE = datetime(2026, 11, 6, 14, 0, tzinfo=UTC)
BEFORE = DUE - timedelta(days=1)


def customer_id(engine: Engine, email: str) -> int:
    with session_scope(engine) as session:
        found = store.customer_by_email(session, email)
        assert found is not None
        return found.id or 0


def complain(engine: Engine, email: str, *, at: datetime, complaint: bool = True) -> int:
    """A post by the customer, labelled a complaint (or not) as the classifier would."""
    with session_scope(engine) as session:
        source = Source(name=f"forum-{email}", kind="rss")
        session.add(source)
        session.flush()
        ingest(
            session,
            source_id=source.id or 0,
            items=[
                NewMention(
                    external_id=f"post-{email}",
                    text="The screen cracked after two days, nobody answers.",
                    author_handle=email,
                    author_platform="email",
                    published_at=at,
                )
            ],
        )
        mention = session.exec(select(Mention).where(Mention.source_id == source.id)).one()
        save_labels(
            session,
            records=[
                LabelsRecord(
                    mention_id=mention.id or 0,
                    content_hash=mention.content_hash,
                    model_version="test",
                    sentiment="negative",
                    complaint=complaint,
                )
            ],
        )
        return mention.id or 0


def test_each_skipped_customer_has_its_reason_in_the_preview_and_when_sending(
    campaign_settings: Callable[..., Settings], engine: Engine
) -> None:
    policy = QUIET_POLICY.replace(
        "[suppression]\n", '[suppression]\naddresses = ["listed@example.com"]\n'
    )
    settings = campaign_settings(
        campaign_toml(starts_on="2026-11-01", contact_gap_days=14), policy=policy
    )
    happy = add_order(engine, email="happy@example.com")
    complaining = add_order(engine, email="angry@example.com")
    calm = add_order(engine, email="calm@example.com")
    opted_out = add_order(engine, email="optout@example.com")
    unsubscribed = add_order(engine, email="unsub@example.com")
    refused = add_order(engine, email="refused@example.com", consent=False)
    unknown = add_order(engine, email="unknown@example.com", consent=None)
    recent = add_order(engine, email="recent@example.com")
    listed = add_order(engine, email="listed@example.com")
    returned = add_order(
        engine, email="returned@example.com", returned_at=datetime(2026, 11, 5, tzinfo=UTC)
    )

    complain(engine, "angry@example.com", at=DUE - timedelta(days=2))
    complain(engine, "calm@example.com", at=DUE - timedelta(days=2), complaint=False)
    with session_scope(engine) as session:
        row = session.get(Customer, customer_id(engine, "optout@example.com"))
        assert row is not None
        row.do_not_contact = True
        session.add(row)
        unsubscribe(session, email="Unsub@Example.com", via="link")
        record_contact(
            session,
            channel="email",
            kind="reply",
            customer_id=customer_id(engine, "recent@example.com"),
            at=DUE - timedelta(days=10),
        )

    expected = {
        happy: (None, ""),
        calm: (None, ""),
        complaining: ("open_complaint", "has an open complaint (mention #"),
        opted_out: ("opted_out", "suppression: the customer opted out of contact"),
        unsubscribed: ("opted_out", "unsubscribed from check-ins on"),
        refused: ("no_consent", "consent: the customer refused consent"),
        unknown: ("no_consent", "consent: no consent to be contacted is recorded"),
        recent: ("policy:contact_limit", "already contacted 1 time(s) in the last 14 day(s)"),
        listed: ("policy:suppression", "listed@example.com is on the policy's suppression"),
        returned: ("order_returned", "was returned"),
    }

    shown = preview(settings, engine, "after-delivery", now=BEFORE)
    by_customer = {e.customer: e for e in shown.entries}
    assert len(by_customer) == len(expected)
    for order_id, (reason, words) in expected.items():
        with session_scope(engine) as session:
            order = session.get(Order, order_id)
            assert order is not None
            buyer = session.get(Customer, order.customer_id)
            assert buyer is not None
            email = buyer.email or ""
        entry = by_customer[email]
        assert entry.reason == reason, (email, entry)
        assert entry.outcome == ("send" if reason is None else "skip"), (email, entry)
        assert words in entry.details, (email, entry.details)
    assert shown.count("send") == 2
    assert shown.reasons()["opted_out"] == 2
    assert shown.count("skip") == 8
    # The preview writes nothing.
    with session_scope(engine) as session:
        assert store.checkins_of(session, campaign_id=1) == []

    run = run_campaigns(settings, engine, now=DUE)
    report = run.sent["after-delivery"]
    assert report.sent == 2
    assert sum(report.skipped.values()) == 8
    for order_id, (reason, words) in expected.items():
        checkin = checkin_of(engine, order_id)
        assert checkin.status == ("sent" if reason is None else "skipped")
        assert checkin.skip_reason == reason
        assert words in (checkin.skip_details or "")
    assert len(outbox(engine)) == 2
    # Afterwards the preview shows what happened, with the same reasons.
    after = preview(settings, engine, "after-delivery", now=DUE)
    assert after.count("sent") == 2
    assert after.reasons() == shown.reasons()


def test_a_complaint_stops_holding_back_once_care_has_answered_it(
    campaign_settings: Callable[..., Settings], engine: Engine
) -> None:
    settings = campaign_settings(campaign_toml(starts_on="2026-11-01"))
    order_id = add_order(engine, email="angry@example.com")
    mention_id = complain(engine, "angry@example.com", at=DUE - timedelta(days=2))
    shown = preview(settings, engine, "after-delivery", now=BEFORE)
    assert [e.reason for e in shown.entries] == ["open_complaint"]
    with session_scope(engine) as session:
        session.add(
            CareCase(
                mention_id=mention_id,
                opened_at=DUE - timedelta(days=2),
                resolved_at=DUE - timedelta(days=1),
            )
        )
    run_campaigns(settings, engine, now=DUE)
    assert checkin_of(engine, order_id).status == "sent"


def test_campaign_contacts_count_for_the_next_campaign(
    campaign_settings: Callable[..., Settings], engine: Engine
) -> None:
    settings = campaign_settings(
        campaign_toml("delivered", starts_on="2026-11-01", contact_gap_days=14),
        campaign_toml("shipped", trigger="shipped", delay="4d", starts_on="2026-11-01"),
    )
    order_id = add_order(engine, email="once@example.com")
    # The shipped check-in is due on the 6th at 10:00 (shipped on the 2nd at 10:00 Rome);
    # the delivered one at 15:00 finds it within its 14 days.
    assert run_campaigns(settings, engine, now=DUE - timedelta(hours=5)).sent_total == 1
    assert run_campaigns(settings, engine, now=DUE).sent_total == 0
    statuses = sorted((c.campaign_id, c.status, c.skip_reason) for c in of_order(engine, order_id))
    assert statuses == [(1, "skipped", "policy:contact_limit"), (2, "sent", None)]


def of_order(engine: Engine, order_id: int) -> list[CheckIn]:
    return [c for c in checkins(engine) if c.order_id == order_id]


def test_the_policys_quiet_hours_hold_a_check_in_inside_the_campaigns_window(
    campaign_settings: Callable[..., Settings], engine: Engine
) -> None:
    policy = QUIET_POLICY + '\n[quiet_hours]\nstart = "21:00"\nend = "09:30"\n'
    settings = campaign_settings(
        campaign_toml(starts_on="2026-11-01", send_from="08:00", send_until="22:00"),
        policy=policy,
    )
    # Delivered at 21:30 in Rome: due at 21:30 three days later, inside the campaign's
    # window but in the policy's quiet hours, so it waits for 09:30 the next morning.
    order_id = add_order(engine, delivered_at=datetime(2026, 11, 3, 20, 30, tzinfo=UTC))
    due = datetime(2026, 11, 6, 20, 30, tzinfo=UTC)
    [entry] = preview(settings, engine, "after-delivery", now=BEFORE).entries
    assert entry.outcome == "send"
    assert entry.local_due == "2026-11-07 09:30 Europe/Rome"

    run = run_campaigns(settings, engine, now=due)
    assert (run.sent_total, run.sent["after-delivery"].waiting) == (0, 1)
    checkin = checkin_of(engine, order_id)
    assert checkin.status == "scheduled"
    assert checkin.due_at.astimezone(ROME).replace(tzinfo=None) == datetime(2026, 11, 7, 9, 30)
    just_before = checkin.due_at - timedelta(minutes=1)
    assert run_campaigns(settings, engine, now=just_before).sent_total == 0
    assert run_campaigns(settings, engine, now=checkin.due_at).sent_total == 1


def test_the_preview_gives_reasons_even_when_no_e_mail_can_be_written(
    campaign_settings: Callable[..., Settings], engine: Engine
) -> None:
    built = campaign_settings(campaign_toml(starts_on="2026-11-01"))
    # Without a key no link can be signed, so no e-mail can be written.
    settings = built.model_copy(update={"secret_key": None})
    add_order(engine, email="fine@example.com")
    add_order(engine, email="refused@example.com", consent=False)
    shown = preview(settings, engine, "after-delivery", now=BEFORE)
    entries = {e.customer: e for e in shown.entries}
    assert (entries["refused@example.com"].outcome, entries["refused@example.com"].reason) == (
        "skip",
        "no_consent",
    )
    fine = entries["fine@example.com"]
    assert (fine.outcome, fine.reason) == ("error", None)
    assert "secret_key is not set" in fine.details
    assert any("secret_key" in problem for problem in shown.problems)


def test_the_shipped_policy_and_the_campaigns_consent_setting_decide_together(
    campaign_settings: Callable[..., Settings], engine: Engine
) -> None:
    # The shipped policy allows unknown consent; `require_consent` (the default) does not.
    settings = campaign_settings(
        campaign_toml("strict", starts_on="2026-11-01"),
        campaign_toml("lenient", starts_on="2026-11-01", require_consent=False),
        policy=None,
    )
    add_order(engine, email="given@example.com")
    add_order(engine, email="unknown@example.com", consent=None)
    add_order(engine, email="refused@example.com", consent=False)
    outcomes = {
        name: {
            e.customer: (e.outcome, e.reason)
            for e in preview(settings, engine, name, now=BEFORE).entries
        }
        for name in ("strict", "lenient")
    }
    assert outcomes == {
        "strict": {
            "given@example.com": ("send", None),
            "unknown@example.com": ("skip", "no_consent"),
            "refused@example.com": ("skip", "no_consent"),
        },
        "lenient": {
            "given@example.com": ("send", None),
            "unknown@example.com": ("send", None),
            "refused@example.com": ("skip", "no_consent"),
        },
    }


def test_a_policy_file_without_the_recipient_rules_still_suppresses_check_ins() -> None:
    bare = PolicySet.from_toml("[length]\nlimits = { x = 280 }\n")
    strict = campaign_policy(bare, active(contact_gap_days=14))
    assert strict.names == [
        "suppression",
        "consent",
        "consent",
        "open_complaint",
        "length",
        "contact_limit",
    ]
    lenient = campaign_policy(bare, active(contact_gap_days=0, require_consent=False))
    assert lenient.names == ["suppression", "consent", "open_complaint", "length"]
    # A policy that has them keeps its own, in its own order.
    shipped = PolicySet.default()
    assert campaign_policy(shipped, active(contact_gap_days=0, require_consent=False)) is shipped
    names = campaign_policy(shipped, active(contact_gap_days=0)).names
    assert names[: names.index("open_complaint") + 1] == [
        "suppression",
        "consent",
        "consent",
        "open_complaint",
    ]


def active(**keys: object) -> ActiveCampaign:
    return ActiveCampaign(
        id=1,
        name="c",
        config=CampaignSettings.model_validate({"name": "c", **keys}),
        started_at=BEFORE,
        paused_at=None,
        paused_by=None,
    )


def test_only_the_delivery_date_backs_a_delivery_date_in_a_check_in(
    campaign_settings: Callable[..., Settings], engine: Engine
) -> None:
    settings = campaign_settings(campaign_toml(starts_on="2026-11-01"))
    # Ordered on the 1st, shipped on the 2nd, delivered on the 3rd (Rome).
    order_id = add_order(engine, email="jane@example.com", language="en")
    policy = PolicySet([DeliveryPromises(DeliveryPromisesOptions())])

    def judge(text: str) -> tuple[str, str | None]:
        with Session(engine) as session:
            campaign = find_campaign(session, settings, "after-delivery")
            order = session.get(Order, order_id)
            assert order is not None
            view = store.order_views(session, [order])[0]
            facts = gather(session, campaign, view, DUE, now=DUE, lookback=timedelta(days=30))
        email = CheckInEmail("Hello", text, None, "https://s", "https://u", {})
        decision = decide(
            campaign,
            facts,
            at=DUE,
            now=DUE,
            write=lambda: (email, None),
            language="en",
            policy=policy,
        )
        return decision.action, decision.reason

    assert judge("Your parcel arrived on 3 November 2026.") == ("send", None)
    for unbacked in ("1 November 2026", "2 November 2026"):
        assert judge(f"Your parcel arrived on {unbacked}.") == (
            "skip",
            "policy:delivery_promises",
        )
