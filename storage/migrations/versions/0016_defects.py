"""defect lifecycle: a cluster can be snoozed until a date and linked to a ticket

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("defectcluster", schema=None) as batch_op:
        batch_op.add_column(sa.Column("snoozed_until", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("ticket_url", sa.String(length=2000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("defectcluster", schema=None) as batch_op:
        batch_op.drop_column("ticket_url")
        batch_op.drop_column("snoozed_until")
