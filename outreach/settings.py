"""Outreach's settings: `[brand]` (the voice of drafts), `[outreach]` (drafting) and
`[delivery]` (the outbox)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Protocol

from pydantic import AfterValidator, Field, SecretStr, model_validator

from classify.settings import Settings as ClassifyWithProducts
from listeners.settings import Settings as ListenerReading
from outreach.draft_settings import DraftSettings
from policies.settings import Settings as PolicyReading
from storage.privacy_settings import PrivacySettings
from storage.settings import Name, Section


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


class PublicAddress(Protocol):
    """The web app's address customers reach (`[web] public_url`)."""

    @property
    def public_url(self) -> str | None: ...


class Settings(ClassifyWithProducts, PolicyReading, ListenerReading, Protocol):
    """What outreach reads of the composed settings (`ascolto.settings.Settings` is one): its
    own tables and the ones it shares with classification, the policies and the HTTP client.
    Channels and campaigns widen it with their own tables."""

    @property
    def brand(self) -> BrandSettings: ...

    @property
    def outreach(self) -> OutreachSettings: ...

    @property
    def delivery(self) -> DeliverySettings: ...

    @property
    def web(self) -> PublicAddress: ...

    @property
    def secret_key(self) -> SecretStr | None: ...

    @property
    def privacy(self) -> PrivacySettings: ...

    @property
    def drafts(self) -> DraftSettings: ...
