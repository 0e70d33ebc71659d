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
    Field,
    PrivateAttr,
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

from ascolto.localization.settings import LanguageSettings
from classify.defects.notice_settings import DefectNoticeSettings
from classify.defects.settings import DefectSettings
from classify.settings import ClassifySettings, ProductSettings
from listeners.settings import HttpSettings, SourceSettings
from outreach.campaigns.settings import CampaignSettings, unique_campaigns
from outreach.channels.settings import SmtpSettings, TeamSettings
from outreach.draft_settings import DraftSettings
from outreach.settings import BrandSettings, DeliverySettings, OutreachSettings
from policies.settings import PolicySettings
from storage.errors import SettingsError
from storage.privacy_settings import PrivacySettings
from storage.settings import (
    ENV_PREFIX,
    DatabaseSettings,
    EmailAddress,
    Name,
    Section,
    email_address,
    read_secret,
)

DEFAULT_CONFIG = Path("settings.toml")

# Each component declares its own settings models next to its code; this module composes
# them into one `Settings` and loads it. The names below are re-exported for the wiring.
__all__ = [
    "ENV_PREFIX",
    "BrandSettings",
    "BrokerSettings",
    "CampaignSettings",
    "ClassifySettings",
    "DatabaseSettings",
    "DefectSettings",
    "DeliverySettings",
    "EmailAddress",
    "HttpSettings",
    "LogSettings",
    "Name",
    "OutreachSettings",
    "PolicySettings",
    "ProductSettings",
    "SchedulerSettings",
    "Section",
    "Settings",
    "SmtpSettings",
    "SourceSettings",
    "TeamSettings",
    "WebSettings",
    "email_address",
    "get_settings",
    "load_settings",
    "read_secret",
    "use_settings",
]


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


class BrokerSettings(Section):
    url: str | None = Field(
        None,
        pattern=r"^(amqp|amqps|pyamqp|redis|rediss)://",
        description="Message broker of the distributed mode (`ascolto worker`, `ascolto "
        "beat`): `amqp://guest:guest@127.0.0.1:5672//` (RabbitMQ) or "
        "`redis://127.0.0.1:6379/0`. Needs PostgreSQL as `database.url`. Overridden by "
        "ASCOLTO_BROKER_URL.",
    )
    queue: Name = Field("ascolto", description="Name of the queue every step's task goes to.")
    visibility_timeout: int = Field(
        600,
        ge=5,
        description="Redis only: seconds before a task taken by a worker that died is "
        "handed to another. Keep it longer than the slowest step.",
    )
    retry_seconds: float = Field(
        2.0,
        ge=0.1,
        description="Wait before a task that found its step busy elsewhere, or lost the "
        "database, tries again.",
    )


