"""carts: a buyer's multi-seller cart

Revision ID: r0007
Revises: r0006
Create Date: 2026-12-08 03:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shopreel.migrations.helpers import region_guard

revision: str = "r0007"
down_revision: str | None = "r0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "carts",
        sa.Column("id", sa.String(length=48), nullable=False),
        sa.Column("user_id", sa.String(length=48), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("region", sa.String(length=16), nullable=False),
        region_guard(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carts")),
        sa.UniqueConstraint("user_id", name=op.f("uq_carts_user_id")),
    )
    op.create_table(
        "cart_items",
        sa.Column("id", sa.String(length=48), nullable=False),
        sa.Column("cart_id", sa.String(length=48), nullable=False),
        sa.Column("variant_id", sa.String(length=48), nullable=False),
        sa.Column("product_id", sa.String(length=48), nullable=False),
        sa.Column("shop_id", sa.String(length=48), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("region", sa.String(length=16), nullable=False),
        region_guard(),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_cart_items_quantity_positive")),
        sa.CheckConstraint(
            "unit_price_cents >= 0", name=op.f("ck_cart_items_unit_price_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["cart_id"],
            ["carts.id"],
            name=op.f("fk_cart_items_cart_id_carts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cart_items")),
    )
    with op.batch_alter_table("cart_items", schema=None) as batch_op:
        batch_op.create_index("ix_cart_items_cart_variant", ["cart_id", "variant_id"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("cart_items", schema=None) as batch_op:
        batch_op.drop_index("ix_cart_items_cart_variant")

    op.drop_table("cart_items")
    op.drop_table("carts")
