"""Survey and unsubscribe pages: signed links, one answer per link, no JavaScript."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ascolto.settings import Settings
from ascolto.web.app import create_app
from outreach.campaigns import run_campaigns
from outreach.campaigns.links import make_survey_token
from storage.models import AuditEvent, CheckIn, SurveyAnswer, Unsubscribe
from tests.campaigns.conftest import (
    add_order,
    campaign_toml,
    checkin_of,
    survey_path,
    unsubscribe_path,
)

DUE = datetime(2026, 11, 6, 14, 0, tzinfo=UTC)
REVIEWS = "https://reviews.example/acme"


@dataclass
class Sent:
    settings: Settings
    engine: Engine
    client: TestClient
    italian: int
    english: int
    skipped: int

    def set_clock(self, at: datetime) -> None:
        self.client.app.state.clock = lambda: at  # type: ignore[attr-defined]


@pytest.fixture
def sent(campaign_settings: Callable[..., Settings], engine: Engine) -> Iterator[Sent]:
    settings = campaign_settings(
        campaign_toml(starts_on="2026-11-01", survey=["csat", "nps"], review_url=REVIEWS)
    )
    italian = add_order(engine, email="marco@example.com")
    english = add_order(engine, email="jane@example.com", language="en-GB", name="Jane Doe")
    skipped = add_order(engine, email="no@example.com", consent=False)
    assert run_campaigns(settings, engine, now=DUE).sent_total == 2
    with TestClient(create_app(settings, engine)) as client:
        found = Sent(settings, engine, client, italian, english, skipped)
        found.set_clock(DUE + timedelta(days=1))
        yield found


def answers(engine: Engine) -> list[SurveyAnswer]:
    with Session(engine) as session:
        return list(session.exec(select(SurveyAnswer)).all())


def test_the_survey_page_is_a_plain_form_in_the_customers_language(sent: Sent) -> None:
    page = sent.client.get(survey_path(sent.engine, sent.italian))
    assert page.status_code == 200
    assert '<html lang="it">' in page.text
    assert "Quanto sei soddisfatto del tuo ordine?" in page.text
    assert "<script" not in page.text.lower()
    assert '<form method="post"' in page.text
    assert page.text.count('type="radio" name="csat"') == 5
    assert page.text.count('type="radio" name="nps"') == 11
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"

    english = sent.client.get(survey_path(sent.engine, sent.english))
    assert '<html lang="en">' in english.text
    assert "How likely are you to recommend Acme" in english.text


def test_a_score_clicked_in_the_email_is_preselected_not_stored(sent: Sent) -> None:
    page = sent.client.get(survey_path(sent.engine, sent.italian) + "?csat=2")
    assert 'name="csat" value="2" checked' in page.text
    # Mail scanners follow links: a GET never records an answer.
    assert answers(sent.engine) == []


def test_one_answer_per_link_a_second_submission_changes_it(sent: Sent) -> None:
    path = survey_path(sent.engine, sent.italian)
    first = sent.client.post(
        path, data={"csat": "2", "nps": "3", "comment": "Lo schermo"}, follow_redirects=False
    )
    assert first.status_code == 303
    assert first.headers["location"] == path + "?saved=1"
    thanks = sent.client.get(first.headers["location"])
    assert "Grazie per la tua risposta!" in thanks.text
    assert REVIEWS not in thanks.text  # a detractor is not asked for a public review
    assert 'name="nps" value="3" checked' in thanks.text
    assert "Lo schermo</textarea>" in thanks.text

    # The same answer again, then a changed one: still one answer.
    sent.client.post(path, data={"csat": "2", "nps": "3", "comment": "Lo schermo"})
    again = sent.client.post(path, data={"csat": "5", "nps": "10", "comment": ""})
    assert again.status_code == 200
    [stored] = answers(sent.engine)
    assert (stored.csat, stored.nps, stored.comment, stored.revisions) == (5, 10, None, 2)
    assert stored.language == "it"
    # A promoter is invited to leave a public review, once the answer is saved.
    assert REVIEWS in again.text
    with Session(sent.engine) as session:
        assert session.get(SurveyAnswer, stored.id) is not None
        checkin = session.get(CheckIn, stored.checkin_id)
        assert checkin is not None
        assert checkin.status == "answered"
        actions = [
            e.action
            for e in session.exec(select(AuditEvent).where(AuditEvent.subject_type == "checkin"))
        ]
    assert actions.count("survey.answered") == 1
    assert actions.count("survey.answer_changed") == 1


def test_a_score_out_of_the_scale_or_no_score_is_refused(sent: Sent) -> None:
    path = survey_path(sent.engine, sent.english)
    for data in ({"nps": "11"}, {"csat": "0"}, {"csat": "three"}, {"comment": "only words"}):
        response = sent.client.post(path, data=data)
        assert response.status_code == 400, data
        assert "Please choose a score." in response.text
    assert answers(sent.engine) == []


def test_a_tampered_link_opens_nothing(sent: Sent) -> None:
    path = survey_path(sent.engine, sent.italian)
    token = path.removeprefix("/survey/")
    checkin_id, expires, signature = token.split(".")
    other = checkin_of(sent.engine, sent.english).id
    forged = [
        f"{other}.{expires}.{signature}",  # another customer's check-in
        f"{checkin_id}.{int(expires) + 86400}.{signature}",  # a longer life
        f"{checkin_id}.{expires}.{signature[:-2]}AA",  # a guessed signature
        f"{checkin_id}.{expires}",
        "not-a-token",
        f"{checkin_id}.{expires}.{signature}.extra",
    ]
    for bad in forged:
        page = sent.client.get(f"/survey/{bad}")
        assert page.status_code in (400, 404), bad
        assert "<form" not in page.text
        assert sent.client.post(f"/survey/{bad}", data={"csat": "1"}).status_code in (400, 404)
    assert answers(sent.engine) == []


def test_a_link_signed_with_another_key_is_refused(sent: Sent) -> None:
    checkin = checkin_of(sent.engine, sent.italian)
    other = sent.settings.model_copy(update={"secret_key": SecretStr("another key " + "y" * 30)})
    token = make_survey_token(other, checkin_id=checkin.id or 0, expires_at=DUE + timedelta(30))
    assert sent.client.get(f"/survey/{token}").status_code == 400


def test_an_expired_link_says_so_and_takes_no_answer(sent: Sent) -> None:
    path = survey_path(sent.engine, sent.italian)
    checkin = checkin_of(sent.engine, sent.italian)
    assert checkin.expires_at == DUE + timedelta(days=30)
    sent.set_clock(DUE + timedelta(days=30, seconds=-1))
    assert sent.client.get(path).status_code == 200
    sent.set_clock(DUE + timedelta(days=30))
    page = sent.client.get(path)
    assert page.status_code == 410
    assert "Questo link è scaduto" in page.text
    assert sent.client.post(path, data={"csat": "4"}).status_code == 410
    assert answers(sent.engine) == []


def test_a_check_in_that_was_never_sent_has_no_survey(sent: Sent) -> None:
    skipped = checkin_of(sent.engine, sent.skipped)
    assert skipped.status == "skipped"
    token = make_survey_token(
        sent.settings, checkin_id=skipped.id or 0, expires_at=DUE + timedelta(days=30)
    )
    assert sent.client.get(f"/survey/{token}").status_code == 404


def unsubscribes(engine: Engine) -> list[Unsubscribe]:
    with Session(engine) as session:
        return list(session.exec(select(Unsubscribe)).all())


def test_following_the_unsubscribe_link_asks_and_one_click_unsubscribes(sent: Sent) -> None:
    path = unsubscribe_path(sent.engine, sent.italian)
    page = sent.client.get(path)
    assert page.status_code == 200
    assert "marco@example.com" in page.text
    assert '<form method="post"' in page.text
    assert unsubscribes(sent.engine) == []  # a link checker following it changes nothing

    done = sent.client.post(path)
    assert done.status_code == 200
    assert "Fatto: marco@example.com non riceverà più queste e-mail." in done.text
    assert sent.client.post(path).status_code == 200
    [row] = unsubscribes(sent.engine)
    assert (row.email, row.via) == ("marco@example.com", "link")


def test_mail_clients_unsubscribe_with_the_rfc_8058_one_click_post(sent: Sent) -> None:
    path = unsubscribe_path(sent.engine, sent.english)
    response = sent.client.post(
        path,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    [row] = unsubscribes(sent.engine)
    assert (row.email, row.via) == ("jane@example.com", "one-click")


def test_a_forged_unsubscribe_token_unsubscribes_nobody(sent: Sent) -> None:
    path = unsubscribe_path(sent.engine, sent.italian)
    forged = path.replace("token=", "token=x")
    assert sent.client.post(forged).status_code == 400
    assert sent.client.get("/unsubscribe").status_code == 400
    assert unsubscribes(sent.engine) == []


def test_a_web_process_without_the_secret_key_explains_instead_of_failing(
    sent: Sent, caplog: pytest.LogCaptureFixture
) -> None:
    # The links went out from a process that had the key; this web process has none.
    path = survey_path(sent.engine, sent.italian)
    keyless = sent.settings.model_copy(update={"secret_key": None})
    with (
        TestClient(create_app(keyless, sent.engine), raise_server_exceptions=False) as client,
        caplog.at_level("ERROR", logger="ascolto.surveys"),
    ):
        page = client.get(path, headers={"Accept-Language": "en"})
        posted = client.post(path, data={"csat": "5"}, headers={"Accept-Language": "en"})
    assert page.status_code == 503
    assert "Surveys are not available" in page.text
    assert "secret" not in page.text.lower()
    assert posted.status_code == 503
    assert "secret_key is not set (ASCOLTO_SECRET_KEY)" in caplog.text
    assert answers(sent.engine) == []
