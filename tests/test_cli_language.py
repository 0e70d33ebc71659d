"""The command line speaks Italian or English: `--lang`, else `ASCOLTO_LANG`, else the
administrator's `[language] default`, else the POSIX locale; English when none says."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write_settings
from tests.test_cli import UNREACHABLE_POSTGRES

# No locale of the machine running the tests leaks in: each case sets its own.
NO_LOCALE = {"LC_ALL": "", "LC_MESSAGES": "", "LANG": "C.UTF-8", "ASCOLTO_LANG": ""}


def ascolto(
    cwd: Path, *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `python -m ascolto ARGS` in `cwd` as a separate process, with a wide terminal."""
    environment = {**os.environ, "COLUMNS": "250", **NO_LOCALE, **(env or {})}
    # An empty ASCOLTO_LANG would be an explicit (bad) choice: absent means "not chosen".
    environment = {k: v for k, v in environment.items() if not (k == "ASCOLTO_LANG" and not v)}
    return subprocess.run(
        [sys.executable, "-m", "ascolto", *args],
        cwd=cwd,
        env=environment,
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )


@pytest.fixture
def folder(tmp_path: Path, sqlite_url: str) -> Path:
    """A settings.toml on a SQLite database with one agent, `ana`."""
    write_settings(tmp_path / "settings.toml", sqlite_url)
    added = ascolto(tmp_path, "users", "add", "ana", "--password-stdin", stdin="a long secret 42\n")
    assert added.returncode == 0, added.stderr
    assert "added ana (agent)" in added.stdout
    return tmp_path


def with_default(folder: Path, language: str) -> None:
    """The administrator sets `[language] default` in the settings file."""
    path = folder / "settings.toml"
    path.write_text(
        path.read_text(encoding="utf-8") + f'\n[language]\ndefault = "{language}"\n',
        encoding="utf-8",
    )


@pytest.mark.parametrize(
    ("options", "environment", "default", "expected"),
    [
        # Each of the three ways, alone.
        (["--lang", "it"], {}, None, "it"),
        ([], {"ASCOLTO_LANG": "it_IT.UTF-8"}, None, "it"),
        ([], {"LANG": "en_GB.UTF-8"}, "it", "it"),
        ([], {"LANG": "it_IT.UTF-8"}, None, "it"),
        ([], {"LC_MESSAGES": "it_CH.UTF-8", "LANG": "en_US.UTF-8"}, None, "it"),
        # The one asked for beats the settings and the locale; the settings beat the locale.
        (["--lang", "en"], {"LANG": "it_IT.UTF-8", "ASCOLTO_LANG": "it"}, "it", "en"),
        ([], {"ASCOLTO_LANG": "en", "LANG": "it_IT.UTF-8"}, "it", "en"),
        ([], {"LANG": "it_IT.UTF-8"}, "en", "en"),
        # Nothing says: English.
        ([], {}, None, "en"),
        ([], {"LANG": "de_DE.UTF-8"}, None, "en"),
    ],
)
def test_the_language_is_chosen_as_people_expect(
    folder: Path,
    options: list[str],
    environment: dict[str, str],
    default: str | None,
    expected: str,
) -> None:
    if default:
        with_default(folder, default)
    listed = ascolto(folder, *options, "users", "list", env=environment)
    assert listed.returncode == 0, listed.stderr
    if expected == "it":
        assert "1 utente" in listed.stdout
        for header in ("nome utente", "ruolo", "attivo", "creato"):
            assert header in listed.stdout
        assert "│ ana " in listed.stdout
        assert "│ sì " in listed.stdout
        assert "username" not in listed.stdout
    else:
        assert "1 user" in listed.stdout
        for header in ("username", "role", "active", "created"):
            assert header in listed.stdout
        assert "│ yes " in listed.stdout
        assert "utente" not in listed.stdout


