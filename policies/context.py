"""Everything a policy needs to know about a draft, gathered before the check.

The policies never query the database: whoever asks for a verdict (drafting, the review queue,
`ascolto policy explain`) builds a `DraftContext` from the draft, its mention, the customer and
their orders and contacts. That keeps every rule a pure function of its input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Channels whose messages only the customer sees; anything else is treated as public.
PRIVATE_CHANNELS = frozenset({"email"})


@dataclass(frozen=True, slots=True)
class DraftContext:
    """A draft and its circumstances.

    text: the message as it would be sent. channel: "email", "mastodon", "manual", "x",
    "reddit", ... public: whether anyone but the customer can read it; None derives it from
    the channel (only e-mail is private). language: the draft's language (ISO 639-1); None
    when unknown. customer_language / customer_tz: the customer's language and IANA time
    zone, when known. urgency / issues: the classifier's labels of the mention answered.
    delivery_dates: delivery dates the order data knows (expected or actual). order_ids:
    the customer's order numbers, to keep them out of public replies. role: role of the
    person approving ("agent", "supervisor", ...); None means the policy's default role.
    previous_contacts: when this customer was contacted before (aware datetimes); the
    contact limit counts those within its period. opted_out / suppressed: the customer
    opted out, or is on a suppression list. recipient: e-mail address or handle the message
    goes to. send_at: when it would leave (aware); None means now. proactive: a message the
    customer did not ask for (a check-in, a campaign), as opposed to a reply; only proactive
    messages need `consent` (True given, False refused, None not recorded) and wait for
    `open_complaints` (mentions of the customer's still without a reply) to be answered.
    The mention answered, for rules about whether it deserves a reply: `mention_text`,
    `author_handle` and `author_name` as the network shows them, `network` (the source's
    kind: "reddit", "bluesky", ...), `sentiment` (the classifier's), `intent` (the reply
    chosen: "complaint_delivery", "question", ...), and `brand` (the brand's name).
    """

    text: str
    channel: str
    public: bool | None = None
    language: str | None = None
    customer_language: str | None = None
    customer_tz: str | None = None
    customer_id: int | None = None
    urgency: Sequence[str] = ()
    issues: Sequence[str] = ()
    delivery_dates: Sequence[date] = ()
    order_ids: Sequence[str] = ()
    role: str | None = None
    previous_contacts: Sequence[datetime] = ()
    opted_out: bool = False
    suppressed: bool = False
    recipient: str | None = None
    send_at: datetime | None = None
    proactive: bool = False
    consent: bool | None = None
    open_complaints: Sequence[int] = ()
    mention_text: str = ""
    author_handle: str | None = None
    author_name: str | None = None
    network: str | None = None
    sentiment: str | None = None
    intent: str | None = None
    brand: str | None = None

    def __post_init__(self) -> None:
        if self.send_at is not None and self.send_at.utcoffset() is None:
            raise ValueError("DraftContext.send_at must be timezone-aware")
        for contact in self.previous_contacts:
            if contact.utcoffset() is None:
                raise ValueError("DraftContext.previous_contacts must be timezone-aware")

    @property
    def is_public(self) -> bool:
        """Whether the reply is public: as given, else anything but e-mail."""
        if self.public is not None:
            return self.public
        return self.channel not in PRIVATE_CHANNELS

    def with_text(self, text: str) -> DraftContext:
        """The same circumstances with another text (an amendment or an agent's edit)."""
        return replace(self, text=text)

    @property
    def sending_time(self) -> datetime:
        """`send_at`, or now when it is not set."""
        return self.send_at or datetime.now(UTC)

    def zone(self, default: str = "UTC") -> tuple[ZoneInfo, bool]:
        """The customer's time zone and True; `default` and False when unknown or invalid."""
        if self.customer_tz:
            try:
                return ZoneInfo(self.customer_tz), True
            except (ZoneInfoNotFoundError, ValueError):
                pass
        return ZoneInfo(default), False


def primary_language(code: str | None) -> str | None:
    """ "it-IT", "IT", "it_ch" -> "it"; None or blank -> None."""
    if not code or not code.strip():
        return None
    return code.strip().replace("_", "-").split("-", 1)[0].lower()
