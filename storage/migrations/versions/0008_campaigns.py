"""campaigns: post-purchase check-ins, survey invitations and answers

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "campaign",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("paused_at", UTCDateTime(), nullable=True),
        sa.Column("paused_by", sa.String(length=200), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign")),
        sa.UniqueConstraint("name", name=op.f("uq_campaign_name")),
    )

    op.create_table(
        "checkin",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("skip_reason", sa.String(length=40), nullable=True),
        sa.Column("skip_details", sa.Text(), nullable=True),
        sa.Column("trigger_at", UTCDateTime(), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("language", sa.String(length=20), nullable=True),
        sa.Column("recipient", sa.String(length=320), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("answered_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_checkin_campaign_id_campaign")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_checkin_customer_id_customer")
        ),
        sa.ForeignKeyConstraint(["order_id"], ["order.id"], name=op.f("fk_checkin_order_id_order")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkin")),
        sa.UniqueConstraint("campaign_id", "order_id", name="uq_checkin_campaign_order"),
    )
    with op.batch_alter_table("checkin", schema=None) as batch_op:
        for column in ("campaign_id", "customer_id", "order_id", "outbox_id"):
            batch_op.create_index(batch_op.f(f"ix_checkin_{column}"), [column], unique=False)
        batch_op.create_index("ix_checkin_status_due", ["status", "due_at"], unique=False)

    op.create_table(
        "surveyanswer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("checkin_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("csat", sa.Integer(), nullable=True),
        sa.Column("nps", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("language", sa.String(length=20), nullable=True),
        sa.Column("answered_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("revisions", sa.Integer(), nullable=False),
        sa.Column("acted_at", UTCDateTime(), nullable=True),
        sa.Column("mention_id", sa.Integer(), nullable=True),
        sa.Column("follow_up_draft_id", sa.Integer(), nullable=True),
        sa.Column("review_invited_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_surveyanswer_campaign_id_campaign")
        ),
        sa.ForeignKeyConstraint(
            ["checkin_id"], ["checkin.id"], name=op.f("fk_surveyanswer_checkin_id_checkin")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_surveyanswer_customer_id_customer")
        ),
        sa.ForeignKeyConstraint(
            ["follow_up_draft_id"],
            ["draft.id"],
            name=op.f("fk_surveyanswer_follow_up_draft_id_draft"),
        ),
        sa.ForeignKeyConstraint(
            ["mention_id"], ["mention.id"], name=op.f("fk_surveyanswer_mention_id_mention")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_surveyanswer")),
        sa.UniqueConstraint("checkin_id", name=op.f("uq_surveyanswer_checkin_id")),
    )
    with op.batch_alter_table("surveyanswer", schema=None) as batch_op:
        for column in ("answered_at", "campaign_id", "customer_id", "mention_id"):
            batch_op.create_index(batch_op.f(f"ix_surveyanswer_{column}"), [column], unique=False)

    op.create_table(
        "unsubscribe",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("via", sa.String(length=200), nullable=False),
        sa.Column("checkin_id", sa.Integer(), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["checkin_id"], ["checkin.id"], name=op.f("fk_unsubscribe_checkin_id_checkin")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_unsubscribe_customer_id_customer")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unsubscribe")),
        sa.UniqueConstraint("email", name=op.f("uq_unsubscribe_email")),
    )
    with op.batch_alter_table("unsubscribe", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_unsubscribe_customer_id"), ["customer_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("unsubscribe", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unsubscribe_customer_id"))
    op.drop_table("unsubscribe")
    with op.batch_alter_table("surveyanswer", schema=None) as batch_op:
        for column in ("mention_id", "customer_id", "campaign_id", "answered_at"):
            batch_op.drop_index(batch_op.f(f"ix_surveyanswer_{column}"))
    op.drop_table("surveyanswer")
    with op.batch_alter_table("checkin", schema=None) as batch_op:
        batch_op.drop_index("ix_checkin_status_due")
        for column in ("outbox_id", "order_id", "customer_id", "campaign_id"):
            batch_op.drop_index(batch_op.f(f"ix_checkin_{column}"))
    op.drop_table("checkin")
    op.drop_table("campaign")
