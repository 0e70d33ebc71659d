"""A real app on 127.0.0.1 over a SQLite file, driven by Debian's chromium via playwright."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import expect
from sqlalchemy.engine import Engine

from ascolto.database import prepare
from ascolto.settings import Settings, load_settings
from ascolto.web.app import create_app
from tests.conftest import write_settings
from tests.requirements import chromium_path, missing
from tests.web.conftest import PASSWORD

CHROMIUM = chromium_path()
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
# How long an action or an `expect` may wait for its condition (an element to be there and
# still, a page to load). Only a cap on waiting, never a pause: on a loaded machine the
# condition can take a while, and a test must not fail for that.
CONDITION_TIMEOUT_MS = 60_000
expect.set_options(timeout=CONDITION_TIMEOUT_MS)


@dataclass
class LiveApp:
    """The running app: its address, settings and database."""

    url: str
    settings: Settings
    engine: Engine


def log_in(page: Any, app: LiveApp, username: str, password: str = PASSWORD) -> None:
    """Sign in through the login form (the one on screen, if the page shows it)."""
    if not page.url.startswith(f"{app.url}/login"):
        page.goto(f"{app.url}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def snapshot(page: Any, name: str) -> Path:
    """Keep a full-page screenshot under test-artifacts/browser/ (not committed)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@dataclass
class Dialogs:
    """Every JavaScript dialog (alert, confirm, prompt) a page opened."""

    seen: list[str] = field(default_factory=list)


@pytest.fixture
def app_settings(tmp_path: Path) -> Settings:
    """Settings over a fresh SQLite file; a test may add a policy file and so on."""
    path = write_settings(tmp_path / "settings.toml", f"sqlite:///{tmp_path / 'ascolto.db'}")
    return load_settings(path)


@pytest.fixture
def live_app(app_settings: Settings) -> Iterator[LiveApp]:
    """The web app served by uvicorn in a thread on a free 127.0.0.1 port."""
    engine = prepare(app_settings)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(app_settings, engine), log_config=None, access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(500):
            if server.started or not thread.is_alive():
                break
            thread.join(0.02)
        assert server.started, "the web app did not start"
        yield LiveApp(f"http://127.0.0.1:{port}", app_settings, engine)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless chromium for the whole session."""
    if not Path(CHROMIUM).exists():
        missing(
            f"chromium at {CHROMIUM} (as root: apt-get install chromium, or set "
            "ASCOLTO_TEST_CHROMIUM to its path)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def dialogs() -> Dialogs:
    return Dialogs()


@pytest.fixture
def console() -> list[str]:
    """Errors the page reported: script errors, failed loads, content-security violations."""
    return []


@pytest.fixture
def page(
    browser: Any, dialogs: Dialogs, console: list[str], request: pytest.FixtureRequest
) -> Iterator[Any]:
    """A fresh browser context and page; any dialog it opens is recorded and dismissed.

    The page's screenshot at the end of each test is kept under test-artifacts/browser/.
    """
    context = browser.new_context()
    opened = context.new_page()
    opened.set_default_timeout(CONDITION_TIMEOUT_MS)

    def on_dialog(dialog: Any) -> None:
        dialogs.seen.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    opened.on("dialog", on_dialog)
    opened.on(
        "console",
        lambda message: (
            console.append(f"{message.text} ({message.location.get('url')})")
            if message.type == "error"
            else None
        ),
    )
    opened.on("pageerror", lambda error: console.append(str(error)))
    try:
        yield opened
    finally:
        if opened.url.startswith("http"):
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            name = request.node.name.replace("/", "_").replace("[", "-").rstrip("]")
            opened.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        context.close()
