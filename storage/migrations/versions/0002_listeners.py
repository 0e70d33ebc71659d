"""listeners: mention details, customers, orders, quarantine

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("name", sa.String(length=300), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("language", sa.String(length=20), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("consent", sa.Boolean(), nullable=True),
        sa.Column("do_not_contact", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer")),
        sa.UniqueConstraint("email", name=op.f("uq_customer_email")),
    )
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customer_external_id"), ["external_id"], unique=False)

    op.create_table(
        "inboundwebhook",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.String(length=200), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=100), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"], ["source.id"], name=op.f("fk_inboundwebhook_source_id_source")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inboundwebhook")),
        sa.UniqueConstraint("delivery_id", name=op.f("uq_inboundwebhook_delivery_id")),
    )
    with op.batch_alter_table("inboundwebhook", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inboundwebhook_source_id"), ["source_id"], unique=False
        )

    op.create_table(
        "order",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("total", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("ordered_at", UTCDateTime(), nullable=True),
        sa.Column("shipped_at", UTCDateTime(), nullable=True),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.Column("returned_at", UTCDateTime(), nullable=True),
        sa.Column("refunded_at", UTCDateTime(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_order_customer_id_customer")
        ),
        sa.ForeignKeyConstraint(
            ["source_id"], ["source.id"], name=op.f("fk_order_source_id_source")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order")),
        sa.UniqueConstraint("source_id", "external_id", name="uq_order_source_external"),
    )
    with op.batch_alter_table("order", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_order_delivered_at"), ["delivered_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_order_source_id"), ["source_id"], unique=False)

    op.create_table(
        "quarantineditem",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=500), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"], ["source.id"], name=op.f("fk_quarantineditem_source_id_source")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantineditem")),
    )
    with op.batch_alter_table("quarantineditem", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_quarantineditem_source_id"), ["source_id"], unique=False
        )

    op.create_table(
        "orderevent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=20), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["order.id"], name=op.f("fk_orderevent_order_id_order")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orderevent")),
        sa.UniqueConstraint("order_id", "event", name="uq_orderevent_order_event"),
    )
    with op.batch_alter_table("orderevent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_orderevent_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_orderevent_order_id"), ["order_id"], unique=False)

    op.create_table(
        "orderline",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=100), nullable=True),
        sa.Column("title", sa.String(length=500), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"], ["order.id"], name=op.f("fk_orderline_order_id_order")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_orderline_product_id_product")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orderline")),
    )
    with op.batch_alter_table("orderline", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_orderline_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_orderline_product_id"), ["product_id"], unique=False)

    with op.batch_alter_table("author", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_author_customer_id"), ["customer_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_author_customer_id_customer"), "customer", ["customer_id"], ["id"]
        )

    with op.batch_alter_table("listenerrun", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("items_quarantined", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("mention", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=20), nullable=False, server_default="post")
        )
        batch_op.add_column(sa.Column("lang", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("rating", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("parent_external_id", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("extra", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("deleted_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("simhash", sa.BigInteger(), nullable=True))
        for band in range(4):
            batch_op.add_column(sa.Column(f"simhash_b{band}", sa.Integer(), nullable=True))
            batch_op.create_index(f"ix_mention_simhash_b{band}", [f"simhash_b{band}"])
        batch_op.add_column(sa.Column("duplicate_of_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_mention_duplicate_of_id"), ["duplicate_of_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_mention_duplicate_of_id_mention"), "mention", ["duplicate_of_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("listenerrun", schema=None) as batch_op:
        batch_op.drop_column("items_quarantined")
    with op.batch_alter_table("mention", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_mention_duplicate_of_id_mention"), type_="foreignkey"
        )
        for band in range(4):
            batch_op.drop_index(f"ix_mention_simhash_b{band}")
            batch_op.drop_column(f"simhash_b{band}")
        batch_op.drop_index(batch_op.f("ix_mention_duplicate_of_id"))
        batch_op.drop_column("duplicate_of_id")
        batch_op.drop_column("simhash")
        batch_op.drop_column("deleted_at")
        batch_op.drop_column("extra")
        batch_op.drop_column("parent_external_id")
        batch_op.drop_column("rating")
        batch_op.drop_column("lang")
        batch_op.drop_column("kind")

    with op.batch_alter_table("author", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_author_customer_id_customer"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_author_customer_id"))
        batch_op.drop_column("customer_id")

    with op.batch_alter_table("orderline", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orderline_product_id"))
        batch_op.drop_index(batch_op.f("ix_orderline_order_id"))

    op.drop_table("orderline")
    with op.batch_alter_table("orderevent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orderevent_order_id"))
        batch_op.drop_index(batch_op.f("ix_orderevent_at"))

    op.drop_table("orderevent")
    with op.batch_alter_table("quarantineditem", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quarantineditem_source_id"))

    op.drop_table("quarantineditem")
    with op.batch_alter_table("order", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_source_id"))
        batch_op.drop_index(batch_op.f("ix_order_delivered_at"))
        batch_op.drop_index(batch_op.f("ix_order_customer_id"))

    op.drop_table("order")
    with op.batch_alter_table("inboundwebhook", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inboundwebhook_source_id"))

    op.drop_table("inboundwebhook")
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_external_id"))

    op.drop_table("customer")
