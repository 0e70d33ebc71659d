"""SQLModel tables. Timestamps are timezone-aware UTC; JSON columns hold small documents."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    LargeBinary,
    Numeric,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow

# Named constraints, so migrations can alter them on every database (SQLite included).
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _ts(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class Source(SQLModel, table=True):
    """A configured place to listen, mirrored from settings so runs can refer to it."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=50)
    enabled: bool = True
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    # A lease instead of an in-process lock, so two processes never run one source at
    # once and a crashed run's lock simply expires.
    lease_owner: str | None = Field(default=None, max_length=200)
    lease_until: datetime | None = _ts()


class Author(SQLModel, table=True):
    """Who wrote a mention, as known on one platform."""

    __table_args__ = (UniqueConstraint("platform", "handle", name="uq_author_platform_handle"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=200)
    handle: str = Field(max_length=300)
    display_name: str | None = Field(default=None, max_length=300)
    url: str | None = Field(default=None, max_length=2000)
    # Set when the same person is known as a customer (same e-mail or a linked handle).
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    first_seen_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class Mention(SQLModel, table=True):
    """One public post, review or comment, stored once per (source, external id)."""

    __table_args__ = (
        UniqueConstraint("source_id", "external_id", name="uq_mention_source_external"),
        Index("ix_mention_published_at", "published_at"),
        Index("ix_mention_fetched_at", "fetched_at"),
        # The web app's list and charts order and bound mentions by when they were written.
        Index("ix_mention_written", text("coalesce(published_at, fetched_at)"), "id"),
        # Full-text search of the mentions list (PostgreSQL; SQLite scans).
        Index(
            "ix_mention_search",
            text("to_tsvector('simple', text)"),
            postgresql_using="gin",
        ).ddl_if(dialect="postgresql"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="source.id", index=True)
    external_id: str = Field(max_length=500)
    url: str | None = Field(default=None, max_length=2000)
    author_id: int | None = Field(default=None, foreign_key="author.id", index=True)
    title: str | None = Field(default=None, sa_column=Column(Text()))
    text: str = Field(sa_column=Column(Text(), nullable=False))
    content_hash: str = Field(max_length=64)
    published_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    fetched_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    edited_at: datetime | None = _ts()
    kind: str = Field(default="post", max_length=20, sa_column_kwargs={"server_default": "post"})
    lang: str | None = Field(default=None, max_length=20)
    rating: float | None = None
    parent_external_id: str | None = Field(default=None, max_length=500)
    extra: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}")
    )
    deleted_at: datetime | None = _ts()
    # When the words and the author were taken out (an erasure, the retention period, a
    # deletion at the source): the row stays, with its day, source and labels, so figures
    # keep their counts, but it is never classified, drafted or clustered again.
    withdrawn_at: datetime | None = _ts()
    # 64-bit SimHash of the normalised text, stored signed to fit PostgreSQL's bigint, and
    # its four 16-bit bands: texts within Hamming distance 3 share at least one band, so
    # near-duplicate candidates come from an index lookup instead of a scan.
    simhash: int | None = Field(default=None, sa_column=Column(BigInteger()))
    simhash_b0: int | None = Field(default=None, index=True)
    simhash_b1: int | None = Field(default=None, index=True)
    simhash_b2: int | None = Field(default=None, index=True)
    simhash_b3: int | None = Field(default=None, index=True)
    duplicate_of_id: int | None = Field(default=None, foreign_key="mention.id", index=True)


