"""sources, mentions, authors, products, runs, audit

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "auditevent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("subject_type", sa.String(length=50), nullable=True),
        sa.Column("subject_id", sa.String(length=200), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_auditevent"),
    )
    with op.batch_alter_table("auditevent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auditevent_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_auditevent_at"), ["at"], unique=False)

    op.create_table(
        "author",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=200), nullable=False),
        sa.Column("handle", sa.String(length=300), nullable=False),
        sa.Column("display_name", sa.String(length=300), nullable=True),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("first_seen_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_author"),
        sa.UniqueConstraint("platform", "handle", name="uq_author_platform_handle"),
    )
    op.create_table(
        "product",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("skus", sa.JSON(), nullable=False),
        sa.Column("launched_on", sa.Date(), nullable=True),
        sa.Column("watch_days", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_product"),
        sa.UniqueConstraint("name", name="uq_product_name"),
    )
    op.create_table(
        "source",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("lease_owner", sa.String(length=200), nullable=True),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_source"),
        sa.UniqueConstraint("name", name="uq_source_name"),
    )
    op.create_table(
        "listenerrun",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("items_seen", sa.Integer(), nullable=False),
        sa.Column("items_new", sa.Integer(), nullable=False),
        sa.Column("items_updated", sa.Integer(), nullable=False),
        sa.Column("items_skipped", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("warning", sa.Text(), nullable=True),
        sa.Column("cursor", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_id"], ["source.id"], name="fk_listenerrun_source_id_source"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_listenerrun"),
    )
    with op.batch_alter_table("listenerrun", schema=None) as batch_op:
        batch_op.create_index(
            "ix_listenerrun_source_started", ["source_id", "started_at"], unique=False
        )

    op.create_table(
        "mention",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=500), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.Column("fetched_at", UTCDateTime(), nullable=False),
        sa.Column("edited_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["author_id"], ["author.id"], name="fk_mention_author_id_author"),
        sa.ForeignKeyConstraint(["source_id"], ["source.id"], name="fk_mention_source_id_source"),
        sa.PrimaryKeyConstraint("id", name="pk_mention"),
        sa.UniqueConstraint("source_id", "external_id", name="uq_mention_source_external"),
    )
    with op.batch_alter_table("mention", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mention_author_id"), ["author_id"], unique=False)
        batch_op.create_index("ix_mention_fetched_at", ["fetched_at"], unique=False)
        batch_op.create_index("ix_mention_published_at", ["published_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_mention_source_id"), ["source_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("mention", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mention_source_id"))
        batch_op.drop_index("ix_mention_published_at")
        batch_op.drop_index("ix_mention_fetched_at")
        batch_op.drop_index(batch_op.f("ix_mention_author_id"))

    op.drop_table("mention")
    with op.batch_alter_table("listenerrun", schema=None) as batch_op:
        batch_op.drop_index("ix_listenerrun_source_started")

    op.drop_table("listenerrun")
    op.drop_table("source")
    op.drop_table("product")
    op.drop_table("author")
    with op.batch_alter_table("auditevent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auditevent_at"))
        batch_op.drop_index(batch_op.f("ix_auditevent_action"))

    op.drop_table("auditevent")
