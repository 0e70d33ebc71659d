"""SQLModel tables. Timestamps are timezone-aware UTC; JSON columns hold small documents."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow


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