class QuarantinedItem(SQLModel, table=True):
    """An item a listener could not store safely, kept with the reason instead of lost."""

    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="source.id", index=True)
    external_id: str | None = Field(default=None, max_length=500)
    reason: str = Field(sa_column=Column(Text(), nullable=False))
    payload: str = Field(sa_column=Column(Text(), nullable=False))
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class Customer(SQLModel, table=True):
    """A buyer known from orders; consent and do-not-contact are kept here."""

    id: int | None = Field(default=None, primary_key=True)
    email: str | None = Field(default=None, max_length=320, unique=True)
    external_id: str | None = Field(default=None, max_length=200, index=True)
    name: str | None = Field(default=None, max_length=300)
    country: str | None = Field(default=None, max_length=2)
    language: str | None = Field(default=None, max_length=20)
    timezone: str | None = Field(default=None, max_length=64)
    consent: bool | None = None
    # When the source said what `consent` holds (its order's `updated_at`): older news
    # never overrides it, so a late or replayed event cannot re-grant a withdrawn consent.
    consent_at: datetime | None = _ts()
    do_not_contact: bool = False
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class Order(SQLModel, table=True):
    """An order and where it stands: ordered, shipped, delivered, returned or refunded."""

    __table_args__ = (
        UniqueConstraint("source_id", "external_id", name="uq_order_source_external"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="source.id", index=True)
    external_id: str = Field(max_length=200)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    status: str = Field(default="ordered", max_length=20)
    currency: str | None = Field(default=None, max_length=3)
    total: Decimal | None = Field(default=None, sa_column=Column(Numeric(14, 2)))
    ordered_at: datetime | None = _ts()
    shipped_at: datetime | None = _ts()
    delivered_at: datetime | None = _ts(index=True)
    returned_at: datetime | None = _ts()
    refunded_at: datetime | None = _ts()
    # When the source last changed the order (Shopify's `updated_at`): an update older
    # than this one is stale and not applied.
    source_updated_at: datetime | None = _ts()
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    extra: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class OrderLine(SQLModel, table=True):
    """One product line of an order."""

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="order.id", index=True)
    sku: str | None = Field(default=None, max_length=100)
    title: str | None = Field(default=None, max_length=500)
    quantity: int = 1
    unit_price: Decimal | None = Field(default=None, sa_column=Column(Numeric(14, 2)))
    product_id: int | None = Field(default=None, foreign_key="product.id", index=True)


class OrderEvent(SQLModel, table=True):
    """A post-purchase signal (ordered, shipped, delivered, returned, refunded), stored once."""

    __table_args__ = (UniqueConstraint("order_id", "event", name="uq_orderevent_order_event"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="order.id", index=True)
    event: str = Field(max_length=20)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    received_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class InboundWebhook(SQLModel, table=True):
    """A webhook delivery already accepted, so a replay is acknowledged but not applied twice.

    `delivery_id` is `sha256:` and the hash of the signed body: what the signature covers,
    so the same delivery re-sent under another delivery-id header is still a replay.
    """

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: str = Field(max_length=200, unique=True)
    source_id: int = Field(foreign_key="source.id", index=True)
    topic: str | None = Field(default=None, max_length=100)
    received_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class Product(SQLModel, table=True):
    """A product to recognise in mentions, mirrored from settings."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    aliases: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    skus: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    launched_on: date | None = None
    watch_days: int = 60


class ListenerRun(SQLModel, table=True):
    """One run of one source: what it fetched, how it ended, and the cursor it left."""

    __table_args__ = (Index("ix_listenerrun_source_started", "source_id", "started_at"),)

    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="source.id")
    started_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    finished_at: datetime | None = _ts()
    status: str = Field(default="running", max_length=20)
    trigger: str = Field(default="schedule", max_length=20)
    items_seen: int = 0
    items_new: int = 0
    items_updated: int = 0
    items_skipped: int = 0
    items_quarantined: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    error: str | None = Field(default=None, sa_column=Column(Text()))
    warning: str | None = Field(default=None, sa_column=Column(Text()))
    cursor: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


class AuditEvent(SQLModel, table=True):
    """Who did what, when: every run and every change leaves one row."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True)
    )
    actor: str = Field(max_length=200)
    action: str = Field(max_length=100, index=True)
    subject_type: str | None = Field(default=None, max_length=50)
    subject_id: str | None = Field(default=None, max_length=200)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


def _json(default: Any) -> Any:
    return Field(default_factory=default, sa_column=Column(JSON, nullable=False))


