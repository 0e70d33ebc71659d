"""The whole way of a reply: mention → labels → draft → verdict → approval → outbox → SMTP.

Every step is the service's own code: the real classifier labels the mention, the
scheduled drafting step writes the draft and the policy judges it, the review queue
approves it, and the outbox delivers it to a real SMTP server (aiosmtpd) on 127.0.0.1.
The second test kills the delivering process after the server has the message and before
its answer, and checks the message is never sent again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ascolto.database import prepare
from ascolto.review.queue import Reviewer, Reviewing
from ascolto.settings import Settings
from classify.classifying import classify_pending
from outreach.drafting import draft_pending
from outreach.outbox import deliver_due
from storage.db import session_scope
from storage.mentions import NewMention, ingest
from storage.models import CareCase, Draft, OutboxMessage
from tests.factories import at
from tests.outreach.delivery import delivery_toml, later
from tests.outreach.draft_factories import add_order, add_source, settings_for
from tests.smtpserver import SmtpServer, smtp_server

# A weekday morning in Rome: no quiet hours hold the e-mail back.
NOW = at(days=1)
AGENT = Reviewer("tom", "agent")
COMPLAINT = (
    "My Acme Tab 3 arrived with a cracked screen and nobody answers my emails. Really disappointed."
)
PRODUCTS = '[[products]]\nname = "Acme Tab 3"\naliases = ["Tab 3"]\nskus = ["AT3-128"]\n'


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def settings(tmp_path: Path, database_url: str, smtp: SmtpServer) -> Settings:
    body = '[outreach]\nenabled = true\nreply_channel = "email"\n\n' + PRODUCTS
    return settings_for(tmp_path, database_url, body + delivery_toml(smtp_port=smtp.port))


@pytest.fixture
def engine(settings: Settings) -> Engine:
    return prepare(settings)


def approved_complaint(engine: Engine, settings: Settings, classifier: Any) -> Draft:
    """A customer's complaint, classified, drafted and approved by an agent."""
    add_order(engine, ordered_at=at(days=-6), shipped_at=at(days=-4), delivered_at=at(days=-1))
    source_id = add_source(engine, "reddit")
    with session_scope(engine) as session:
        ingest(
            session,
            source_id=source_id,
            items=[
                NewMention(
                    external_id="t3_cracked",
                    text=COMPLAINT,
                    url="https://www.reddit.com/r/tablets/comments/cracked",
                    author_handle="marco_b",
                    author_platform="reddit",
                    published_at=NOW - timedelta(hours=3),
                )
            ],
        )
    labelled = classify_pending(settings, engine, classifier=classifier)
    assert (labelled.ok, labelled.classified) == (True, 1), labelled.error

    drafting = draft_pending(settings, engine, now=NOW)
    assert (drafting.ok, drafting.drafted) == (True, 1), drafting.error
    with Session(engine) as session:
        draft = session.exec(select(Draft)).one()
    assert draft.status == "pending"
    assert draft.verdict in ("allow", "amend"), draft.verdict_details
    assert (draft.channel, draft.recipient, draft.language) == (
        "email",
        "marco.bellini@example.it",
        "en",
    )
    assert draft.intent.startswith("complaint_")

    with session_scope(engine) as session:
        decision = Reviewing(settings).approve(session, draft.id or 0, reviewer=AGENT, now=NOW)
        assert decision.done, decision.message
        assert decision.outbox is not None
    with Session(engine) as session:
        approved = session.get(Draft, draft.id)
        assert approved is not None
        assert approved.status == "approved"
        return approved


def outbox(engine: Engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage)).all())


def test_an_approved_draft_reaches_the_smtp_server_exactly_once(
    settings: Settings, engine: Engine, smtp: SmtpServer, shared_classifier: Any
) -> None:
    draft = approved_complaint(engine, settings, shared_classifier)

    first = deliver_due(settings, engine, now=later())
    assert (first.sent, first.problems) == (1, [])
    # Another pass, and a second approval (a double click), send nothing more.
    with session_scope(engine) as session:
        again = Reviewing(settings).approve(session, draft.id or 0, reviewer=AGENT)
        assert not again.done
    assert deliver_due(settings, engine, now=later(hours=1)).sent == 0

    assert len(smtp.received) == 1
    mail = smtp.received[0].message
    assert smtp.received[0].rcpt_tos == ["marco.bellini@example.it"]
    assert mail["Subject"] == draft.subject
    assert mail["List-Unsubscribe"]
    text = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert text is not None
    assert html is not None
    body = text.get_content().replace("\r\n", "\n")
    assert body.strip() == draft.text.strip()
    assert body.startswith("Hi Marco,")
    assert "Acme Tab 3" in body
    assert "The Acme team" in body

    [message] = outbox(engine)
    assert (message.key, message.status, message.draft_id) == (
        f"draft:{draft.id}",
        "sent",
        draft.id,
    )
    with Session(engine) as session:
        stored = session.get(Draft, draft.id)
        assert stored is not None
        assert stored.status == "sent"
        case = session.exec(select(CareCase)).one()
        assert case.first_response_at == NOW
        assert case.first_response_at - case.opened_at == timedelta(hours=3)


DELIVER = """
import sys
from ascolto.database import engine_for
from ascolto.settings import load_settings
from outreach.outbox import deliver_due

settings = load_settings(sys.argv[1])
deliver_due(settings, engine_for(settings))
"""


def test_a_crash_in_the_middle_of_delivery_never_sends_twice(
    settings: Settings,
    engine: Engine,
    smtp: SmtpServer,
    shared_classifier: Any,
    tmp_path: Path,
) -> None:
    draft = approved_complaint(engine, settings, shared_classifier)
    # The server keeps the message but holds back its answer: the sender is killed
    # after handing the message over and before it could record the outcome.
    smtp.behaviour.hold = threading.Event()
    script = tmp_path / "deliver.py"
    script.write_text(DELIVER, encoding="utf-8")
    sender = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "settings.toml")],
        cwd=tmp_path,
        env=dict(os.environ),
    )
    try:
        assert smtp.behaviour.arrived.wait(60), "the message never reached the server"
        [claimed] = outbox(engine)
        assert claimed.status == "sending"
    finally:
        sender.send_signal(signal.SIGKILL)
        sender.wait(30)
        smtp.behaviour.hold.set()

    after = deliver_due(settings, engine, now=later(hours=1))
    assert (after.sent, after.uncertain) == (0, 1)
    [message] = outbox(engine)
    assert message.status == "uncertain"
    assert f"ascolto outbox retry {message.id} --force" in (message.last_error or "")
    # Later passes leave it alone: only a person who checked may send it again.
    assert deliver_due(settings, engine, now=later(days=2)).sent == 0
    assert len(smtp.received) == 1
    with Session(engine) as session:
        stored = session.get(Draft, draft.id)
        assert stored is not None
        assert stored.status == "approved"
