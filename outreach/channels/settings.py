"""Channels' settings: `[smtp]` for e-mail and `[[teams]]`, where alerts of a team's products
go (e-mail addresses, Slack, a signed webhook)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Protocol

from pydantic import Field, SecretStr, model_validator

from outreach.settings import Settings as OutreachReading
from storage.settings import EmailAddress, Name, Section, TimeZone


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
    timezone: TimeZone = Field("UTC", description="Time zone of `digest_hour`, e.g. `Europe/Rome`.")

    @model_validator(mode="after")
    def _webhook_signed(self) -> TeamSettings:
        if self.webhook_url and not self.webhook_secret:
            raise ValueError(f"teams {self.name!r}: webhook_url needs webhook_secret")
        return self


class Settings(OutreachReading, Protocol):
    """What channels read of the composed settings: outreach's, plus `[smtp]` and
    `[[teams]]`."""

    @property
    def smtp(self) -> SmtpSettings: ...

    @property
    def teams(self) -> list[TeamSettings]: ...

    def team(self, name: str) -> TeamSettings:
        """The team called `name`, or a SettingsError listing the known names."""
        ...
