"""draft sources: which source wrote a draft (template, history, language model), what it
reported, how long it took and what it cost

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("draft", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("source", sa.String(length=40), nullable=False, server_default="template")
        )
        batch_op.add_column(
            sa.Column("source_details", sa.JSON(), nullable=False, server_default="{}")
        )
        batch_op.add_column(sa.Column("source_ms", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("source_cost", sa.Float(), nullable=True))
        batch_op.create_index(batch_op.f("ix_draft_source"), ["source"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("draft", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_draft_source"))
        batch_op.drop_column("source_cost")
        batch_op.drop_column("source_ms")
        batch_op.drop_column("source_details")
        batch_op.drop_column("source")