class Classification(SQLModel, table=True):
    """The classifier's labels for one mention, with their scores and the model that made them.

    Unclassifiable mentions (empty, only links, ...) get a row too, with the reason, so they
    are not tried again by the same model. `copied_from_id` marks a near-duplicate whose
    labels were copied from its original instead of classified twice.
    """

    __table_args__ = (
        # The mentions list's product and issue type filters, as jsonb containment
        # (PostgreSQL; SQLite matches the text).
        Index(
            "ix_classification_labels",
            text("(issues::jsonb)"),
            text("(products::jsonb)"),
            postgresql_using="gin",
        ).ddl_if(dialect="postgresql"),
    )

    id: int | None = Field(default=None, primary_key=True)
    mention_id: int = Field(foreign_key="mention.id", unique=True)
    model_version: str = Field(max_length=200, index=True)
    # The mention's content_hash when it was classified: an edit makes the labels stale.
    content_hash: str = Field(max_length=64)
    language: str | None = Field(default=None, max_length=20)
    language_score: float | None = None
    sentiment: str | None = Field(default=None, max_length=20)
    sentiment_scores: dict[str, float] = _json(dict)
    complaint: bool | None = None
    complaint_score: float | None = None
    issues: list[str] = _json(list)
    issue_scores: dict[str, float] = _json(dict)
    urgency: list[str] = _json(list)
    urgency_scores: dict[str, float] = _json(dict)
    # none, reproach, disapproval, accusation or blame (None: the heads had no severity head).
    severity: str | None = Field(default=None, max_length=20)
    severity_scores: dict[str, float] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}")
    )
    # The model's confidence in the labels a reply depends on (sentiment, complaint): below
    # `[classify] min_confidence` the mention waits for a person instead of being acted on.
    confidence: float | None = None
    products: list[str] = _json(list)
    unclassifiable_reason: str | None = Field(default=None, max_length=200)
    truncated: bool = False
    copied_from_id: int | None = Field(default=None, foreign_key="mention.id", index=True)
    classified_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True)
    )
    # The labels a person set, which the columns above show instead of the model's: field
    # (sentiment, complaint, issues, urgency, language, products) -> {"value", "model" (what
    # the model says now), "by", "at", "example_id" (the LabelledExample)}. Reclassification
    # updates "model" and keeps "value" until the person's correction is undone.
    corrected: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}")
    )


class MentionDay(SQLModel, table=True):
    """How many mentions not deleted were written on one UTC day, per source and sentiment
    (`unlabelled` until classified): the overview's counts, kept by database triggers on
    `mention` and `classification` in the same transaction as every write (migration 0010),
    so the overview reads a few hundred rows instead of counting a month of mentions."""

    day: date = Field(primary_key=True)
    source_id: int = Field(primary_key=True)
    sentiment: str = Field(primary_key=True, max_length=20)
    mentions: int = 0


class MentionEmbedding(SQLModel, table=True):
    """The encoder's vector of one mention (float32 bytes), for clustering and explanations."""

    mention_id: int = Field(primary_key=True, foreign_key="mention.id")
    model_version: str = Field(max_length=200)
    dim: int
    vector: bytes = Field(sa_column=Column(LargeBinary(), nullable=False))


class LabelledExample(SQLModel, table=True):
    """A label a person gave (e.g. an agent correcting the classifier); training data."""

    id: int | None = Field(default=None, primary_key=True)
    text: str = Field(sa_column=Column(Text(), nullable=False))
    lang: str | None = Field(default=None, max_length=20)
    # sentiment, complaint, issue, urgency, language or product
    task: str = Field(max_length=20, index=True)
    # {"sentiment": "negative"}, {"complaint": true}, {"issues": [...]}, {"urgency": [...]},
    # {"language": "it"}, {"products": [...]}
    label: dict[str, Any] = _json(dict)
    mention_id: int | None = Field(default=None, foreign_key="mention.id", index=True)
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    note: str | None = Field(default=None, sa_column=Column(Text()))
    # Set when the label was undone or replaced by a later one: kept for the record, no
    # longer applied to the mention nor used for training.
    removed_at: datetime | None = _ts()
    removed_by: str | None = Field(default=None, max_length=200)


# Outreach: drafts, contacts and care cases.


