"""A newcomer's first minutes: the command list, a folder without settings, the first sign-in."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from ascolto.cli.users import first_user
from ascolto.database import prepare
from ascolto.demo import DEMO_PASSWORD, DEMO_USER, ensure_demo_user
from ascolto.web.app import create_app
from ascolto.web.signin import FIRST_USER
from storage.users import get_user
from tests.test_cli import ascolto
from tests.web.conftest import add_user, csrf_token


def test_the_command_list_starts_with_run_and_demo(tmp_path: Path) -> None:
    result = ascolto(tmp_path, "--help")
    assert result.returncode == 0, result.stderr
    listed = [
        line.split()[1]
        for line in result.stdout.splitlines()
        if line.startswith("│ ") and len(line.split()) > 2
    ]
    commands = [name for name in listed if not name.startswith("-")]
    assert commands[:2] == ["run", "demo"]


def test_a_folder_without_settings_is_said_not_filled_with_an_empty_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in [k for k in os.environ if k.startswith("ASCOLTO_")]:
        monkeypatch.delenv(key)
    result = ascolto(tmp_path, "users", "list")
    assert result.returncode == 2
    assert "no settings found" in result.stderr
    assert "ascolto demo" in result.stderr
    assert not (tmp_path / "ascolto.db").exists()


def test_commands_without_a_database_still_work_without_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in [k for k in os.environ if k.startswith("ASCOLTO_")]:
        monkeypatch.delenv(key)
    for command in (["config", "show"], ["policy", "rules"]):
        result = ascolto(tmp_path, *command)
        assert result.returncode == 0, result.stderr
    assert not (tmp_path / "ascolto.db").exists()


def test_a_fresh_install_says_how_to_make_the_first_administrator(
    make_settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    engine = prepare(make_settings())
    # Not a terminal under pytest: the exact command is logged instead of a prompt.
    with caplog.at_level("WARNING", logger="ascolto.service"):
        first_user(engine)
    assert "ascolto users add NAME --role admin" in caplog.text
    caplog.clear()
    add_user(engine, "giulia", "admin")
    with caplog.at_level("WARNING", logger="ascolto.service"):
        first_user(engine)
    assert caplog.text == ""


def test_the_sign_in_page_says_how_to_get_a_sign_in_until_someone_has_one(
    make_settings: Any,
) -> None:
    settings = make_settings(web={"enabled": False})
    engine = prepare(settings)
    with TestClient(create_app(settings, engine)) as client:
        page = client.get("/login")
        assert page.status_code == 200
        assert "ascolto users add NAME --role admin" in page.text
        assert FIRST_USER.split(".")[0] in page.text
        add_user(engine, "giulia", "admin")
        assert "users add" not in client.get("/login").text


def test_the_demo_has_a_ready_sign_in_shown_on_the_sign_in_page(make_settings: Any) -> None:
    settings = make_settings(web={"enabled": False})
    engine = prepare(settings)
    ensure_demo_user(engine)
    ensure_demo_user(engine)  # a second demo run keeps the same sign-in
    with Session(engine) as session:
        user = get_user(session, DEMO_USER)
        assert user is not None
        assert user.role == "admin"
    app = create_app(settings, engine)
    app.state.sign_in_hint = f"This is the demo: sign in as {DEMO_USER}."
    with TestClient(app) as client:
        form = client.get("/login")
        assert f"sign in as {DEMO_USER}" in form.text
        data = {
            "username": DEMO_USER,
            "password": DEMO_PASSWORD,
            "csrf_token": csrf_token(form.text),
        }
        signed_in = client.post("/login", data=data, follow_redirects=False)
        assert signed_in.status_code == 303
