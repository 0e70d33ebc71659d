"""Drafting from history: the closest approved, unedited reply to a similar mention (same
intent and language), re-filled with this customer's facts, never the earlier one's."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from ascolto.web.app import create_app
from outreach.approval import approval_report
from outreach.drafting import draft_for_mention
from storage.db import session_scope
from storage.models import Draft
from tests.factories import at
from tests.outreach.draft_factories import add_mention, add_order, approve, settings_for
from tests.web.conftest import add_user, sign_in

NOW = at(days=1)
BODY = (
    '[outreach]\nenabled = true\nreply_channel = "email"\n\n'
    '[drafts]\nsources = ["history", "template"]\n'
)
GIULIA = ("Giulia", "Rossi", "giulia.rossi@example.it", "AC-40001", "giulia_r")
CLOSE = [0.98, 0.12, 0.05, 0.0]
FAR = [0.0, 0.0, 1.0, 0.3]


def draft(engine: Engine, tmp_path: Path, database_url: str, mention_id: int) -> Draft:
    settings = settings_for(tmp_path, database_url, BODY)
    with session_scope(engine) as session:
        made = draft_for_mention(session, settings, mention_id, now=NOW)
        assert made is not None
        session.expunge(made)
        return made


def past_reply(
    engine: Engine, tmp_path: Path, database_url: str, body: str | None, *, edited: bool = False
) -> Draft:
    """Giulia's complaint, answered by a reply an agent approved (unedited unless `edited`).

    `body` replaces the paragraphs between greeting and sign-off, as an earlier version of
    the templates wrote them; None keeps the template's.
    """
    add_order(
        engine,
        email=GIULIA[2],
        name="Giulia Rossi",
        handles=(("reddit", GIULIA[4]),),
        external_id=GIULIA[3],
        ordered_at=at(days=-9),
        shipped_at=at(days=-7),
    )
    mention_id = add_mention(
        engine,
        text="Ordered my Acme Tab 3 ten days ago and it still has not arrived",
        handle=GIULIA[4],
        embedding=[1.0, 0.1, 0.0, 0.0],
    )
    made = draft(engine, tmp_path, database_url, mention_id)
    assert made.source == "template"
    text = made.text
    if body is not None:
        lines = text.split("\n")
        text = f"{lines[0]}\n\n{body}\n\n{lines[-1]}"
    with session_scope(engine) as session:
        row = session.get(Draft, made.id)
        assert row is not None
        row.drafted_text = text
        row.text = text + (" Have a good day." if edited else "")
        session.add(row)
    approve(engine, made.id or 0, at(days=1, hours=1))
    return made


def marco(engine: Engine, embedding: list[float] = CLOSE, *, delivered: bool = False) -> int:
    stages = {"delivered_at": at(days=-2)} if delivered else {}
    add_order(
        engine,
        external_id="AC-77001",
        ordered_at=at(days=-9),
        shipped_at=at(days=-7),
        **stages,
    )
    return add_mention(
        engine,
        text="My Acme Tab 3 still hasn't arrived, two weeks after I ordered it!",
        embedding=embedding,
    )


def test_the_closest_approved_reply_is_refilled_with_this_customers_facts(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    past = past_reply(
        engine,
        tmp_path,
        database_url,
        "Sorry for the wait on your Acme Tab 3. Our courier team is tracing order AC-40001 "
        "and we'll write to you within 24 hours.",
    )
    made = draft(engine, tmp_path, database_url, marco(engine))

    assert made.source == "history", made.source_details
    assert made.source_details["past_draft_id"] == past.id
    assert made.source_details["similarity"] >= 0.9
    assert made.text.startswith("Hi Marco,")
    assert "Our courier team is tracing order AC-77001 and we'll write to you" in made.text
    for earlier in GIULIA:
        assert earlier.lower() not in made.text.lower()
    # Checked like any draft: the policy's verdict, and the lint found nothing to fall back on.
    assert made.verdict in ("allow", "amend")
    assert made.verdict_details is not None
    # The agent sees where the draft came from.
    add_user(engine, "tom", "agent")
    with TestClient(create_app(settings_for(tmp_path, database_url, BODY), engine)) as client:
        sign_in(client, "tom")
        page = client.get(f"/queue/{made.id}")
    assert page.status_code == 200, page.text
    assert "from an earlier approved reply" in page.text
    # Approval without edit is measured per source too.
    approve(engine, made.id or 0, at(days=1, hours=2))
    with session_scope(engine) as session:
        report = approval_report(session, since=at(days=-1), until=at(days=2))
    by_source = {f.group: f for f in report.by["source"]}
    assert by_source["history"].unedited == 1
    assert by_source["template"].unedited == 1


@pytest.mark.parametrize(
    "leak",
    [
        "If it helps, Giulia, call us back on 333 123 4567.",
        "We also wrote to giulia.rossi@example.it about it.",
        "Your earlier order #40002 arrived on 3 November 2026.",
        "Thanks again, Rossi family.",
    ],
    ids=["name-and-phone", "email", "other-order-and-date", "surname"],
)
def test_an_earlier_customers_data_in_an_approved_reply_is_never_copied(
    engine: Engine, database_url: str, tmp_path: Path, leak: str
) -> None:
    past_reply(
        engine,
        tmp_path,
        database_url,
        "Sorry for the wait on your Acme Tab 3. Our courier team is tracing order AC-40001 "
        f"and we'll write to you within 24 hours. {leak}",
    )
    made = draft(engine, tmp_path, database_url, marco(engine))

    assert made.source == "template"
    reasons = made.source_details["gave_way"][0]["reason"]
    assert (
        "earlier customer" in reasons
        or "not of this customer" in reasons
        or "do not give" in reasons
    )
    for earlier in (*GIULIA, "333 123 4567", "40002", "3 November 2026"):
        assert earlier.lower() not in made.text.lower()


def test_an_edited_reply_or_a_dissimilar_mention_lends_nothing(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    past_reply(engine, tmp_path, database_url, None, edited=True)
    made = draft(engine, tmp_path, database_url, marco(engine))
    assert made.source == "template"
    gave_way = made.source_details["gave_way"][0]
    assert gave_way["reason"] == "no approved, unedited reply to a similar mention"
    assert gave_way["compared"] == 0


def test_the_earlier_customers_handle_becomes_this_ones(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    past_reply(
        engine,
        tmp_path,
        database_url,
        "Sorry for the wait on your Acme Tab 3, @giulia_r. Our courier team is tracing order "
        "AC-40001 and we'll write to you within 24 hours.",
    )
    made = draft(engine, tmp_path, database_url, marco(engine))
    assert made.source == "history", made.source_details
    assert "Acme Tab 3, @marco_b." in made.text
    assert "giulia" not in made.text.lower()


def test_a_reply_to_a_case_of_another_shape_is_not_reused(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    # Giulia's order was shipped; Marco's was delivered: "on its way" would be untrue.
    past_reply(engine, tmp_path, database_url, None)
    made = draft(engine, tmp_path, database_url, marco(engine, delivered=True))
    assert made.source == "template"
    reason = made.source_details["gave_way"][0]["reason"]
    assert "the earlier case differs: order status, order stages" in reason


def test_a_reply_to_a_mention_far_in_meaning_is_not_reused(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    past_reply(engine, tmp_path, database_url, None)
    made = draft(engine, tmp_path, database_url, marco(engine, FAR))
    assert made.source == "template"
    gave_way = made.source_details["gave_way"][0]
    assert gave_way["compared"] == 1
    assert gave_way["best_similarity"] < 0.5


def test_a_mention_without_an_embedding_falls_back_to_the_template(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    add_order(engine, ordered_at=at(days=-9))
    mention_id = add_mention(engine)
    made = draft(engine, tmp_path, database_url, mention_id)
    assert made.source == "template"
    assert made.source_details["gave_way"][0]["reason"] == "this mention has no embedding"
