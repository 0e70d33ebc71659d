"""The `[privacy]` settings table: retention periods, re-checks at the sources, erasure key."""

from __future__ import annotations

import hashlib

from pydantic import Field, SecretStr

from storage.settings import Section

DAY = 86400
# Used only when neither the pepper nor secret_key is set: the hashes then resist a glance
# at the database, not someone who holds a list of addresses to try.
_FALLBACK_KEY = b"ascolto erased identities"


class PrivacySettings(Section):
    """How long personal data is kept, and how deletions at the sources are followed."""

    retention: bool = Field(
        True,
        description="Run the retention job: data older than the ages below is deleted or "
        "anonymised once a day. Counts, charts and rates keep every row's day, source and "
        "labels; only the words and the people go.",
    )
    retention_interval: int = Field(
        DAY, ge=60, description="Seconds between two runs of the retention job."
    )
    mention_days: int = Field(
        730,
        ge=1,
        description="Days a mention keeps its text, title, link and author. Two years: "
        "enough to compare a product's launch with the next one a year later; older "
        "mentions keep only their day, source and labels for the figures.",
    )
    source_mention_days: dict[str, int] = Field(
        default_factory=dict,
        description="Shorter or longer ages for the mentions of named sources "
        '(source name -> days), e.g. `{ "reddit search" = 30 }` for a network whose '
        "terms ask for a shorter life.",
    )
    customer_days: int = Field(
        365,
        ge=1,
        description="Days a customer with no order (known only from a linked handle or a "
        "survey) is kept after it was created. A year covers a full season of check-ins.",
    )
    draft_days: int = Field(
        365,
        ge=1,
        description="Days a decided draft (sent, rejected, withdrawn, failed) keeps its "
        "words and recipient; its status, template and times stay for the approval rates. "
        "A year keeps a season's edits to learn the brand voice from.",
    )
    outbox_days: int = Field(
        90,
        ge=1,
        description="Days a delivered, failed or cancelled outbox message keeps its body "
        "and recipient: long enough to answer 'did you write to me?' and to debug "
        "deliveries, no longer.",
    )
    survey_comment_days: int = Field(
        730,
        ge=1,
        description="Days a survey answer keeps its comment; its scores stay for CSAT and "
        "NPS. Two years, as mentions.",
    )
    log_days: int = Field(
        180,
        ge=1,
        description="Days ascolto keeps its own stored logs: the details of audit events "
        "(who did what stays, what it changed goes), the raw payloads of quarantined items, "
        "and listener runs' error and warning texts. Process logs on stderr are the "
        "operator's to rotate.",
    )
    recheck: bool = Field(
        True,
        description="Re-check recent mentions at their source (Reddit, Mastodon, Bluesky, "
        "App Store, Hacker News): a post deleted or made private loses its text and author, "
        "an edited one gets its new text and fresh labels.",
    )
    recheck_interval: int = Field(
        3600,
        ge=60,
        description="Seconds between re-checks: the longest a post deleted at its source "
        "stays quotable here. An hour keeps requests few and deletions prompt.",
    )
    recheck_days: float = Field(
        7,
        gt=0,
        description="How far back (days, by when the mention was written) mentions are "
        "re-checked: most deletions and edits happen within days of posting.",
    )
    recheck_limit: int = Field(
        300,
        ge=1,
        description="Most mentions re-checked per source per run (the newest first).",
    )
    pepper: SecretStr | None = Field(
        None,
        description="Key of the hashes erased people's addresses and handles are kept as "
        "(so they are never contacted again). Secret: set ASCOLTO_PRIVACY_PEPPER. Unset, "
        "`secret_key` is used. Keep it stable: with another key the old hashes no longer "
        "match.",
    )

    def erasure_key(self, secret_key: SecretStr | None) -> bytes:
        """The key of erased people's hashes: the pepper, else the secret key, else a fixed
        one."""
        secret = self.pepper or secret_key
        if secret is None:
            return _FALLBACK_KEY
        return hashlib.sha256(b"erased\x00" + secret.get_secret_value().encode()).digest()
