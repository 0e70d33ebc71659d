"""defect clusters, their members and alerts

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "defectcluster",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("live", sa.Boolean(), nullable=False),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("authors", sa.Integer(), nullable=False),
        sa.Column("growth", sa.JSON(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("representatives", sa.JSON(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("first_at", UTCDateTime(), nullable=False),
        sa.Column("last_at", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("vectors", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["defectcluster.id"],
            name=op.f("fk_defectcluster_merged_into_id_defectcluster"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_defectcluster_product_id_product")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_defectcluster")),
        sa.UniqueConstraint("key", name=op.f("uq_defectcluster_key")),
    )
    with op.batch_alter_table("defectcluster", schema=None) as batch_op:
        batch_op.create_index("ix_defectcluster_product_live", ["product_id", "live"], unique=False)

    op.create_table(
        "defectclustermember",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cluster_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("mention_id", sa.Integer(), nullable=False),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cluster_id"],
            ["defectcluster.id"],
            name=op.f("fk_defectclustermember_cluster_id_defectcluster"),
        ),
        sa.ForeignKeyConstraint(
            ["mention_id"], ["mention.id"], name=op.f("fk_defectclustermember_mention_id_mention")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_defectclustermember_product_id_product")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_defectclustermember")),
        sa.UniqueConstraint(
            "product_id", "mention_id", name="uq_defectclustermember_product_mention"
        ),
    )
    with op.batch_alter_table("defectclustermember", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_defectclustermember_cluster_id"), ["cluster_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_defectclustermember_mention_id"), ["mention_id"], unique=False
        )

    op.create_table(
        "defectwatch",
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("cursor_at", UTCDateTime(), nullable=True),
        sa.Column("cursor_mention_id", sa.Integer(), nullable=False),
        sa.Column("daily", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_defectwatch_product_id_product")
        ),
        sa.PrimaryKeyConstraint("product_id", name=op.f("pk_defectwatch")),
    )

    op.create_table(
        "alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cluster_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("acted_by", sa.String(length=200), nullable=True),
        sa.Column("acted_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["cluster_id"], ["defectcluster.id"], name=op.f("fk_alert_cluster_id_defectcluster")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_alert_product_id_product")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert")),
        sa.UniqueConstraint("cluster_id", "level", name="uq_alert_cluster_level"),
    )
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_cluster_id"), ["cluster_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alert_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_alert_product_id"), ["product_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alert_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_status"))
        batch_op.drop_index(batch_op.f("ix_alert_product_id"))
        batch_op.drop_index(batch_op.f("ix_alert_created_at"))
        batch_op.drop_index(batch_op.f("ix_alert_cluster_id"))

    op.drop_table("alert")
    op.drop_table("defectwatch")
    with op.batch_alter_table("defectclustermember", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_defectclustermember_mention_id"))
        batch_op.drop_index(batch_op.f("ix_defectclustermember_cluster_id"))

    op.drop_table("defectclustermember")
    with op.batch_alter_table("defectcluster", schema=None) as batch_op:
        batch_op.drop_index("ix_defectcluster_product_live")

    op.drop_table("defectcluster")
