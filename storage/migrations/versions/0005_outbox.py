"""outbox: messages waiting for, or past, delivery through a channel

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outboxmessage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("channel", sa.String(length=50), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("recipient", sa.String(length=500), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("lease_owner", sa.String(length=200), nullable=True),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("remote_id", sa.String(length=500), nullable=True),
        sa.Column("remote_url", sa.String(length=2000), nullable=True),
        sa.Column("draft_id", sa.Integer(), nullable=True),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outboxmessage")),
        sa.UniqueConstraint("key", name=op.f("uq_outboxmessage_key")),
    )
    with op.batch_alter_table("outboxmessage", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outboxmessage_alert_id"), ["alert_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_outboxmessage_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_outboxmessage_draft_id"), ["draft_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outboxmessage_kind"), ["kind"], unique=False)
        batch_op.create_index(
            "ix_outboxmessage_status_next", ["status", "next_attempt_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("outboxmessage", schema=None) as batch_op:
        batch_op.drop_index("ix_outboxmessage_status_next")
        batch_op.drop_index(batch_op.f("ix_outboxmessage_kind"))
        batch_op.drop_index(batch_op.f("ix_outboxmessage_draft_id"))
        batch_op.drop_index(batch_op.f("ix_outboxmessage_created_at"))
        batch_op.drop_index(batch_op.f("ix_outboxmessage_alert_id"))

    op.drop_table("outboxmessage")