class WebSettings(Section):
    enabled: bool = Field(True, description="Serve the web app from `ascolto run`.")
    host: str = Field("127.0.0.1", description="Address the web app listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port the web app listens on.")
    session_minutes: int = Field(
        720,
        ge=1,
        description="A sign-in lasts at most this many minutes, however active the person is.",
    )
    idle_minutes: int = Field(
        60, ge=1, description="A sign-in ends after this many minutes without a request."
    )
    secure_cookies: bool = Field(
        False,
        description="Mark the session cookie Secure (sent over HTTPS only): turn on when the "
        "app is served over HTTPS, e.g. behind a TLS-terminating proxy.",
    )
    login_attempts: int = Field(
        5,
        ge=1,
        description="Failed sign-ins allowed per username and address within "
        "`login_window_minutes`; further attempts are refused until the window passes.",
    )
    login_window_minutes: int = Field(
        15, ge=1, description="Window in which failed sign-ins are counted."
    )
    login_address_attempts: int = Field(
        50,
        ge=1,
        description="Failed sign-ins allowed from one address within `login_window_minutes`, "
        "whatever the usernames tried.",
    )
    max_body_bytes: int = Field(
        2_000_000,
        ge=1024,
        description="Largest request body accepted by any route (forms, the JSON API, "
        "webhooks), in bytes; a larger one is answered 413 as soon as it passes the limit, "
        "with or without a Content-Length.",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses or networks (e.g. `127.0.0.1`, `10.0.0.0/8`) of the reverse "
        "proxies in front of the web app: only their `X-Forwarded-For` / `Forwarded` headers "
        "say who the client is (for the sign-in throttle and the audit log). Default: none, "
        "the connection's address is the client's.",
    )
    queue_refresh_seconds: int = Field(
        10,
        ge=1,
        le=3600,
        description="How often an open review queue page fetches new drafts, without a reload.",
    )
    public_url: str | None = Field(
        None,
        pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$",
        description="Address customers reach the web app at, e.g. `https://care.acme.example`; "
        "survey and unsubscribe links in e-mails start with it. Required by `[[campaigns]]`.",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, values: list[str]) -> list[str]:
        import ipaddress

        for value in values:
            try:
                ipaddress.ip_network(value.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{value!r}: expected an IP address or network") from None
        return values


class LogSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Lowest level of messages written to the log."
    )
    format: Literal["text", "json"] = Field(
        "text", description="`text` for people, `json` for one JSON object per line."
    )


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
    # The settings file these were read from (None: defaults and environment only).
    _loaded_from: Path | None = PrivateAttr(default=None)
    http: HttpSettings = Field(
        default_factory=HttpSettings, description="How listeners talk to sources."
    )
    scheduler: SchedulerSettings = Field(
        default_factory=SchedulerSettings, description="When and how runs are scheduled."
    )
    broker: BrokerSettings = Field(
        default_factory=BrokerSettings,
        description="Distributed mode: steps as Celery tasks on many workers.",
    )
    web: WebSettings = Field(default_factory=WebSettings, description="The web app.")
    language: LanguageSettings = Field(
        default_factory=LanguageSettings, description="Italian or English for staff."
    )
    log: LogSettings = Field(default_factory=LogSettings, description="Logging.")
    classify: ClassifySettings = Field(
        default_factory=ClassifySettings,
        description="Labelling mentions: language, sentiment, complaint, issue, urgency, product.",
    )
    defects: DefectSettings = Field(
        default_factory=DefectSettings,
        description="Early defect clusters of products after their launch, and their alerts.",
    )
    defect_notices: DefectNoticeSettings = Field(
        default_factory=DefectNoticeSettings,
        description="How often product teams are notified of defect alerts.",
    )
    brand: BrandSettings = Field(
        default_factory=BrandSettings,
        description="The brand's voice in drafts: name, tone, greetings, sign-offs.",
    )
    drafts: DraftSettings = Field(
        default_factory=DraftSettings, description="How drafts read: emoji, promised reply time."
    )
    outreach: OutreachSettings = Field(
        default_factory=OutreachSettings,
        description="Drafting replies to complaints and questions for people to approve.",
    )
    policies: PolicySettings = Field(
        default_factory=PolicySettings,
        description="The rules every draft is checked against before a person approves it.",
    )
    smtp: SmtpSettings = Field(
        default_factory=SmtpSettings, description="The SMTP server that sends e-mail."
    )
    delivery: DeliverySettings = Field(
        default_factory=DeliverySettings,
        description="The outbox: how alerts, replies and e-mails are delivered and retried.",
    )
    privacy: PrivacySettings = Field(
        default_factory=PrivacySettings,
        description="Personal data: retention periods, re-checking deleted posts, erasure.",
    )
    teams: list[TeamSettings] = Field(
        default_factory=list,
        description="Who receives a product's defect alerts, and where: one table per team.",
    )
    campaigns: Annotated[list[CampaignSettings], AfterValidator(unique_campaigns)] = Field(
        default_factory=list,
        description="Post-purchase check-ins: a short survey e-mail after an order event, "
        "one table per campaign.",
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
            ("teams", [t.name for t in self.teams]),
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

    @model_validator(mode="after")
    def _known_teams(self) -> Settings:
        teams = {t.name for t in self.teams}
        for index, product in enumerate(self.products):
            if product.team is not None and product.team not in teams:
                known = ", ".join(sorted(teams)) or "none configured"
                raise ValueError(
                    f"products[{index}].team = {product.team!r}: expected the name of a "
                    f"[[teams]] entry (known: {known})"
                )
        return self

    @model_validator(mode="after")
    def _unsubscribe_signed(self) -> Settings:
        if self.delivery.unsubscribe_url and self.secret_key is None:
            raise ValueError(
                "delivery.unsubscribe_url needs secret_key, which signs the links: set "
                "ASCOLTO_SECRET_KEY or a file `secret_key` in ASCOLTO_SECRETS_DIR"
            )
        return self

    def team(self, name: str) -> TeamSettings:
        """The team called `name`, or a SettingsError listing the known names."""
        for team in self.teams:
            if team.name == name:
                return team
        known = ", ".join(t.name for t in self.teams) or "none configured"
        raise SettingsError(f"no team named {name!r} (known: {known})")

    def source(self, name: str) -> SourceSettings:
        """The source called `name`, or a SettingsError listing the known names."""
        for source in self.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.sources) or "none configured"
        raise SettingsError(f"no source named {name!r} (known: {known})")

    @property
    def loaded_from(self) -> Path | None:
        """The settings file these were read from; None when there was none."""
        return self._loaded_from

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
# Secrets inside a table: (table, key); read from ASCOLTO_<TABLE>_<KEY> or the file
# <table>_<key> in the secrets directory.
SECRET_TABLE_FIELDS = (("smtp", "password"), ("privacy", "pepper"))

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
        for table, key in SECRET_TABLE_FIELDS:
            section = self.data.get(table)
            if isinstance(section, dict) and key in section:
                raise SettingsError(
                    f"{path}: `{table}.{key}` is a secret and is not read from a settings "
                    f"file; set {ENV_PREFIX}{table.upper()}_{key.upper()} or put it in a file "
                    f"`{table}_{key}` in the secrets directory"
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
    settings._loaded_from = path
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
