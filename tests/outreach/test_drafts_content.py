"""What a draft says: only known facts, the customer's language, no code from mentions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from markupsafe import escape
from sqlalchemy.engine import Engine
from sqlmodel import select

from outreach.drafting import draft_follow_up, draft_for_mention
from storage.db import session_scope
from storage.models import AuditEvent, CareCase, Customer, Draft, Mention
from tests.factories import at
from tests.outreach.draft_factories import (
    add_alert,
    add_mention,
    add_order,
    approve,
    settings_for,
)

NOW = at(days=1)
MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|November|December|"
    "gennaio|febbraio|marzo|aprile|maggio|giugno|luglio|agosto|settembre|ottobre|novembre|dicembre"
)
SPOKEN_DATE = re.compile(rf"\b(\d{{1,2}})°? ({MONTHS}) (\d{{4}})\b")
PAYLOADS = [
    "{{ 7*7 }}",
    "{% for x in range(3) %}loop{% endfor %}",
    "{{ ''.__class__.__mro__ }}",
    "<script>alert('x')</script>",
    '"><img src=x onerror=alert(1)>',
]


def quoting_templates(tmp_path: Path) -> str:
    """Settings for e-mail replies from the user's own templates, which quote the post
    (the shipped ones only refer to it)."""
    folder = tmp_path / "own-templates" / "en"
    folder.mkdir(parents=True, exist_ok=True)
    for intent in ("complaint_delivery", "complaint_defect"):
        (folder / f"{intent}.email.txt.j2").write_text(
            '{% set subject = "About your post" %}\n{{ greeting }}\n\n'
            "You wrote: “{{ quote }}”\n\n{{ sign_off }}\n",
            encoding="utf-8",
        )
    return f'[outreach]\nreply_channel = "email"\ntemplates_dir = "{tmp_path / "own-templates"}"\n'


def draft(
    engine: Engine, tmp_path: Path, database_url: str, mention_id: int, body: str = ""
) -> Draft:
    settings = settings_for(tmp_path, database_url, body)
    with session_scope(engine) as session:
        made = draft_for_mention(session, settings, mention_id, now=NOW)
        assert made is not None
        return made


@pytest.mark.parametrize("payload", PAYLOADS)
def test_template_code_and_markup_in_a_mention_never_run_and_are_escaped_in_html(
    engine: Engine, database_url: str, tmp_path: Path, payload: str
) -> None:
    add_order(engine, name=payload, ordered_at=at(days=-5))
    mention_id = add_mention(
        engine, text=f"My Acme Tab 3 never arrived {payload} help", author_name=payload
    )
    shipped = draft(
        engine, tmp_path, database_url, mention_id, '[outreach]\nreply_channel = "email"\n'
    )
    # The shipped templates refer to the post without repeating it.
    assert payload not in shipped.text
    assert shipped.html is not None
    assert payload not in shipped.html
    with session_scope(engine) as session:
        session.delete(session.get(Draft, shipped.id))
    made = draft(engine, tmp_path, database_url, mention_id, quoting_templates(tmp_path))

    assert made.channel == "email"
    assert made.html is not None
    # Quoted as written: not evaluated, not looped, not introspected.
    assert payload in made.text
    assert "49" not in made.text
    assert "looploop" not in made.text
    assert "<class" not in made.text
    # In the HTML part it is text, never markup.
    assert str(escape(payload)) in made.html
    assert "<script" not in made.html
    assert "<img" not in made.html
    # A name that is not a name is not used to greet.
    assert made.text.startswith("Hi,\n")


@pytest.mark.parametrize("payload", PAYLOADS)
def test_public_replies_carry_nothing_of_the_mentions_text_or_odd_names(
    engine: Engine, database_url: str, tmp_path: Path, payload: str
) -> None:
    mention_id = add_mention(
        engine,
        text=f"Still waiting for my Acme Tab 3 {payload}",
        author_name=payload,
        handle=payload,
    )
    made = draft(engine, tmp_path, database_url, mention_id)
    assert made.public
    assert made.channel == "manual"
    assert payload not in made.text
    assert "{" not in made.text
    assert "<" not in made.text
    assert made.text.startswith("Hi, sorry your Acme Tab 3")


def test_control_characters_are_stripped_and_quotes_capped(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    add_order(engine, ordered_at=at(days=-5))
    text = "My Acme Tab 3 \x1b[2J\u202eis broken\x07 " + "and it keeps rebooting " * 40
    mention_id = add_mention(engine, text=text, issues=["defect"])
    made = draft(engine, tmp_path, database_url, mention_id, quoting_templates(tmp_path))
    assert not re.search("[\x00-\x08\x0b-\x1f\u202e]", made.text)
    quote = re.search("“(.*)”", made.text)
    assert quote is not None
    assert len(quote.group(1)) <= 280
    assert quote.group(1).endswith("…")


def test_a_reply_greets_by_name_and_names_the_product_and_the_issue(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    add_order(engine, ordered_at=at(days=-5), shipped_at=at(days=-3))
    mention_id = add_mention(engine)
    made = draft(engine, tmp_path, database_url, mention_id)
    assert made.intent == "complaint_delivery"
    assert made.language == "en"
    assert made.text.startswith("Hi Marco, sorry your Acme Tab 3 hasn't reached you")
    assert made.text.endswith("— The Acme team")
    assert made.recipient == "marco_b"
    assert made.customer_id is not None
    assert made.status == "pending"
    assert made.verdict == "allow"
    assert made.text == made.drafted_text
    assert not made.amended


def test_without_a_customer_the_author_is_greeted_by_name_else_by_handle(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    named = add_mention(engine, handle="gr_84", author_name="Giulia Rossi")
    anonymous = add_mention(engine, handle="gr_85")
    assert draft(engine, tmp_path, database_url, named).text.startswith("Hi Giulia,")
    assert draft(engine, tmp_path, database_url, anonymous).text.startswith("Hi @gr_85,")


@pytest.mark.parametrize(
    ("stages", "expected"),
    [
        ({}, None),
        (
            {"ordered_at": at(days=-5)},
            "Our records show your order has not been shipped yet.",
        ),
        (
            {"ordered_at": at(days=-5), "shipped_at": at(days=-3)},
            "Our records show your order was shipped on 29 October 2026; "
            "we have no delivery confirmation yet. We'll check with the carrier",
        ),
        (
            {"ordered_at": at(days=-5), "shipped_at": at(days=-3), "delivered_at": at(days=-1)},
            "Our records show your order was delivered on 31 October 2026. "
            "If it hasn't reached you",
        ),
    ],
)
def test_delivery_status_comes_only_from_the_order_data(
    engine: Engine,
    database_url: str,
    tmp_path: Path,
    stages: dict[str, object],
    expected: str | None,
) -> None:
    if stages:
        add_order(engine, **stages)  # type: ignore[arg-type]
    made = draft(engine, tmp_path, database_url, add_mention(engine))
    dates = {m.group(0) for m in SPOKEN_DATE.finditer(made.text)}
    if expected is None:
        assert dates == set()
        assert "with your order number and we'll find out where it is" in made.text
        return
    assert expected in made.text
    spoken = {f"{at.day} {at.strftime('%B')} {at.year}" for at in stages.values()}  # type: ignore[attr-defined]
    assert dates <= spoken, "every date in the draft is one of the order's"
    assert made.verdict == "allow", made.verdict_details


def test_dates_are_the_customers_calendar_days(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    # Shipped at 23:30 UTC on 29 October: already the 30th in Rome.
    add_order(engine, language="it", ordered_at=at(days=-5), shipped_at=at(days=-3, hours=14))
    mention_id = add_mention(engine, text="Il mio Acme Tab 3 non è ancora arrivato", language="it")
    made = draft(engine, tmp_path, database_url, mention_id)
    assert made.language == "it"
    assert "è stato spedito il 30 ottobre 2026" in made.text


def test_old_orders_and_other_customers_orders_are_never_mentioned(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    add_order(engine, ordered_at=at(days=-400), shipped_at=at(days=-398))
    add_order(
        engine,
        email="someone.else@example.com",
        handles=(("reddit", "someone_else"),),
        ordered_at=at(days=-5),
        shipped_at=at(days=-3),
    )
    made = draft(engine, tmp_path, database_url, add_mention(engine))
    assert not SPOKEN_DATE.search(made.text)


def test_the_reply_stays_consistent_with_an_earlier_contact(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    add_order(engine, ordered_at=at(days=-5), shipped_at=at(days=-3))
    first = draft(engine, tmp_path, database_url, add_mention(engine))
    assert "our message of" not in first.text
    approve(engine, first.id or 0, at(hours=5))
    later = draft(
        engine,
        tmp_path,
        database_url,
        add_mention(engine, text="Still no Acme Tab 3. Where is it?", published_at=at(hours=20)),
    )
    assert "This follows our message of 1 November 2026." in later.text


def test_rejected_drafts_are_not_earlier_contacts(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    first = draft(engine, tmp_path, database_url, add_mention(engine, handle="lucia"))
    with session_scope(engine) as session:
        row = session.get(Draft, first.id)
        assert row is not None
        row.status = "rejected"
        session.add(row)
    again = add_mention(engine, handle="lucia", text="Day 15 and still no sign of my Acme Tab 3.")
    later = draft(engine, tmp_path, database_url, again)
    assert "our message of" not in later.text


def test_an_open_defect_alert_on_the_product_is_acknowledged(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    add_alert(engine, status="acknowledged")
    made = draft(
        engine,
        tmp_path,
        database_url,
        add_mention(engine, text="My Acme Tab 3 battery drains overnight", issues=["defect"]),
    )
    assert made.intent == "known_issue"
    assert "we know about it and a fix is on its way" in made.text


def test_a_resolved_alert_or_one_on_another_product_is_not_a_known_issue(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    add_alert(engine, status="resolved")
    add_alert(engine, status="open", product="Acme Buds")
    made = draft(
        engine,
        tmp_path,
        database_url,
        add_mention(engine, text="My Acme Tab 3 battery drains overnight", issues=["defect"]),
    )
    assert made.intent == "complaint_defect"
    assert "We know about this issue" not in made.text


def test_replies_are_in_the_language_the_customer_wrote_in(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    italian = add_mention(
        engine, text="Il mio Acme Tab 3 non è arrivato", language="it", handle="m1"
    )
    german = add_mention(
        engine, text="Mein Acme Tab 3 ist nicht angekommen", language="de", handle="m2"
    )
    made_it = draft(engine, tmp_path, database_url, italian)
    assert made_it.language == "it"
    assert made_it.template == "it/complaint_delivery.public.txt.j2"
    assert made_it.text.startswith("Ciao @m1, ci dispiace")
    # No German templates: the brand's default language, and the policy says so.
    made_de = draft(engine, tmp_path, database_url, german)
    assert made_de.language == "en"
    assert "language" in {f["rule"] for f in made_de.verdict_details}
    assert made_de.verdict in ("escalate", "block")


def test_a_safety_risk_is_escalated_with_safety_advice(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    mention_id = add_mention(
        engine,
        text="Il caricatore dell'Acme Tab 3 puzza di bruciato!",
        language="it",
        issues=["defect"],
        urgency=["safety"],
    )
    made = draft(engine, tmp_path, database_url, mention_id)
    assert made.status == "escalated"
    assert made.verdict == "escalate"
    assert "human_topics" in (made.reason or "")
    assert "Per sicurezza, non usarlo per ora." in made.text


def test_a_customer_who_asked_not_to_be_contacted_gets_a_blocked_draft(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    add_order(engine, do_not_contact=True, ordered_at=at(days=-5))
    made = draft(engine, tmp_path, database_url, add_mention(engine))
    assert made.verdict == "block"
    assert made.status == "rejected"
    assert made.decided_by == "policy"
    assert made.reason


def test_an_amendment_by_the_policy_is_stored_as_the_drafts_text(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    own = tmp_path / "templates" / "en"
    own.mkdir(parents=True)
    (own / "complaint_delivery.public.txt.j2").write_text(
        "{{ greeting }} write to care@acme.example and we'll check.\n\n— {{ sign_off }}\n"
    )
    made = draft(
        engine,
        tmp_path,
        database_url,
        add_mention(engine),
        f'[outreach]\ntemplates_dir = "{tmp_path / "templates"}"\n',
    )
    assert made.verdict == "amend"
    assert made.amended
    assert "care@acme.example" not in made.text
    assert made.drafted_text == made.text
    assert "personal_data" in {f["rule"] for f in made.verdict_details}


def test_e_mail_replies_carry_the_order_number_public_ones_never(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    add_order(engine, external_id="A-7781", ordered_at=at(days=-5), shipped_at=at(days=-3))
    public = draft(engine, tmp_path, database_url, add_mention(engine, handle="marco_b"))
    assert "A-7781" not in public.text
    with session_scope(engine) as session:
        session.delete(session.get(Draft, public.id))
        session.delete(session.exec(select(CareCase)).one())
    private = draft(
        engine,
        tmp_path,
        database_url,
        add_mention(engine, handle="marco_b"),
        '[outreach]\nreply_channel = "email"\n',
    )
    assert private.channel == "email"
    assert not private.public
    assert private.recipient == "marco.bellini@example.it"
    assert private.subject == "About your order A-7781"
    assert "your order A-7781 from 27 October 2026 was shipped on 29 October 2026" in private.text
    assert private.html is not None
    assert "A-7781" in private.html


def test_a_follow_up_e_mail_is_drafted_once_in_the_customers_language(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    add_order(engine, language="it-IT", ordered_at=at(days=-5), delivered_at=at(days=-1))
    mention_id = add_mention(engine, text="My Acme Tab 3 arrived broken", issues=["defect"])
    first = draft(engine, tmp_path, database_url, mention_id)
    approve(engine, first.id or 0, at(hours=2))
    settings = settings_for(tmp_path, database_url)
    with session_scope(engine) as session:
        customer_id = session.exec(select(Customer.id)).one()
        assert customer_id is not None
        follow = draft_follow_up(
            session, settings, customer_id=customer_id, mention_id=mention_id, now=NOW
        )
        assert follow is not None
        again = draft_follow_up(
            session, settings, customer_id=customer_id, mention_id=mention_id, now=NOW
        )
        assert again is not None
        assert again.id == follow.id
    assert follow.intent == "follow_up"
    assert follow.channel == "email"
    assert follow.language == "it"
    assert follow.subject is not None
    assert follow.subject.startswith("Aggiornamento sull'ordine n. ")
    assert "facciamo seguito al nostro messaggio del 1° novembre 2026" in follow.text
    assert "risulta consegnato il 31 ottobre 2026" in follow.text
    assert follow.html is not None
    assert "<p" in follow.html


def test_a_customer_without_e_mail_gets_no_follow_up(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    with session_scope(engine) as session:
        customer = Customer(name="Nobody", email=None)
        session.add(customer)
        session.flush()
        customer_id = customer.id or 0
        settings = settings_for(tmp_path, database_url)
        assert draft_follow_up(session, settings, customer_id=customer_id, now=NOW) is None


def test_drafting_twice_returns_the_same_draft_and_leaves_one_audit_event(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    mention_id = add_mention(engine)
    first = draft(engine, tmp_path, database_url, mention_id)
    second = draft(engine, tmp_path, database_url, mention_id)
    assert first.id == second.id
    with session_scope(engine) as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "draft.created")).all()
        cases = session.exec(select(CareCase)).all()
        mention = session.get(Mention, mention_id)
        assert mention is not None
    assert [e.subject_id for e in events] == [str(first.id)]
    assert [(c.mention_id, c.opened_at) for c in cases] == [(mention_id, mention.published_at)]


def test_neutral_mentions_get_no_draft(engine: Engine, database_url: str, tmp_path: Path) -> None:
    mention_id = add_mention(
        engine, text="The Acme Tab 3 launches today", complaint=False, issues=["other"]
    )
    settings = settings_for(tmp_path, database_url)
    with session_scope(engine) as session:
        assert draft_for_mention(session, settings, mention_id, now=NOW) is None
        assert draft_for_mention(session, settings, 999_999, now=NOW) is None
