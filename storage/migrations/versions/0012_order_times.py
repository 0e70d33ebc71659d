"""order times: when the source last changed an order, and when a customer's consent was said

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("order", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_updated_at", UTCDateTime(), nullable=True))
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("consent_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_column("consent_at")
    with op.batch_alter_table("order", schema=None) as batch_op:
        batch_op.drop_column("source_updated_at")
