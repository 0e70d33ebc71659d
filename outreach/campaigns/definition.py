"""Campaigns as the scheduler sees them: settings mirrored into storage, with parsed times.

`[[campaigns]]` in the settings file are mirrored on every run; `save_campaign` stores one
defined elsewhere (the web app's form) and `pause_campaign` pauses or resumes either kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlmodel import Session

from outreach.campaigns.settings import CampaignSettings, Settings
from outreach.campaigns.timing import Delay, Window, add_delay, day_start, next_send_time, zone
from storage import audit
from storage import campaigns as store
from storage.errors import SettingsError
from storage.models import Campaign, Customer
from storage.types import utcnow


@dataclass(frozen=True)
class ActiveCampaign:
    """A stored campaign with its validated definition."""

    id: int
    name: str
    config: CampaignSettings
    started_at: datetime
    paused_at: datetime | None
    paused_by: str | None

    @classmethod
    def from_row(cls, row: Campaign) -> ActiveCampaign:
        """The campaign of a stored row (its definition validated again)."""
        return cls(
            id=row.id or 0,
            name=row.name,
            config=CampaignSettings.model_validate(row.definition),
            started_at=row.started_at,
            paused_at=row.paused_at,
            paused_by=row.paused_by,
        )

    @property
    def paused(self) -> bool:
        """Paused in the settings or from the command line."""
        return self.config.paused or self.paused_at is not None

    @property
    def delay(self) -> Delay:
        return Delay.parse(self.config.delay)

    @property
    def window(self) -> Window:
        return Window.parse(self.config.send_from, self.config.send_until)

    def zone_of(self, customer: Customer | None) -> ZoneInfo:
        """The customer's time zone, else the campaign's."""
        return zone(customer.timezone if customer else None, self.config.timezone)

    def first_due(self, tz: ZoneInfo) -> datetime:
        """The earliest time a check-in of this campaign can be due."""
        if self.config.starts_on is not None:
            return day_start(self.config.starts_on, tz)
        return self.started_at

    def last_due(self, tz: ZoneInfo) -> datetime | None:
        """The end (exclusive) of the campaign's last day, or None."""
        if self.config.ends_on is None:
            return None
        return day_start(self.config.ends_on + timedelta(days=1), tz)

    def due_without_window(self, trigger_at: datetime, tz: ZoneInfo) -> datetime:
        """Trigger time plus the delay."""
        return add_delay(trigger_at, self.delay, tz)

    def planned_time(self, trigger_at: datetime, tz: ZoneInfo) -> datetime:
        """When a check-in for this trigger time is due: after the delay, in the window."""
        return next_send_time(self.due_without_window(trigger_at, tz), self.window, tz)

    def covers(self, trigger_at: datetime, tz: ZoneInfo) -> bool:
        """Whether a check-in for this trigger time falls within the campaign's dates."""
        due = self.due_without_window(trigger_at, tz)
        last = self.last_due(tz)
        return due >= self.first_due(tz) and (last is None or due < last)


SETTINGS = "settings"
APP = "app"


class CampaignError(SettingsError):
    """A campaign that cannot be saved, found or changed, with the reason."""


def _unknown_products(settings: Settings, config: CampaignSettings, where: str) -> list[str]:
    known = {p.name for p in settings.products}
    return [
        f"{where} {config.name!r}: unknown product {name!r} "
        f"(known: {', '.join(sorted(known)) or 'no [[products]] configured'})"
        for name in config.products
        if name not in known
    ]


def sync_campaigns(session: Session, settings: Settings) -> list[ActiveCampaign]:
    """Mirror `[[campaigns]]` into storage; every active campaign, those saved through
    `save_campaign` included. Settings campaigns no longer configured turn inactive.

    Raises SettingsError naming a campaign whose products are not `[[products]]`.
    """
    problems = [
        problem
        for index, c in enumerate(settings.campaigns)
        for problem in _unknown_products(settings, c, f"campaigns[{index}]")
    ]
    if problems:
        raise SettingsError("\n".join(problems))
    for c in settings.campaigns:
        store.sync_campaign(session, name=c.name, definition=c.model_dump(mode="json"))
    store.deactivate_others(session, keep=[c.name for c in settings.campaigns], origin=SETTINGS)
    return [ActiveCampaign.from_row(row) for row in store.list_campaigns(session, active_only=True)]


def save_campaign(
    session: Session, settings: Settings, definition: dict[str, Any], *, by: str
) -> ActiveCampaign:
    """Create or update a campaign outside the settings file (the web app's form).

    `definition` has the keys of a `[[campaigns]]` table. Raises CampaignError when it is
    not valid, names unknown products, or names a campaign the settings file defines
    (the file stays the one place those are changed).
    """
    try:
        config = CampaignSettings.model_validate(definition)
    except ValidationError as exc:
        raise CampaignError(f"campaign {definition.get('name')!r}: {exc}") from None
    if any(c.name == config.name for c in settings.campaigns):
        raise CampaignError(
            f"campaign {config.name!r} is defined in the settings file; change it there"
        )
    problems = _unknown_products(settings, config, "campaign")
    if problems:
        raise CampaignError("\n".join(problems))
    existing = store.get_campaign(session, config.name)
    row = store.sync_campaign(
        session, name=config.name, definition=config.model_dump(mode="json"), origin=APP
    )
    audit.record(
        session,
        actor=by,
        action="campaign.updated" if existing else "campaign.created",
        subject_type="campaign",
        subject_id=row.id,
        details={"name": config.name},
    )
    return ActiveCampaign.from_row(row)


def find_campaign(session: Session, settings: Settings, name: str) -> ActiveCampaign:
    """The campaign called `name` as it is now: the settings' definition for one in the
    file (stored or not yet), else the stored one. Raises CampaignError when unknown."""
    row = store.get_campaign(session, name)
    config = next((c for c in settings.campaigns if c.name == name), None)
    if config is None and row is not None and row.active and row.origin == APP:
        return ActiveCampaign.from_row(row)
    if config is None:
        names = [c.name for c in settings.campaigns] + [
            r.name for r in store.list_campaigns(session, active_only=True) if r.origin == APP
        ]
        known = ", ".join(sorted(set(names))) or "none configured"
        raise CampaignError(f"no campaign named {name!r} (known: {known})")
    return ActiveCampaign(
        id=row.id or 0 if row else 0,
        name=name,
        config=config,
        started_at=row.started_at if row else utcnow(),
        paused_at=row.paused_at if row else None,
        paused_by=row.paused_by if row else None,
    )


def pause_campaign(
    session: Session, settings: Settings, name: str, *, paused: bool, by: str
) -> bool:
    """Pause or resume a campaign, recorded in the audit trail; False when it already was.

    Raises CampaignError when no such campaign exists.
    """
    find_campaign(session, settings, name)
    sync_campaigns(session, settings)
    row = store.get_campaign(session, name)
    if row is None:
        raise CampaignError(f"no campaign named {name!r}")
    changed = store.set_paused(session, row, paused=paused, by=by)
    if changed:
        audit.record(
            session,
            actor=by,
            action="campaign.paused" if paused else "campaign.resumed",
            subject_type="campaign",
            subject_id=row.id,
        )
    return changed
