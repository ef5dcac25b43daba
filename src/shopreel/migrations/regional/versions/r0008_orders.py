"""orders: one order per seller, its lines and event history

Revision ID: r0008
Revises: r0007
Create Date: 2026-12-08 03:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shopreel.migrations.helpers import region_guard

revision: str = "r0008"
down_revision: str | None = "r0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("id", sa.String(length=48), nullable=False),
        sa.Column("checkout_id", sa.String(length=48), nullable=False),
        sa.Column("buyer_id", sa.String(length=48), nullable=False),
        sa.Column("shop_id", sa.String(length=48), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("subtotal_cents", sa.BigInteger(), nullable=False),
        sa.Column("discount_cents", sa.BigInteger(), nullable=False),
        sa.Column("shipping_cents", sa.BigInteger(), nullable=False),
        sa.Column("tax_cents", sa.BigInteger(), nullable=False),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("tax_jurisdiction", sa.String(length=16), nullable=False),
        sa.Column("shipping_method", sa.String(length=32), nullable=False),
        sa.Column("shipping_label", sa.String(length=120), nullable=False),
        sa.Column("ship_to_ct", sa.LargeBinary(), nullable=True),
        sa.Column("ship_to_state", sa.String(length=8), nullable=False),
        sa.Column("ship_to_country", sa.String(length=2), nullable=False),
        sa.Column("payment_id", sa.String(length=48), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("region", sa.String(length=16), nullable=False),
        region_guard(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("checkout_id", "shop_id", name="uq_orders_checkout_shop"),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(
            "ix_orders_buyer_placed", ["buyer_id", "placed_at", "id"], unique=False
        )
        batch_op.create_index("ix_orders_shop_placed", ["shop_id", "placed_at", "id"], unique=False)

    op.create_table(
        "order_lines",
        sa.Column("id", sa.String(length=48), nullable=False),
        sa.Column("order_id", sa.String(length=48), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("variant_id", sa.String(length=48), nullable=False),
        sa.Column("product_id", sa.String(length=48), nullable=False),
        sa.Column("sku", sa.String(length=255), nullable=True),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price_cents", sa.BigInteger(), nullable=False),
        sa.Column("discount_cents", sa.BigInteger(), nullable=False),
        sa.Column("net_cents", sa.BigInteger(), nullable=False),
        sa.Column("tax_cents", sa.BigInteger(), nullable=False),
        sa.Column("warehouse_id", sa.String(length=48), nullable=True),
        sa.Column("region", sa.String(length=16), nullable=False),
        region_guard(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_lines")),
    )
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.create_index(
            "ix_order_lines_order_position", ["order_id", "position"], unique=False
        )

    op.create_table(
        "order_events",
        sa.Column("id", sa.String(length=48), nullable=False),
        sa.Column("order_id", sa.String(length=48), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("region", sa.String(length=16), nullable=False),
        region_guard(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_events")),
    )
    with op.batch_alter_table("order_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_order_events_order_created", ["order_id", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("order_events", schema=None) as batch_op:
        batch_op.drop_index("ix_order_events_order_created")

    op.drop_table("order_events")
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.drop_index("ix_order_lines_order_position")

    op.drop_table("order_lines")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_shop_placed")
        batch_op.drop_index("ix_orders_buyer_placed")

    op.drop_table("orders")