def test_commands_speak_italian(folder: Path) -> None:
    italian = {"LANG": "it_IT.UTF-8"}
    quality = ascolto(folder, "drafts", "quality", env=italian)
    assert quality.returncode == 0, quality.stderr
    assert "bozze decise dal" in quality.stdout
    assert ", per intento" in quality.stdout
    for header in ("decise", "senza modifiche", "ritocchi", "riscritte", "rifiutate", "mediana"):
        assert header in quality.stdout

    outbox = ascolto(folder, "outbox", "list", env=italian)
    assert outbox.returncode == 0, outbox.stderr
    assert "posta in uscita: vuota" in outbox.stdout
    assert "destinatario" in outbox.stdout
    assert "oggetto / problema" in outbox.stdout

    tokens = ascolto(folder, "tokens", "create", "ana", "--name", "cruscotto", env=italian)
    assert tokens.returncode == 0, tokens.stderr
    assert "token 1 per ana; invialo come 'Authorization: Bearer ...':" in tokens.stdout
    listed = ascolto(folder, "tokens", "list", env=italian)
    assert "1 token" in listed.stdout
    assert "mai" in listed.stdout  # never used yet

    role = ascolto(folder, "users", "disable", "ana", env=italian)
    assert role.returncode == 0, role.stderr
    assert "ana disattivato" in role.stdout
    users = ascolto(folder, "users", "list", env=italian)
    assert "no (disattivato)" in users.stdout

    # The same commands stay English without a word about the language.
    english = ascolto(folder, "drafts", "quality")
    assert "drafts decided since" in english.stdout
    assert "light edit" in english.stdout
    assert "outbox: empty" in ascolto(folder, "outbox", "list").stdout


def test_errors_speak_italian(folder: Path) -> None:
    italian = {"LANG": "it_IT.UTF-8"}
    # Our own check of an argument, inside typer's usage error.
    bad = ascolto(folder, "drafts", "quality", "--by", "mood", env=italian)
    assert bad.returncode == 2
    assert "uno tra intent, template, language, channel, agent, source, week" in bad.stderr
    # A message that is not there.
    missing = ascolto(folder, "outbox", "show", "99", env=italian)
    assert missing.returncode == 2
    assert "errore: nessun messaggio in uscita con id 99" in missing.stderr
    # A language ascolto does not speak is refused, in the language found without it.
    refused = ascolto(folder, "--lang", "fr", "users", "list", env=italian)
    assert refused.returncode == 2
    assert "'fr': è atteso uno tra en, it" in refused.stderr
    # No settings file where one was named: said before any settings could say otherwise.
    nowhere = ascolto(folder, "--config", "altrove.toml", "users", "list", env=italian)
    assert nowhere.returncode == 2
    assert "errore: le impostazioni non si possono usare" in nowhere.stderr
    assert "altrove.toml does not exist" in nowhere.stderr
    assert "Traceback" not in nowhere.stderr


def test_an_unreachable_database_is_told_in_italian(tmp_path: Path) -> None:
    write_settings(tmp_path / "settings.toml", UNREACHABLE_POSTGRES)
    result = ascolto(tmp_path, "--lang", "it", "users", "list")
    assert result.returncode == 3, result.stderr
    assert "errore: il database non si può aprire o aggiornare" in result.stderr
    # The detail from the database layer follows, as in English.
    assert "127.0.0.1:1" in result.stderr
    english = ascolto(tmp_path, "users", "list")
    assert english.returncode == 3
    assert english.stderr.startswith("error: cannot open or migrate the database")


def test_help_speaks_the_chosen_language(tmp_path: Path, sqlite_url: str) -> None:
    write_settings(tmp_path / "settings.toml", sqlite_url)
    # The root's help comes before any option or setting is read: the environment decides.
    root = ascolto(tmp_path, "--help", env={"LANG": "it_IT.UTF-8"})
    assert root.returncode == 0, root.stderr
    assert "Ascolto sociale e contatto proattivo" in root.stdout
    assert "Stampa la versione." in root.stdout
    # --lang first, then --help: already Italian.
    asked = ascolto(tmp_path, "--lang", "it", "--help")
    assert "Ascolto sociale e contatto proattivo" in asked.stdout
    # A command's help: its docstring and its options' help=.
    role = ascolto(tmp_path, "users", "role", "--help", env={"ASCOLTO_LANG": "it"})
    assert role.returncode == 0, role.stderr
    assert "Assegna a un utente un altro ruolo." in role.stdout
    assert "Uno tra: agent, supervisor, product, marketer, admin." in role.stdout
    # The administrator's default reaches the help of commands, read after the settings.
    with_default(tmp_path, "it")
    group = ascolto(tmp_path, "users", "--help", env={"LANG": "en_GB.UTF-8"})
    assert "Le persone che usano l'app web e la coda di revisione." in group.stdout
    # English stays English.
    english = ascolto(tmp_path, "--lang", "en", "users", "--help", env={"LANG": "it_IT.UTF-8"})
    assert "People who use the web app and the review queue." in english.stdout
    assert "Give a user another role." in english.stdout
