"""corrections: the labels people set on a classification; undone labelled examples

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Plain ADD/DROP COLUMN, not batch mode: SQLite's batch mode copies the table, which would
# drop the mentionday triggers of migration 0010 on `classification`.


def upgrade() -> None:
    op.add_column(
        "classification",
        sa.Column("corrected", sa.JSON(), nullable=False, server_default="{}"),
    )
    op.add_column("labelledexample", sa.Column("removed_at", UTCDateTime(), nullable=True))
    op.add_column("labelledexample", sa.Column("removed_by", sa.String(length=200), nullable=True))


def downgrade() -> None:
    op.drop_column("labelledexample", "removed_by")
    op.drop_column("labelledexample", "removed_at")
    op.drop_column("classification", "corrected")
