"""classification: labels, scores and embeddings of mentions; labelled examples

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "classification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mention_id", sa.Integer(), nullable=False),
        sa.Column("model_version", sa.String(length=200), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=20), nullable=True),
        sa.Column("language_score", sa.Float(), nullable=True),
        sa.Column("sentiment", sa.String(length=20), nullable=True),
        sa.Column("sentiment_scores", sa.JSON(), nullable=False),
        sa.Column("complaint", sa.Boolean(), nullable=True),
        sa.Column("complaint_score", sa.Float(), nullable=True),
        sa.Column("issues", sa.JSON(), nullable=False),
        sa.Column("issue_scores", sa.JSON(), nullable=False),
        sa.Column("urgency", sa.JSON(), nullable=False),
        sa.Column("urgency_scores", sa.JSON(), nullable=False),
        sa.Column("products", sa.JSON(), nullable=False),
        sa.Column("unclassifiable_reason", sa.String(length=200), nullable=True),
        sa.Column("truncated", sa.Boolean(), nullable=False),
        sa.Column("copied_from_id", sa.Integer(), nullable=True),
        sa.Column("classified_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["copied_from_id"],
            ["mention.id"],
            name=op.f("fk_classification_copied_from_id_mention"),
        ),
        sa.ForeignKeyConstraint(
            ["mention_id"], ["mention.id"], name=op.f("fk_classification_mention_id_mention")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classification")),
        sa.UniqueConstraint("mention_id", name=op.f("uq_classification_mention_id")),
    )
    with op.batch_alter_table("classification", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_classification_classified_at"), ["classified_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_classification_copied_from_id"), ["copied_from_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_classification_model_version"), ["model_version"], unique=False
        )

    op.create_table(
        "labelledexample",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("lang", sa.String(length=20), nullable=True),
        sa.Column("task", sa.String(length=20), nullable=False),
        sa.Column("label", sa.JSON(), nullable=False),
        sa.Column("mention_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["mention_id"], ["mention.id"], name=op.f("fk_labelledexample_mention_id_mention")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labelledexample")),
    )
    with op.batch_alter_table("labelledexample", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_labelledexample_mention_id"), ["mention_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_labelledexample_task"), ["task"], unique=False)

    op.create_table(
        "mentionembedding",
        sa.Column("mention_id", sa.Integer(), nullable=False),
        sa.Column("model_version", sa.String(length=200), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["mention_id"], ["mention.id"], name=op.f("fk_mentionembedding_mention_id_mention")
        ),
        sa.PrimaryKeyConstraint("mention_id", name=op.f("pk_mentionembedding")),
    )


def downgrade() -> None:
    op.drop_table("mentionembedding")
    with op.batch_alter_table("labelledexample", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_labelledexample_task"))
        batch_op.drop_index(batch_op.f("ix_labelledexample_mention_id"))

    op.drop_table("labelledexample")
    with op.batch_alter_table("classification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_classification_model_version"))
        batch_op.drop_index(batch_op.f("ix_classification_copied_from_id"))
        batch_op.drop_index(batch_op.f("ix_classification_classified_at"))

    op.drop_table("classification")
