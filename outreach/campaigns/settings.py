"""Check-in campaigns' settings: one `[[campaigns]]` table per campaign."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal, Protocol

from pydantic import Field, field_validator, model_validator

from outreach.channels.settings import Settings as ChannelReading
from storage.settings import Name, Section, TimeZone

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
    timezone: TimeZone = Field(
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


def unique_campaigns(value: list[CampaignSettings]) -> list[CampaignSettings]:
    seen: set[str] = set()
    for campaign in value:
        if campaign.name in seen:
            raise ValueError(f"two campaigns are named {campaign.name!r}; names must be unique")
        seen.add(campaign.name)
    return value


class Settings(ChannelReading, Protocol):
    """What campaigns read of the composed settings: the channels', plus `[[campaigns]]`."""

    @property
    def campaigns(self) -> list[CampaignSettings]: ...
