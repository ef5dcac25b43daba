"""stock reservations: reserved and sold per level, reservations with a TTL

Revision ID: g0003
Revises: g0002
Create Date: 2026-11-26 00:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "g0003"
down_revision: str | None = "g0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # SQLite cannot add a CHECK with ALTER TABLE: batch mode rebuilds the table there.
    with op.batch_alter_table("inventory_levels", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reserved", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("sold", sa.Integer(), server_default="0", nullable=False))
        batch_op.create_check_constraint(
            op.f("ck_inventory_levels_reserved_non_negative"), "reserved >= 0"
        )
        batch_op.create_check_constraint(op.f("ck_inventory_levels_sold_non_negative"), "sold >= 0")
        batch_op.create_check_constraint(
            op.f("ck_inventory_levels_available_non_negative"), "on_hand - reserved - sold >= 0"
        )

    op.create_table(
        "stock_reservations",
        sa.Column("id", sa.String(length=48), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("buyer_id", sa.String(length=48), nullable=False),
        sa.Column("shop_id", sa.String(length=48), nullable=False),
        sa.Column("variant_id", sa.String(length=48), nullable=False),
        sa.Column("warehouse_id", sa.String(length=48), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("deal_id", sa.String(length=64), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_stock_reservations_quantity_positive")),
        sa.CheckConstraint(
            "status IN ('active', 'claimed', 'released', 'expired')",
            name=op.f("ck_stock_reservations_status_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_reservations")),
    )
    with op.batch_alter_table("stock_reservations", schema=None) as batch_op:
        batch_op.create_index("ix_stock_reservations_buyer", ["buyer_id"], unique=False)
        batch_op.create_index("ix_stock_reservations_reference", ["reference"], unique=False)
        batch_op.create_index(
            "ix_stock_reservations_status_expires", ["status", "expires_at"], unique=False
        )
        batch_op.create_index(
            "uq_stock_reservations_active_reference_variant",
            ["reference", "variant_id"],
            unique=True,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )

    op.create_table(
        "purchase_cap_counters",
        sa.Column("deal_id", sa.String(length=64), nullable=False),
        sa.Column("buyer_id", sa.String(length=48), nullable=False),
        sa.Column("variant_id", sa.String(length=48), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "quantity >= 0", name=op.f("ck_purchase_cap_counters_quantity_non_negative")
        ),
        sa.PrimaryKeyConstraint(
            "deal_id", "buyer_id", "variant_id", name=op.f("pk_purchase_cap_counters")
        ),
    )


def downgrade() -> None:
    op.drop_table("purchase_cap_counters")
    with op.batch_alter_table("stock_reservations", schema=None) as batch_op:
        batch_op.drop_index("uq_stock_reservations_active_reference_variant")
        batch_op.drop_index("ix_stock_reservations_status_expires")
        batch_op.drop_index("ix_stock_reservations_reference")
        batch_op.drop_index("ix_stock_reservations_buyer")
    op.drop_table("stock_reservations")
    with op.batch_alter_table("inventory_levels", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_inventory_levels_available_non_negative"), type_="check")
        batch_op.drop_constraint(op.f("ck_inventory_levels_sold_non_negative"), type_="check")
        batch_op.drop_constraint(op.f("ck_inventory_levels_reserved_non_negative"), type_="check")
        batch_op.drop_column("sold")
        batch_op.drop_column("reserved")
