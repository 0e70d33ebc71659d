"""severity and confidence: how strongly a complaint blames, how sure the labels are

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Plain ADD/DROP COLUMN, not batch mode: SQLite's batch mode copies the table, which would
# drop the mentionday triggers of migration 0010 on `classification`.


def upgrade() -> None:
    op.add_column("classification", sa.Column("severity", sa.String(length=20), nullable=True))
    op.add_column(
        "classification",
        sa.Column("severity_scores", sa.JSON(), nullable=False, server_default="{}"),
    )
    op.add_column("classification", sa.Column("confidence", sa.Float(), nullable=True))


def downgrade() -> None:
    op.drop_column("classification", "confidence")
    op.drop_column("classification", "severity_scores")
    op.drop_column("classification", "severity")