class Draft(SQLModel, table=True):
    """A message drafted from a template, with its policy verdict, waiting for a person.

    `key` makes drafting idempotent (one reply per mention: ``reply:mention:42``).
    `drafted_text` is the text as drafted and checked, never changed by an edit, so the
    share of drafts sent unedited can be measured.
    """

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    mention_id: int | None = Field(default=None, foreign_key="mention.id", index=True)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    author_id: int | None = Field(default=None, foreign_key="author.id", index=True)
    # email, mastodon (public reply through the source), manual (ready-to-post copy), ...
    channel: str = Field(max_length=20)
    public: bool = False
    recipient: str | None = Field(default=None, max_length=500)
    subject: str | None = Field(default=None, max_length=300)
    language: str = Field(max_length=20)
    intent: str = Field(max_length=40, index=True)
    template: str = Field(max_length=200)
    text: str = Field(sa_column=Column(Text(), nullable=False))
    html: str | None = Field(default=None, sa_column=Column(Text()))
    drafted_text: str = Field(sa_column=Column(Text(), nullable=False))
    # pending, approved, rejected, escalated, sent, failed, withdrawn (a label correction
    # made it moot: kept, never sent, its key freed for a new draft)
    status: str = Field(default="pending", max_length=20, index=True)
    # allow, amend, escalate, block
    verdict: str = Field(max_length=20)
    verdict_details: list[dict[str, Any]] = _json(list)
    policy_version: str | None = Field(default=None, max_length=100)
    amended: bool = False
    # Set when a rule (quiet hours) holds the message back until then.
    send_after: datetime | None = _ts()
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True)
    )
    decided_by: str | None = Field(default=None, max_length=200)
    decided_at: datetime | None = _ts()
    reason: str | None = Field(default=None, sa_column=Column(Text()))
    outbox_id: int | None = Field(default=None, index=True)
    # Where the text came from (template, history, language_model), what that source
    # reported (the past reply reused, the model, why a source gave way to the next), how
    # long it took and what it cost (a language model's tokens at the configured prices).
    source: str = Field(
        default="template",
        max_length=40,
        index=True,
        sa_column_kwargs={"server_default": "template"},
    )
    source_details: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}")
    )
    source_ms: float | None = None
    source_cost: float | None = None


class Contact(SQLModel, table=True):
    """A message that went to a person (a reply, a follow-up, a campaign e-mail).

    What contact-frequency rules count; approved and sent drafts count as contacts too.
    """

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    author_id: int | None = Field(default=None, foreign_key="author.id", index=True)
    channel: str = Field(max_length=20)
    kind: str = Field(max_length=40)
    draft_id: int | None = Field(default=None, foreign_key="draft.id", unique=True)
    at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True)
    )


class CareCase(SQLModel, table=True):
    """One mention's way through care: when it was written, first answered and resolved."""

    id: int | None = Field(default=None, primary_key=True)
    mention_id: int = Field(foreign_key="mention.id", unique=True)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    opened_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    first_response_at: datetime | None = _ts()
    first_response_draft_id: int | None = Field(default=None, foreign_key="draft.id")
    resolved_at: datetime | None = _ts()
    resolved_by: str | None = Field(default=None, max_length=200)
    resolution: str | None = Field(default=None, sa_column=Column(Text()))


# Users, their web sessions and failed logins.


class User(SQLModel, table=True):
    """A person who signs in to the web app or acts in the review queue."""

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=100, unique=True)
    # argon2id, in the PHC string format (algorithm, parameters and salt included).
    password_hash: str = Field(max_length=300)
    # agent, supervisor or admin
    role: str = Field(max_length=20)
    active: bool = True
    # The language of the web app they chose (en, it); None: their browser's.
    language: str | None = Field(default=None, max_length=10)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class WebSession(SQLModel, table=True):
    """A signed-in browser: only the SHA-256 of its cookie token is stored."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    last_seen_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    csrf_token: str = Field(max_length=64)


class LoginFailure(SQLModel, table=True):
    """A refused sign-in, counted per username and address to slow down guessing."""

    __table_args__ = (Index("ix_loginfailure_username_address", "username", "address"),)

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=100)
    address: str = Field(max_length=100)
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class ApiToken(SQLModel, table=True):
    """A token a script sends as `Authorization: Bearer ...` to the JSON API, acting as its
    user; only the SHA-256 of the token is stored."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    created_by: str = Field(max_length=200)
    last_used_at: datetime | None = _ts()
    revoked_at: datetime | None = _ts()


# Outbox: messages waiting for, or past, delivery through a channel.


