"""Two customers with everything ascolto keeps about people: orders, linked handles,
complaints clustered into a defect alert, drafts approved into the outbox, a check-in with
its survey answer, an unsubscribe, a quarantined item and audit events that name them.

Rows are written the way the service writes them (ingest, labels with embeddings, defect
detection, drafting, approval, campaign storage) so erasure meets real data.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, select

from ascolto.review.queue import Reviewer, Reviewing
from ascolto.settings import Settings
from outreach.drafting import draft_pending
from storage import audit
from storage.campaigns import add_checkin, add_unsubscribe, sync_campaign
from storage.db import session_scope
from storage.models import (
    CheckIn,
    Customer,
    Draft,
    LabelledExample,
    Mention,
    Order,
    QuarantinedItem,
    Source,
    SurveyAnswer,
)
from tests.defects.conftest import World, detect
from tests.factories import at
from tests.outreach.draft_factories import add_order

AGENT = Reviewer("tom", "agent")
PRODUCTS = '[[products]]\nname = "Acme Tab 3"\nskus = ["AT3-128"]\nlaunched_on = "2026-11-01"\n\n'
SETTINGS = '[outreach]\nenabled = true\nreply_channel = "email"\n\n' + PRODUCTS


@dataclass
class Person:
    email: str
    name: str
    handle: str
    texts: list[str] = field(default_factory=list)
    mention_ids: list[int] = field(default_factory=list)
    customer_id: int = 0

    def needles(self) -> list[str]:
        return [self.email, self.handle, self.name, *self.texts]


NICCOLO = Person("niccolo.ferri@example.it", "Niccolò Ferri", "nicco_f")
ANNA = Person("anna.verdi@example.it", "Anna Verdi", "anna_v")


def build(settings: Settings, engine: Engine) -> tuple[Person, Person]:
    """Store the world; returns (the person to erase, another who must stay)."""
    erased = Person(NICCOLO.email, NICCOLO.name, NICCOLO.handle)
    kept = Person(ANNA.email, ANNA.name, ANNA.handle)
    world = World(engine)
    for person in (erased, kept):
        add_order(
            engine,
            email=person.email,
            name=person.name,
            handles=(("forum", person.handle),),
            ordered_at=at(days=-6),
            delivered_at=at(days=-1),
        )
    # An outbreak of battery complaints: two by each person, four by others.
    authors: list[Person | None] = [erased, kept, erased, kept, None, None, None, None]
    for i, author in enumerate(authors):
        words = f"battery of my Acme Tab 3 dies overnight, complaint {i} from " + (
            author.name if author else f"someone {i}"
        )
        mention_id = world.complaint(
            words,
            theme=0,
            author=author.handle if author else None,
            source="forum",
            when=at(hours=10 + i),
        )
        if author:
            author.mention_ids.append(mention_id)
            with Session(engine) as session:
                stored = session.get(Mention, mention_id)
                assert stored is not None
                author.texts.append(stored.text)
    detect(settings, engine, at(hours=20))
    assert world.alerts(), "the outbreak should raise an alert"

    with session_scope(engine) as session:
        for person in (erased, kept):
            customer = session.exec(select(Customer).where(Customer.email == person.email)).one()
            person.customer_id = customer.id or 0
            session.add(
                LabelledExample(
                    text=person.texts[0],
                    task="sentiment",
                    label={"sentiment": "negative"},
                    mention_id=person.mention_ids[0],
                    created_by="tom",
                )
            )
            audit.record(
                session,
                actor="tom",
                action="customer.noted",
                subject_type="customer",
                subject_id=person.customer_id,
                details={"email": person.email, "said": person.texts[1]},
            )
        forum = session.exec(select(Source).where(Source.name == "forum")).one()
        session.add(
            QuarantinedItem(
                source_id=forum.id or 0,
                external_id="bad-1",
                reason="no date",
                payload=f'{{"author": "{erased.handle}", "text": "{erased.texts[0]}"}}',
            )
        )

    report = draft_pending(settings, engine, now=at(days=1))
    assert report.ok, report.error
    with session_scope(engine) as session:
        for draft in session.exec(select(Draft).where(Draft.status == "pending")).all():
            Reviewing(settings).approve(session, draft.id or 0, reviewer=AGENT, now=at(days=1))

    with session_scope(engine) as session:
        campaign = sync_campaign(session, name="after-delivery", definition={}, origin="settings")
        for person in (erased, kept):
            order = session.exec(select(Order).where(Order.customer_id == person.customer_id)).one()
            checkin = add_checkin(
                session,
                CheckIn(
                    campaign_id=campaign.id or 0,
                    order_id=order.id or 0,
                    customer_id=person.customer_id,
                    status="answered",
                    trigger_at=at(days=-1),
                    due_at=at(days=1),
                    recipient=person.email,
                ),
            )
            assert checkin is not None
            comment = f"The screen flickers, {person.name} says"
            person.texts.append(comment)
            session.add(
                SurveyAnswer(
                    checkin_id=checkin.id or 0,
                    campaign_id=campaign.id or 0,
                    customer_id=person.customer_id,
                    csat=2,
                    nps=3,
                    comment=comment,
                    answered_at=at(days=2),
                    updated_at=at(days=2),
                )
            )
        add_unsubscribe(session, email=erased.email, via="link", checkin_id=None)
    return erased, kept


def dump(engine: Engine) -> str:
    """The whole database as text: SQLite's iterdump, or pg_dump of the test's schema."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        with sqlite3.connect(str(url.database)) as conn:
            return "\n".join(conn.iterdump())
    options = dict(make_url(url.render_as_string(hide_password=False)).query).get("options", "")
    schema = re.search(r"search_path=(\S+)", str(options))
    assert schema is not None, options
    result = subprocess.run(
        [
            "pg_dump",
            "-h",
            url.host or "127.0.0.1",
            "-p",
            str(url.port or 5432),
            "-U",
            url.username or "postgres",
            "-d",
            url.database or "test",
            "-n",
            schema.group(1),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return result.stdout


def traces(text: str, needles: list[str]) -> list[str]:
    """The needles found in `text`, as written or as JSON escapes them."""
    import json

    found = []
    for needle in needles:
        forms = {needle, json.dumps(needle)[1:-1], needle.lower()}
        if any(form in text for form in forms):
            found.append(needle)
    return found


def count_rows(engine: Engine, model: Any) -> int:
    with Session(engine) as session:
        return len(session.exec(select(model)).all())


def days(n: float) -> timedelta:
    return timedelta(days=n)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
