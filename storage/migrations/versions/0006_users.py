"""users and their web sessions

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=300), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user")),
        sa.UniqueConstraint("username", name=op.f("uq_user_username")),
    )
    op.create_table(
        "websession",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_websession_user_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_websession")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_websession_token_hash")),
    )
    with op.batch_alter_table("websession", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_websession_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_websession_user_id"), ["user_id"], unique=False)

    op.create_table(
        "loginfailure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("address", sa.String(length=100), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loginfailure")),
    )
    with op.batch_alter_table("loginfailure", schema=None) as batch_op:
        batch_op.create_index(
            "ix_loginfailure_username_address", ["username", "address"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("loginfailure", schema=None) as batch_op:
        batch_op.drop_index("ix_loginfailure_username_address")

    op.drop_table("loginfailure")
    with op.batch_alter_table("websession", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_websession_user_id"))
        batch_op.drop_index(batch_op.f("ix_websession_expires_at"))

    op.drop_table("websession")
    op.drop_table("user")
