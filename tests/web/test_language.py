"""The app in the viewer's language: their choice, else the browser's, else the default;
and every mention and draft marked with its own language."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from ascolto.database import prepare
from ascolto.settings import Settings, load_settings
from ascolto.web.app import create_app
from outreach.drafting import draft_for_mention
from storage.db import session_scope
from tests.conftest import write_settings
from tests.factories import at
from tests.outreach.draft_factories import add_mention
from tests.web.conftest import add_user, csrf_token, sign_in

NOW = at(days=1)
ITALIAN = "Mi è arrivato il tablet rotto, lo schermo non si accende. Voglio un rimborso."


@pytest.fixture
def settings(tmp_path: Path, sqlite_url: str) -> Settings:
    path = write_settings(tmp_path / "settings.toml", sqlite_url, "[outreach]\nenabled = true\n")
    return load_settings(path, web={"enabled": False})


@pytest.fixture
def engine(settings: Settings) -> Engine:
    engine = prepare(settings)
    add_user(engine, "tom", "agent")
    return engine


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine)) as test_client:
        yield test_client


def html_lang(html: str) -> str:
    found = re.search(r'<html lang="([^"]+)">', html)
    assert found, "no <html lang>"
    return found.group(1)


def test_the_browser_language_decides_before_sign_in(client: TestClient) -> None:
    italian = client.get("/login", headers={"Accept-Language": "it-IT,it;q=0.9,en;q=0.8"})
    assert html_lang(italian.text) == "it"
    assert "<h1>Accedi</h1>" in italian.text
    assert "Nome utente" in italian.text
    english = client.get("/login", headers={"Accept-Language": "en-GB"})
    assert html_lang(english.text) == "en"
    assert "<h1>Sign in</h1>" in english.text
    # A language we do not speak: the administrator's default (English here).
    assert html_lang(client.get("/login", headers={"Accept-Language": "fr"}).text) == "en"


def test_the_administrator_sets_the_default(tmp_path: Path, sqlite_url: str) -> None:
    path = write_settings(tmp_path / "it.toml", sqlite_url, '[language]\ndefault = "it"\n')
    settings = load_settings(path, web={"enabled": False})
    engine = prepare(settings)
    with TestClient(create_app(settings, engine)) as client:
        page = client.get("/login", headers={"Accept-Language": "de-DE"})
        assert html_lang(page.text) == "it"
        refused = client.post("/login", data={"username": "x", "password": "y"})
        assert refused.status_code == 403
        assert html_lang(refused.text) == "it"
        assert "<h1>Richiesta rifiutata</h1>" in refused.text
        assert "Questo modulo è scaduto" in refused.text


def test_a_bad_default_language_is_a_settings_error(tmp_path: Path, sqlite_url: str) -> None:
    path = write_settings(tmp_path / "bad.toml", sqlite_url, '[language]\ndefault = "fr"\n')
    with pytest.raises(Exception, match="default"):
        load_settings(path)


def test_the_profile_choice_beats_the_browser(client: TestClient) -> None:
    sign_in(client, "tom")
    italian_browser = {"Accept-Language": "it-IT"}
    profile = client.get("/profile", headers=italian_browser)
    assert html_lang(profile.text) == "it"
    assert "Come chiede il mio browser (ora: Italiano)" in profile.text
    assert 'value="browser" checked' in profile.text

    chosen = client.post(
        "/profile/language",
        data={"language": "en", "csrf_token": csrf_token(profile.text)},
        follow_redirects=False,
    )
    assert chosen.status_code == 303
    queue = client.get("/queue", headers=italian_browser)
    assert html_lang(queue.text) == "en"
    assert "<h1>Review queue</h1>" in queue.text

    client.post(
        "/profile/language",
        data={"language": "it", "csrf_token": csrf_token(profile.text)},
    )
    queue = client.get("/queue", headers={"Accept-Language": "en-US"})
    assert html_lang(queue.text) == "it"
    assert "<h1>Coda di revisione</h1>" in queue.text
    assert "Nessuna bozza da revisionare." in queue.text

    # Back to the browser's language.
    client.post(
        "/profile/language",
        data={"language": "browser", "csrf_token": csrf_token(profile.text)},
    )
    assert html_lang(client.get("/queue", headers={"Accept-Language": "en-US"}).text) == "en"


def test_an_unknown_language_is_refused_with_a_clear_message(client: TestClient) -> None:
    sign_in(client, "tom")
    token = csrf_token(client.get("/profile").text)
    refused = client.post("/profile/language", data={"language": "klingon", "csrf_token": token})
    assert refused.status_code == 422
    assert "Unknown language klingon" in refused.text
    assert (
        "<script"
        not in client.post(
            "/profile/language", data={"language": "<script>", "csrf_token": token}
        ).text.split("</head>")[1]
    )


def drafted(engine: Engine, settings: Settings, **mention: Any) -> int:
    mention_id = add_mention(engine, **mention)
    with session_scope(engine) as session:
        draft = draft_for_mention(session, settings, mention_id, now=NOW)
        assert draft is not None
        session.flush()
        return draft.id or 0


def test_mentions_and_drafts_carry_their_own_language(
    client: TestClient, engine: Engine, settings: Settings
) -> None:
    draft_id = drafted(engine, settings, text=ITALIAN, language="it", handle="giulia")
    sign_in(client, "tom")
    queue = client.get("/queue", headers={"Accept-Language": "en"})
    assert html_lang(queue.text) == "en"
    assert f'<span lang="it">{ITALIAN[:60]}' in queue.text
    page = client.get(f"/queue/{draft_id}", headers={"Accept-Language": "en"})
    assert re.search(r'<blockquote class="text" lang="it">Mi è arrivato', page.text)
    assert re.search(r'<textarea id="text" name="text" rows="10" required lang="it">', page.text)
    mentions = client.get("/mentions", headers={"Accept-Language": "en"})
    assert f'<span lang="it">{ITALIAN[:40]}' in mentions.text


def test_dates_and_numbers_follow_the_page_language(
    client: TestClient, engine: Engine, settings: Settings
) -> None:
    drafted(engine, settings, published_at=at(10))
    sign_in(client, "tom")
    english = client.get("/queue", headers={"Accept-Language": "en"}).text
    italian = client.get("/queue", headers={"Accept-Language": "it"}).text
    waiting = re.compile(r'<time datetime="[^"]+">([^<]+)</time>')
    en_when, it_when = waiting.search(english), waiting.search(italian)
    assert en_when
    assert it_when
    assert en_when.group(1) != it_when.group(1)
    assert re.fullmatch(r"[A-Z][a-z]{2} \d{1,2}, \d{4}, \d\d:\d\d UTC", en_when.group(1))
    assert re.fullmatch(r"\d{1,2} [a-z]{3} \d{4}, \d\d:\d\d UTC", it_when.group(1))


def test_what_an_action_did_is_said_in_the_viewers_language(
    client: TestClient, engine: Engine, settings: Settings
) -> None:
    draft_id = drafted(engine, settings, text=ITALIAN, language="it", handle="giulia")
    sign_in(client, "tom")
    italian = {"Accept-Language": "it-IT"}
    page = client.get(f"/queue/{draft_id}", headers=italian)
    edited = client.post(
        f"/queue/{draft_id}/edit",
        data={"text": "Ci dispiace! Scrivici in privato.", "csrf_token": csrf_token(page.text)},
        headers=italian,
    )
    assert edited.status_code == 200
    assert "modificata e ricontrollata: consentita" in edited.text
    english = client.get(str(edited.url), headers={"Accept-Language": "en"})
    assert "edited and checked again: allow" in english.text


def test_a_missing_page_speaks_the_viewers_own_language(client: TestClient) -> None:
    sign_in(client, "tom")
    token = csrf_token(client.get("/profile").text)
    client.post("/profile/language", data={"language": "it", "csrf_token": token})
    missing = client.get("/no-such-page", headers={"Accept-Language": "en"})
    assert missing.status_code == 404
    assert html_lang(missing.text) == "it"
    assert "<h1>Operazione non possibile</h1>" in missing.text
