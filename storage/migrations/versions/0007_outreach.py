"""outreach: drafts, policy verdicts and contacts

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("mention_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("recipient", sa.String(length=500), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=True),
        sa.Column("language", sa.String(length=20), nullable=False),
        sa.Column("intent", sa.String(length=40), nullable=False),
        sa.Column("template", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=True),
        sa.Column("drafted_text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("verdict", sa.String(length=20), nullable=False),
        sa.Column("verdict_details", sa.JSON(), nullable=False),
        sa.Column("policy_version", sa.String(length=100), nullable=True),
        sa.Column("amended", sa.Boolean(), nullable=False),
        sa.Column("send_after", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["author.id"], name=op.f("fk_draft_author_id_author")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_draft_customer_id_customer")
        ),
        sa.ForeignKeyConstraint(
            ["mention_id"], ["mention.id"], name=op.f("fk_draft_mention_id_mention")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draft")),
        sa.UniqueConstraint("key", name=op.f("uq_draft_key")),
    )
    with op.batch_alter_table("draft", schema=None) as batch_op:
        for column in (
            "author_id",
            "created_at",
            "customer_id",
            "intent",
            "mention_id",
            "outbox_id",
            "status",
        ):
            batch_op.create_index(batch_op.f(f"ix_draft_{column}"), [column], unique=False)

    op.create_table(
        "carecase",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mention_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("first_response_at", UTCDateTime(), nullable=True),
        sa.Column("first_response_draft_id", sa.Integer(), nullable=True),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(length=200), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_carecase_customer_id_customer")
        ),
        sa.ForeignKeyConstraint(
            ["first_response_draft_id"],
            ["draft.id"],
            name=op.f("fk_carecase_first_response_draft_id_draft"),
        ),
        sa.ForeignKeyConstraint(
            ["mention_id"], ["mention.id"], name=op.f("fk_carecase_mention_id_mention")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carecase")),
        sa.UniqueConstraint("mention_id", name=op.f("uq_carecase_mention_id")),
    )
    with op.batch_alter_table("carecase", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_carecase_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_carecase_opened_at"), ["opened_at"], unique=False)

    op.create_table(
        "contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["author.id"], name=op.f("fk_contact_author_id_author")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_contact_customer_id_customer")
        ),
        sa.ForeignKeyConstraint(["draft_id"], ["draft.id"], name=op.f("fk_contact_draft_id_draft")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact")),
        sa.UniqueConstraint("draft_id", name=op.f("uq_contact_draft_id")),
    )
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_contact_author_id"), ["author_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_contact_customer_id"), ["customer_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_customer_id"))
        batch_op.drop_index(batch_op.f("ix_contact_author_id"))
        batch_op.drop_index(batch_op.f("ix_contact_at"))
    op.drop_table("contact")
    with op.batch_alter_table("carecase", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carecase_opened_at"))
        batch_op.drop_index(batch_op.f("ix_carecase_customer_id"))
    op.drop_table("carecase")
    with op.batch_alter_table("draft", schema=None) as batch_op:
        for column in (
            "status",
            "outbox_id",
            "mention_id",
            "intent",
            "customer_id",
            "created_at",
            "author_id",
        ):
            batch_op.drop_index(batch_op.f(f"ix_draft_{column}"))
    op.drop_table("draft")
