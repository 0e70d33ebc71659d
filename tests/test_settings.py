"""Settings: layering, freezing, secrets and the errors a bad settings file produces."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from ascolto.settings import Settings, load_settings
from listeners.registry import known_kinds, source_options
from storage.errors import SettingsError

SECRET = "s3cr3t-Ünïcode-🔑-value"
KINDS = ", ".join(known_kinds())  # every registered kind, e.g. "rss"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def rss(name: str = "news", url: str = "https://news.example.com/rss", **extra: str) -> str:
    lines = [f'[[sources]]\nname = "{name}"\nkind = "rss"\nurl = "{url}"']
    lines += [f"{key} = {value}" for key, value in extra.items()]
    return "\n".join(lines) + "\n\n"


def settings_error(path: Path | str | None = None) -> str:
    """Load settings expecting exactly one SettingsError; return its message."""
    with pytest.raises(SettingsError) as caught:
        load_settings(path)
    return str(caught.value)


# --- layering: defaults < settings file < environment ----------------------------------


def test_defaults_without_any_file(tmp_path: Path) -> None:
    assert not (tmp_path / "settings.toml").exists()  # the cwd is tmp_path
    settings = load_settings()
    assert settings.database.url == "sqlite:///ascolto.db"
    assert settings.database.echo is False
    assert settings.http.retries == 3
    assert settings.http.user_agent.startswith("ascolto/")
    assert settings.web.port == 8000
    assert settings.log.level == "INFO"
    assert settings.sources == []
    assert settings.products == []
    assert settings.secret_key is None


def test_settings_toml_in_working_directory_is_read(tmp_path: Path) -> None:
    write(tmp_path / "settings.toml", "[http]\nretries = 7\n")
    settings = load_settings()
    assert settings.http.retries == 7
    # Keys the file does not set keep their defaults, even in a table the file does set.
    assert settings.http.connect_timeout == 10.0
    assert settings.database.url == "sqlite:///ascolto.db"


def test_file_values_override_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path / "custom.toml",
        '[database]\nurl = "postgresql+psycopg://db.example.com/ascolto"\necho = true\n\n'
        '[log]\nlevel = "DEBUG"\nformat = "json"\n\n'
        + rss("news", interval="60", keywords='["acme", "tab 3"]')
        + '[[products]]\nname = "Acme Tab 3"\naliases = ["Tab 3"]\nlaunched_on = "2026-11-01"\n',
    )
    settings = load_settings(path)
    assert settings.database.url == "postgresql+psycopg://db.example.com/ascolto"
    assert settings.database.echo is True
    assert (settings.log.level, settings.log.format) == ("DEBUG", "json")
    source = settings.source("news")
    assert (source.kind, source.interval, source.keywords) == ("rss", 60, ["acme", "tab 3"])
    assert source_options(source).url == "https://news.example.com/rss"
    assert settings.products[0].aliases == ["Tab 3"]
    assert settings.products[0].launched_on == "2026-11-01"


def test_toml_native_date_is_accepted_for_launched_on(tmp_path: Path) -> None:
    path = write(tmp_path / "s.toml", '[[products]]\nname = "Tab"\nlaunched_on = 2026-11-01\n')
    assert load_settings(path).products[0].launched_on == "2026-11-01"


def test_explicit_path_beats_env_var_beats_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "settings.toml", "[http]\nretries = 1\n")
    env_file = write(tmp_path / "from-env.toml", "[http]\nretries = 2\n")
    cli_file = write(tmp_path / "from-cli.toml", "[http]\nretries = 4\n")

    assert load_settings().http.retries == 1
    monkeypatch.setenv("ASCOLTO_CONFIG", str(env_file))
    assert load_settings().http.retries == 2
    assert load_settings(cli_file).http.retries == 4
    assert load_settings(str(cli_file)).http.retries == 4


def test_ascolto_config_pointing_nowhere_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "settings.toml", "")
    monkeypatch.setenv("ASCOLTO_CONFIG", str(tmp_path / "missing.toml"))
    message = settings_error()
    assert "missing.toml" in message
    assert "does not exist" in message


def test_environment_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(
        tmp_path / "s.toml",
        '[database]\nurl = "sqlite:///from-file.db"\necho = true\n\n'
        '[http]\nuser_agent = "file-agent"\nretries = 2\n\n[web]\nport = 8080\n',
    )
    monkeypatch.setenv("ASCOLTO_DATABASE_URL", "postgresql+psycopg://env-host/ascolto")
    monkeypatch.setenv("ASCOLTO_HTTP_USER_AGENT", "env-agent/1.0 (+https://example.com)")
    monkeypatch.setenv("ASCOLTO_HTTP_CONNECT_TIMEOUT", "2.5")
    monkeypatch.setenv("ASCOLTO_WEB_PORT", "9000")
    monkeypatch.setenv("ASCOLTO_LOG_LEVEL", "WARNING")

    settings = load_settings(path)
    assert settings.database.url == "postgresql+psycopg://env-host/ascolto"
    assert settings.http.user_agent == "env-agent/1.0 (+https://example.com)"
    assert settings.http.connect_timeout == 2.5
    assert settings.web.port == 9000
    assert settings.log.level == "WARNING"
    # The environment replaces single keys, not whole tables.
    assert settings.database.echo is True
    assert settings.http.retries == 2


def test_environment_overrides_defaults_without_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASCOLTO_DATABASE_URL", "sqlite:///env.db")
    monkeypatch.setenv("ASCOLTO_HTTP_RETRIES", "0")
    settings = load_settings()
    assert settings.database.url == "sqlite:///env.db"
    assert settings.http.retries == 0


def test_unrelated_ascolto_variables_are_not_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    path = write(tmp_path / "s.toml", "")
    monkeypatch.setenv("ASCOLTO_CONFIG", str(path))
    monkeypatch.setenv("ASCOLTO_SECRETS_DIR", str(secrets))
    assert load_settings().http.retries == 3


def test_bad_environment_value_is_reported_by_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASCOLTO_HTTP_RETRIES", "lots")
    monkeypatch.setenv("ASCOLTO_WEB_PORT", "0")
    message = settings_error()
    assert "2 invalid setting(s)" in message
    assert "http.retries = 'lots': expected a valid integer" in message
    assert "web.port = '0': expected a number greater than or equal to 1" in message


def test_keyword_overrides_beat_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASCOLTO_DATABASE_URL", "sqlite:///env.db")
    settings = load_settings(None, database={"url": "sqlite:///cli.db"})
    assert settings.database.url == "sqlite:///cli.db"


# --- frozen --------------------------------------------------------------------------


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path / "s.toml", rss("news")))
    with pytest.raises(ValidationError, match="frozen"):
        settings.http = settings.http  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        settings.http.retries = 9  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        settings.database.url = "sqlite:///other.db"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        settings.sources[0].name = "renamed"  # type: ignore[misc]
    assert settings.http.retries == 3
    assert settings.sources[0].name == "news"


def test_settings_are_hashable_values(tmp_path: Path) -> None:
    # Frozen sections can be used as keys, e.g. to cache per-HTTP-settings clients.
    settings = load_settings()
    assert hash(settings.http) == hash(load_settings().http)


# --- secrets -------------------------------------------------------------------------


def test_secret_key_in_settings_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "s.toml", f'secret_key = "{SECRET}"\n')
    message = settings_error(path)
    assert str(path) in message
    assert "`secret_key` is a secret" in message
    assert "ASCOLTO_SECRET_KEY" in message
    assert "secrets directory" in message
    assert SECRET not in message


def test_secret_key_in_file_is_refused_even_when_env_also_sets_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASCOLTO_SECRET_KEY", "from-env")
    path = write(tmp_path / "s.toml", 'secret_key = "in-the-file"\n')
    message = settings_error(path)
    assert "`secret_key` is a secret" in message
    assert "in-the-file" not in message


def test_secret_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASCOLTO_SECRET_KEY", SECRET)
    settings = load_settings()
    assert isinstance(settings.secret_key, SecretStr)
    assert settings.secret_key.get_secret_value() == SECRET


def test_secret_key_from_secrets_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "secret_key").write_text(SECRET + "\n", encoding="utf-8")
    # Set after the settings module was imported: the directory is read at load time.
    monkeypatch.setenv("ASCOLTO_SECRETS_DIR", str(secrets))
    settings = load_settings()
    assert settings.secret_key is not None
    assert settings.secret_key.get_secret_value() == SECRET


def test_environment_secret_beats_secrets_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "secret_key").write_text("from-dir", encoding="utf-8")
    monkeypatch.setenv("ASCOLTO_SECRETS_DIR", str(secrets))
    monkeypatch.setenv("ASCOLTO_SECRET_KEY", "from-env")
    settings = load_settings()
    assert settings.secret_key is not None
    assert settings.secret_key.get_secret_value() == "from-env"


def test_secrets_dir_without_the_file_leaves_secret_unset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    monkeypatch.setenv("ASCOLTO_SECRETS_DIR", str(secrets))
    assert load_settings().secret_key is None


def test_secret_never_shown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASCOLTO_SECRET_KEY", SECRET)
    settings = load_settings(write(tmp_path / "s.toml", rss("news")))
    assert settings.secret_key is not None
    for shown in (
        repr(settings),
        str(settings),
        settings.model_dump_json(),
        str(settings.model_dump()),
        repr(settings.secret_key),
        str(settings.secret_key),
        f"{settings.secret_key}",
    ):
        assert SECRET not in shown
    assert "**********" in settings.model_dump_json()


def test_secret_never_shown_in_settings_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASCOLTO_SECRET_KEY", SECRET)
    # A check across the whole document (unique names) once echoed the whole input,
    # secret included.
    path = write(tmp_path / "s.toml", '[[products]]\nname = "A"\n[[products]]\nname = "A"\n')
    message = settings_error(path)
    assert SECRET not in message
    assert "products[1].name = 'A': expected a unique name" in message


# --- bad settings files: one SettingsError naming key, value and expectation ----------

BAD_FILES = {
    "unknown key": (
        "[http]\nretires = 3\n",
        [
            "1 invalid setting(s)",
            "http.retires: unknown key",
            "known keys: backoff, connect_timeout, max_bytes, max_retry_after, "
            "per_host_interval, read_timeout, retries, user_agent",
        ],
    ),
    "unknown top-level table": (
        "[htpp]\nretries = 3\n",
        ["htpp: unknown key", "known keys: ", ", http, language, log, "],
    ),
    "wrong type": (
        '[http]\nretries = "many"\n',
        ["http.retries = 'many'", "expected a valid integer"],
    ),
    "wrong type, bool": (
        '[web]\nenabled = "sometimes"\n',
        ["web.enabled = 'sometimes'", "expected a valid boolean"],
    ),
    "out-of-range number": (
        "[web]\nport = 70000\n",
        ["web.port = 70000", "expected a number less than or equal to 65535"],
    ),
    "negative timeout": (
        "[http]\nread_timeout = -1\n",
        ["http.read_timeout = -1", "expected a number greater than 0"],
    ),
    "not one of the choices": (
        '[log]\nlevel = "LOUD"\n',
        ["log.level = 'LOUD'", "'DEBUG', 'INFO', 'WARNING' or 'ERROR'"],
    ),
    "bad URL for an rss source": (
        rss("news", url="ftp://news.example.com/rss"),
        ["sources[0].url = 'ftp://news.example.com/rss'", "expected an http:// or https://"],
    ),
    "rss source without url": (
        '[[sources]]\nname = "news"\nkind = "rss"\n',
        ["sources[0].url: missing", "this key is required"],
    ),
    "source interval too short": (
        rss("news", interval="1"),
        ["sources[0].interval = 1", "expected a number greater than or equal to 10"],
    ),
    "unknown listener kind": (
        '[[sources]]\nname = "birds"\nkind = "twitter"\n',
        ["sources[0].kind = 'twitter'", f"expected one of the listener kinds: {KINDS}"],
    ),
    "missing source name": (
        '[[sources]]\nkind = "rss"\nurl = "https://news.example.com/rss"\n',
        ["sources[0].name: missing", "this key is required"],
    ),
    "bad source name": (
        rss("my news"),
        ["sources[0].name = 'my news'", "letters, digits"],
    ),
    "duplicate source names": (
        rss("news") + rss("blog", url="https://blog.example.com/feed") + rss("news"),
        [
            "sources[2].name = 'news'",
            "expected a unique name",
            "sources[0] is also named 'news'",
        ],
    ),
    "bad launched_on": (
        '[[products]]\nname = "Acme Tab 3"\nlaunched_on = "1 Nov 2026"\n',
        ["products[0].launched_on = '1 Nov 2026'", "expected a date as YYYY-MM-DD"],
    ),
    "impossible launched_on": (
        '[[products]]\nname = "Acme Tab 3"\nlaunched_on = "2026-02-30"\n',
        ["products[0].launched_on = '2026-02-30'", "YYYY-MM-DD", "day is out of range"],
    ),
    "defect thresholds that contradict each other": (
        "[defects]\nsimilarity = 0.7\nrelated_similarity = 0.8\n",
        ["defects", "related_similarity must be at most similarity"],
    ),
    "missing product name": (
        '[[products]]\naliases = ["Tab"]\n',
        ["products[0].name: missing", "this key is required"],
    ),
}


def test_a_lower_similarity_alone_lowers_the_related_default(tmp_path: Path) -> None:
    path = write(tmp_path / "s.toml", "[defects]\nsimilarity = 0.6\n")
    config = load_settings(path).defects.config()
    assert (config.similarity, config.related_similarity) == (0.6, 0.6)


@pytest.mark.parametrize(("body", "expected"), BAD_FILES.values(), ids=BAD_FILES.keys())
def test_bad_settings_file(tmp_path: Path, body: str, expected: list[str]) -> None:
    path = write(tmp_path / "bad.toml", body)
    message = settings_error(path)
    assert message.startswith(f"{path}: 1 invalid setting(s)")
    for part in expected:
        assert part in message


def test_invalid_toml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.toml", '[http]\nretries = 3\nuser_agent = "unterminated\n')
    message = settings_error(path)
    assert str(path) in message
    assert "not valid TOML" in message
    assert re.search(r"\bline 3\b", message), message


def test_missing_settings_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "settings.toml"
    message = settings_error(path)
    assert message == f"settings file {path} does not exist"


def test_settings_file_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('[http]\nuser_agent = "caffè"\n'.encode("latin-1"))
    message = settings_error(path)
    assert str(path) in message
    assert "not UTF-8" in message
    assert "0xe8" in message  # the offending byte


def test_several_errors_in_one_message(tmp_path: Path) -> None:
    path = write(
        tmp_path / "bad.toml",
        "[http]\nretries = 99\nbogus = 1\n\n[web]\nport = 0\n\n"
        '[[products]]\nname = "Tab"\nlaunched_on = "soon"\n\n'
        + rss("news", url="gopher://x")
        + '[[sources]]\nname = "birds"\nkind = "twitter"\n\n'
        + '[[sources]]\nkind = "rss"\nurl = "https://ok.example.com/"\n',
    )
    message = settings_error(path)
    lines = message.splitlines()
    assert lines[0] == f"{path}: 7 invalid setting(s)"
    assert len(lines) == 8
    for part in (
        "http.retries = 99: expected a number less than or equal to 10",
        "http.bogus: unknown key",
        "web.port = 0: expected a number greater than or equal to 1",
        "products[0].launched_on = 'soon'",
        "sources[0].url = 'gopher://x'",
        "sources[1].kind = 'twitter'",
        "sources[2].name: missing",
    ):
        assert sum(part in line for line in lines) == 1, part


def test_unknown_source_name_lists_known_sources(tmp_path: Path) -> None:
    path = write(tmp_path / "s.toml", rss("news") + rss("blog", url="https://b.example.com/"))
    settings = load_settings(path)
    with pytest.raises(SettingsError, match=r"no source named 'nope' \(known: news, blog\)"):
        settings.source("nope")


def test_settings_error_exit_code() -> None:
    assert SettingsError.exit_code == 2


def test_direct_construction_still_validates() -> None:
    with pytest.raises(ValidationError):
        Settings(web={"port": -1})
