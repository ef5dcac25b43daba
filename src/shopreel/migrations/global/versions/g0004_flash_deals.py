"""flash deals: a deal price for a time window, capped per buyer

Revision ID: g0004
Revises: g0003
Create Date: 2026-12-08 03:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "g0004"
down_revision: str | None = "g0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "flash_deals",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("shop_id", sa.String(length=48), nullable=False),
        sa.Column("product_id", sa.String(length=48), nullable=False),
        sa.Column("variant_id", sa.String(length=48), nullable=False),
        sa.Column("deal_price_cents", sa.Integer(), nullable=False),
        sa.Column("list_price_cents", sa.Integer(), nullable=False),
        sa.Column("reference_low_cents", sa.Integer(), nullable=False),
        sa.Column("max_per_buyer", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=48), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_flash_deals_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_flash_deals_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["variant_id"],
            ["variants.id"],
            name=op.f("fk_flash_deals_variant_id_variants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flash_deals")),
    )
    with op.batch_alter_table("flash_deals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_flash_deals_shop_id"), ["shop_id"], unique=False)
        batch_op.create_index("ix_flash_deals_variant_starts", ["variant_id", "starts_at"])


def downgrade() -> None:
    with op.batch_alter_table("flash_deals", schema=None) as batch_op:
        batch_op.drop_index("ix_flash_deals_variant_starts")
        batch_op.drop_index(batch_op.f("ix_flash_deals_shop_id"))
    op.drop_table("flash_deals")
