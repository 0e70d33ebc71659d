"""The listener contract: turn a source into new mentions, given the last cursor."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal, Self
from urllib.parse import urlsplit

from pydantic import AfterValidator, ConfigDict

from listeners.http import HttpClient
from listeners.settings import Settings, SourceSettings
from storage.mentions import NewMention
from storage.orders import NewOrder
from storage.quarantine import Rejected


def _http_url(value: str) -> str:
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("an http:// or https:// address")
    return value


HttpUrl = Annotated[str, AfterValidator(_http_url)]
"""An http(s) address, kept exactly as written (a feed's trailing slash can matter)."""

BaseUrl = Annotated[str, AfterValidator(lambda value: _http_url(value).rstrip("/"))]
"""An http(s) address that paths are appended to, without its trailing slash."""


class SourceOptions(SourceSettings):
    """A listener's own settings model: the common keys plus its kind-specific ones."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass
class Batch:
    """What one fetch produced: items kept, items filtered out, the cursor to store, notes."""

    items: list[NewMention]
    cursor: dict[str, Any] | None
    skipped: int = 0
    not_modified: bool = False
    warnings: list[str] = field(default_factory=list)
    quarantined: list[Rejected] = field(default_factory=list)
    # Post-purchase signals, stored with the run like the mentions (order listeners).
    orders: list[NewOrder] = field(default_factory=list)


@dataclass(frozen=True)
class StoredMention:
    """What a re-check needs to know of a stored mention to ask its source about it."""

    external_id: str
    url: str | None
    published_at: datetime | None
    extra: dict[str, Any]


@dataclass(frozen=True)
class RecheckResult:
    """What the source says now of one stored mention: `present` (with the item as it
    reads now, edited or not), `deleted` (by its author or a moderator) or `private`
    (no longer visible to ascolto: made private, blocked, its community closed)."""

    external_id: str
    status: Literal["present", "deleted", "private"]
    item: NewMention | None = None


class Listener(ABC):
    """One kind of source. Subclasses set `kind` and `Options` and implement `fetch`."""

    kind: ClassVar[str]
    Options: ClassVar[type[SourceOptions]] = SourceOptions
    supports_dry_run: ClassVar[bool] = True
    # False for kinds that receive pushes (webhooks) instead of being fetched on a schedule.
    polled: ClassVar[bool] = True

    def __init__(self, options: SourceOptions, http: HttpClient) -> None:
        self.options = options
        self.http = http

    @classmethod
    def from_settings(cls, source: SourceSettings, settings: Settings) -> Self:
        """Build the listener for one configured source."""
        options = cls.Options.model_validate(source.model_dump())
        return cls(
            options, HttpClient(settings.http, allow_private=options.allow_private_addresses)
        )

    @abstractmethod
    def fetch(self, cursor: dict[str, Any] | None) -> Batch:
        """Fetch what is new since `cursor`; raise a ListenError subclass on failure."""

    # True for kinds whose source can be asked again about single posts (`recheck`).
    rechecks: ClassVar[bool] = False

    def recheck(self, mentions: Sequence[StoredMention]) -> list[RecheckResult]:
        """Ask the source again about stored mentions: one result per mention it could
        tell about (a mention it could not reach is left out, to be asked next time).
        Kinds that can tell set `rechecks` and implement this; raise a ListenError subclass
        when the source cannot be read at all."""
        raise NotImplementedError(f"{self.kind} sources cannot be re-checked")
