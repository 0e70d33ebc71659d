"""Listeners' settings: `[http]` for every request to a source, and the keys every
`[[sources]]` table has (each listener kind adds its own in its `Options`)."""

from __future__ import annotations

from typing import Protocol

from pydantic import ConfigDict, Field

from storage.settings import Name, Section


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


class Settings(Protocol):
    """What listeners read of the composed settings (`ascolto.settings.Settings` is one)."""

    @property
    def http(self) -> HttpSettings: ...
