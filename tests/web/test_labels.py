"""Correcting labels over HTTP: the mention's page, the form on the draft page and the
mentions list, CSRF, roles, bad values answered with a 4xx that says why, and undo."""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ascolto.database import prepare
from ascolto.settings import Settings, load_settings
from ascolto.web.app import create_app
from outreach.drafting import draft_for_mention
from storage.classifications import get_labels, list_labelled_examples
from storage.db import session_scope
from storage.models import AuditEvent, Classification, Draft
from tests.conftest import write_settings
from tests.factories import at
from tests.outreach.draft_factories import PRODUCT, add_mention
from tests.web.conftest import add_user, csrf_token, sign_in

NOW = at(days=1)


@pytest.fixture
def settings(tmp_path: Path, sqlite_url: str) -> Settings:
    body = f'[outreach]\nenabled = true\n\n[[products]]\nname = "{PRODUCT}"\n\n'
    body += '[[products]]\nname = "Acme Phone"\n'
    path = write_settings(tmp_path / "settings.toml", sqlite_url, body)
    return load_settings(path, web={"enabled": False})


@pytest.fixture
def engine(settings: Settings) -> Engine:
    engine = prepare(settings)
    for name, role in (("tom", "agent"), ("pat", "product")):
        add_user(engine, name, role)
    return engine


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine)) as test_client:
        yield test_client


def labels(engine: Engine, mention_id: int) -> Classification:
    with Session(engine) as session:
        found = get_labels(session, mention_id=mention_id)
        assert found is not None
        return found


def form(token: str, **fields: Any) -> dict[str, Any]:
    """The correction form as the page sends it: every label, with today's values."""
    values: dict[str, Any] = {
        "csrf_token": token,
        "fields": ["issue", "urgency", "product"],
        "sentiment": "negative",
        "complaint": "yes",
        "issue": ["delivery"],
        "urgency": [],
        "product": [PRODUCT],
        "language": "en",
    }
    values.update(fields)
    return values


def test_correct_from_the_mentions_page_and_see_who_did(client: TestClient, engine: Engine) -> None:
    mention_id = add_mention(engine)
    sign_in(client, "tom")
    listed = client.get("/mentions")
    assert f'href="/mentions/{mention_id}"' in listed.text
    page = client.get(f"/mentions/{mention_id}")
    assert page.status_code == 200
    assert f'action="/mentions/{mention_id}/labels"' in page.text
    token = csrf_token(page.text)

    saved = client.post(
        f"/mentions/{mention_id}/labels",
        data=form(token, complaint="no", issue=["question"], language="it", note="a question"),
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == f"/mentions/{mention_id}"
    row = labels(engine, mention_id)
    assert (row.complaint, row.issues, row.language, row.sentiment) == (
        False,
        ["question"],
        "it",
        "negative",
    )
    # Only what changed is a correction; the sentiment stays the model's.
    assert set(row.corrected) == {"complaint", "issues", "language"}

    page = client.get(f"/mentions/{mention_id}")
    assert page.text.count("corrected by tom") == 3
    assert "a question" in page.text
    listed = client.get("/mentions")
    assert "corrected by tom" in listed.text
    with Session(engine) as session:
        (event,) = session.exec(
            select(AuditEvent).where(AuditEvent.action == "labels.corrected")
        ).all()
    assert (event.actor, event.subject_id) == ("tom", str(mention_id))

    # Undo from the page: the model's label comes back.
    language = row.corrected["language"]["example_id"]
    assert f'action="/mentions/{mention_id}/corrections/{language}/undo"' in page.text
    undone = client.post(
        f"/mentions/{mention_id}/corrections/{language}/undo",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert undone.status_code == 303
    assert labels(engine, mention_id).language == "en"
    again = client.post(
        f"/mentions/{mention_id}/corrections/{language}/undo", data={"csrf_token": token}
    )
    assert again.status_code == 409
    assert "undone or replaced" in again.text


def test_correct_from_the_draft_page_withdraws_a_draft_that_no_longer_fits(
    client: TestClient, engine: Engine, settings: Settings
) -> None:
    mention_id = add_mention(engine)
    with session_scope(engine) as session:
        draft = draft_for_mention(session, settings, mention_id, now=NOW)
        assert draft is not None
        session.flush()
        draft_id = draft.id
    sign_in(client, "tom")
    page = client.get(f"/queue/{draft_id}")
    assert f'action="/mentions/{mention_id}/labels"' in page.text
    assert f'name="back" value="/queue/{draft_id}"' in page.text

    saved = client.post(
        f"/mentions/{mention_id}/labels",
        data=form(csrf_token(page.text), complaint="no", issue=[], back=f"/queue/{draft_id}"),
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == f"/queue/{draft_id}"
    page = client.get(f"/queue/{draft_id}")
    assert "corrected by tom" in page.text
    assert '<span class="status">withdrawn</span>' in page.text
    with Session(engine) as session:
        found = session.get(Draft, draft_id)
        assert found is not None
        assert found.status == "withdrawn"
    assert f'data-draft="{draft_id}"' not in client.get("/queue").text


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"sentiment": "angry"}, 422, "sentiment 'angry': expected one of negative"),
        ({"complaint": "maybe"}, 422, "complaint 'maybe': expected yes or no"),
        ({"issue": ["shipping"]}, 422, "issue 'shipping': expected some of defect"),
        ({"urgency": ["now"]}, 422, "urgency 'now': expected some of safety"),
        ({"language": "english"}, 422, "expected a two-letter ISO 639-1 code"),
        ({"product": ["Acme Tab 4"]}, 422, "product 'Acme Tab 4': expected some of Acme Tab 3"),
        ({}, 422, "nothing to correct"),
    ],
)
def test_bad_values_are_a_4xx_that_says_why(
    client: TestClient, engine: Engine, fields: dict[str, Any], status: int, message: str
) -> None:
    mention_id = add_mention(engine)
    token = sign_in(client, "tom")
    answer = client.post(f"/mentions/{mention_id}/labels", data=form(token, **fields))
    assert answer.status_code == status, answer.text
    assert message in html.unescape(answer.text)
    with Session(engine) as session:
        assert list_labelled_examples(session) == []


def test_unknown_mentions_csrf_and_roles(client: TestClient, engine: Engine) -> None:
    mention_id = add_mention(engine)
    token = sign_in(client, "tom")
    missing = client.post("/mentions/987654/labels", data=form(token, sentiment="positive"))
    assert missing.status_code == 404
    assert "no mention with id 987654" in missing.text
    assert client.get("/mentions/987654").status_code == 404

    forged = client.post(
        f"/mentions/{mention_id}/labels", data=form("not-the-token", sentiment="positive")
    )
    assert forged.status_code == 403
    assert labels(engine, mention_id).sentiment == "negative"

    client.cookies.clear()
    token = sign_in(client, "pat")
    page = client.get(f"/mentions/{mention_id}")
    assert page.status_code == 200
    assert "/labels" not in page.text  # no form for a role that may not correct
    refused = client.post(f"/mentions/{mention_id}/labels", data=form(token, sentiment="positive"))
    assert refused.status_code == 403
    assert labels(engine, mention_id).sentiment == "negative"