class OutboxMessage(SQLModel, table=True):
    """One message to one recipient through one channel, delivered at most once.

    `key` is the idempotency key: enqueueing it again stores nothing new, and it travels
    with the message (Message-ID, Idempotency-Key header) so receivers can drop repeats.
    Status: pending, sending (claimed until `lease_until`), sent, failed, cancelled, or
    uncertain (the sender died mid-send on a channel whose receiver cannot drop repeats).
    """

    __table_args__ = (Index("ix_outboxmessage_status_next", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=300, unique=True)
    channel: str = Field(max_length=50)
    kind: str = Field(max_length=50, index=True)
    recipient: str = Field(max_length=500)
    subject: str = Field(default="", sa_column=Column(Text(), nullable=False))
    text: str = Field(sa_column=Column(Text(), nullable=False))
    html: str | None = Field(default=None, sa_column=Column(Text()))
    payload: dict[str, Any] = _json(dict)
    headers: dict[str, str] = _json(dict)
    status: str = Field(default="pending", max_length=20)
    attempts: int = 0
    next_attempt_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    lease_owner: str | None = Field(default=None, max_length=200)
    lease_until: datetime | None = _ts()
    last_error: str | None = Field(default=None, sa_column=Column(Text()))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    sent_at: datetime | None = _ts()
    remote_id: str | None = Field(default=None, max_length=500)
    remote_url: str | None = Field(default=None, max_length=2000)
    draft_id: int | None = Field(default=None, index=True)
    alert_id: int | None = Field(default=None, index=True)


# Defect clusters and alerts.


class DefectCluster(SQLModel, table=True):
    """A group of similar complaints about one product, kept across detection runs.

    `state` and `vectors` are the detector's memory of the cluster (`ClusterState`); the
    other columns repeat what people read, for lists and screens. `version` grows with
    every write, so a person's action and a detection run never overwrite each other.
    """

    __table_args__ = (Index("ix_defectcluster_product_live", "product_id", "live"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64, unique=True)
    product_id: int = Field(foreign_key="product.id")
    # new, growing, stable, resolved, dismissed
    status: str = Field(default="new", max_length=20)
    # False once merged into another cluster or retired (the encoder changed).
    live: bool = True
    merged_into_id: int | None = Field(default=None, foreign_key="defectcluster.id")
    level: int = 0
    title: str = Field(default="", max_length=300)
    keywords: list[str] = _json(list)
    size: int = 0
    authors: int = 0
    # recent, previous, ratio, daily counts (ISO day -> members)
    growth: dict[str, Any] = _json(dict)
    sources: dict[str, int] = _json(dict)
    # mention_id, text, at of the members closest to the centroid
    representatives: list[dict[str, Any]] = _json(list)
    reasons: list[str] = _json(list)
    # Notifications about the cluster wait until then (a team that knows and plans a fix).
    snoozed_until: datetime | None = _ts()
    # Where the team tracks the fix (an issue tracker's page).
    ticket_url: str | None = Field(default=None, max_length=2000)
    first_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    version: int = 1
    state: dict[str, Any] = _json(dict)
    vectors: bytes = Field(sa_column=Column(LargeBinary(), nullable=False))


class DefectClusterMember(SQLModel, table=True):
    """A mention counted in a cluster; a mention counts once per product."""

    __table_args__ = (
        UniqueConstraint("product_id", "mention_id", name="uq_defectclustermember_product_mention"),
    )

    id: int | None = Field(default=None, primary_key=True)
    cluster_id: int = Field(foreign_key="defectcluster.id", index=True)
    product_id: int = Field(foreign_key="product.id")
    mention_id: int = Field(foreign_key="mention.id", index=True)
    added_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class DefectWatch(SQLModel, table=True):
    """Where detection stands for one product: the last labels read and its complaint volume."""

    product_id: int = Field(primary_key=True, foreign_key="product.id")
    # The last classification read, by (classified_at, mention_id); the next run starts
    # there, re-reading a short margin before it for labels committed late.
    cursor_at: datetime | None = _ts()
    cursor_mention_id: int = 0
    # Complaints per UTC day (ISO day -> count): the product's baseline volume.
    daily: dict[str, int] = _json(dict)
    version: int = 1
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class Alert(SQLModel, table=True):
    """A cluster reaching an escalation level: raised once per (cluster, level)."""

    __table_args__ = (UniqueConstraint("cluster_id", "level", name="uq_alert_cluster_level"),)

    id: int | None = Field(default=None, primary_key=True)
    cluster_id: int = Field(foreign_key="defectcluster.id", index=True)
    product_id: int = Field(foreign_key="product.id", index=True)
    level: int
    # open, acknowledged, dismissed, resolved
    status: str = Field(default="open", max_length=20, index=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    title: str = Field(max_length=300)
    summary: str = Field(sa_column=Column(Text(), nullable=False))
    # keywords, representatives, size, authors, growth, sources, measures, reasons
    evidence: dict[str, Any] = _json(dict)
    acted_by: str | None = Field(default=None, max_length=200)
    acted_at: datetime | None = _ts()


# Campaigns: post-purchase check-ins, survey answers and unsubscribes.


class Campaign(SQLModel, table=True):
    """A check-in campaign, mirrored from `[[campaigns]]` settings.

    `definition` is the campaign's settings table as validated; `started_at` is when it was
    first seen, the start of its check-ins when `starts_on` is unset. `paused_at` is set by
    `ascolto campaigns pause` (the settings' `paused` pauses it too). `active` turns false
    when the campaign leaves the settings: its check-ins and answers stay. `origin` is
    `settings` for `[[campaigns]]` or `app` for one saved through the service (web app).
    """

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    definition: dict[str, Any] = _json(dict)
    origin: str = Field(default="settings", max_length=20)
    active: bool = True
    started_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    paused_at: datetime | None = _ts()
    paused_by: str | None = Field(default=None, max_length=200)
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class CheckIn(SQLModel, table=True):
    """One campaign's check-in for one order: planned once, then sent, skipped or answered.

    Status: scheduled (waits for `due_at`), skipped (`skip_reason` is a short code such as
    `opted_out`, `skip_details` says why in words), sent (`outbox_id`), answered.
    """

    __table_args__ = (
        UniqueConstraint("campaign_id", "order_id", name="uq_checkin_campaign_order"),
        Index("ix_checkin_status_due", "status", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    order_id: int = Field(foreign_key="order.id", index=True)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    status: str = Field(default="scheduled", max_length=20)
    skip_reason: str | None = Field(default=None, max_length=40)
    skip_details: str | None = Field(default=None, sa_column=Column(Text()))
    # When the trigger happened (e.g. the delivery), and when the e-mail is to leave.
    trigger_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    language: str | None = Field(default=None, max_length=20)
    recipient: str | None = Field(default=None, max_length=320)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    decided_at: datetime | None = _ts()
    sent_at: datetime | None = _ts()
    expires_at: datetime | None = _ts()
    outbox_id: int | None = Field(default=None, index=True)
    answered_at: datetime | None = _ts()


class SurveyAnswer(SQLModel, table=True):
    """The answer to one check-in; a second submission replaces it (`revisions` counts the
    versions given, 1 at first).

    `mention_id` is the answer as a mention of the `survey answers` source, so its comment is
    classified like any mention; `follow_up_draft_id` is the draft opened for a detractor.
    """

    id: int | None = Field(default=None, primary_key=True)
    checkin_id: int = Field(foreign_key="checkin.id", unique=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    csat: int | None = None
    nps: int | None = None
    comment: str | None = Field(default=None, sa_column=Column(Text()))
    language: str | None = Field(default=None, max_length=20)
    answered_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    revisions: int = 1
    # Set when the answer has been acted on since its last change; cleared by a change.
    acted_at: datetime | None = _ts()
    mention_id: int | None = Field(default=None, foreign_key="mention.id", index=True)
    follow_up_draft_id: int | None = Field(default=None, foreign_key="draft.id")
    review_invited_at: datetime | None = _ts()


class Unsubscribe(SQLModel, table=True):
    """An address that asked for no more check-ins: kept forever, never cleared by an import."""

    id: int | None = Field(default=None, primary_key=True)
    # Normalised (stripped, lower-case), as customers' addresses are stored.
    email: str = Field(max_length=320, unique=True)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    # link (the page's button), one-click (RFC 8058 POST), or a person's name.
    via: str = Field(max_length=200)
    checkin_id: int | None = Field(default=None, foreign_key="checkin.id")
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class ErasedIdentity(SQLModel, table=True):
    """A person erased on request, kept only as a keyed hash of an identifier (an e-mail
    address, or a network handle with its platform) so that nobody contacts them again
    and the identifier itself is never stored."""

    id: int | None = Field(default=None, primary_key=True)
    digest: str = Field(max_length=64, unique=True)
    # email or handle: which contact paths check it.
    kind: str = Field(max_length=20)
    erased_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
