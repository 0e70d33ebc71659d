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
    """A webhook delivery already accepted, so a replay is acknowledged but not applied twice."""

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
    products: list[str] = _json(list)
    unclassifiable_reason: str | None = Field(default=None, max_length=200)
    truncated: bool = False
    copied_from_id: int | None = Field(default=None, foreign_key="mention.id", index=True)
    classified_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True)
    )


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
    # sentiment, complaint, issue or urgency
    task: str = Field(max_length=20, index=True)
    # {"sentiment": "negative"}, {"complaint": true}, {"issues": [...]}, {"urgency": [...]}
    label: dict[str, Any] = _json(dict)
    mention_id: int | None = Field(default=None, foreign_key="mention.id", index=True)
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    note: str | None = Field(default=None, sa_column=Column(Text()))
