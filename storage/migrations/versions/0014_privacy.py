"""privacy: withdrawn mentions, and erased people kept only as keyed hashes

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN: a batch copy of `mention` would drop the rollup triggers on SQLite.
    op.add_column("mention", sa.Column("withdrawn_at", UTCDateTime(), nullable=True))
    op.create_table(
        "erasedidentity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("erased_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasedidentity")),
        sa.UniqueConstraint("digest", name=op.f("uq_erasedidentity_digest")),
    )


def downgrade() -> None:
    op.drop_table("erasedidentity")
    op.drop_column("mention", "withdrawn_at")
