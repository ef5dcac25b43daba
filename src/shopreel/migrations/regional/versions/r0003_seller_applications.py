"""seller applications and warehouse addresses

Revision ID: r0003
Revises: r0002
Create Date: 2026-11-25 23:02:09.861578
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shopreel.migrations.helpers import region_guard

revision: str = "r0003"
down_revision: str | None = "r0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "seller_application_events",
        sa.Column("id", sa.String(length=48), nullable=False),
        sa.Column("application_id", sa.String(length=48), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.String(length=48), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("region", sa.String(length=16), nullable=False),
        region_guard(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seller_application_events")),
    )
    with op.batch_alter_table("seller_application_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_seller_application_events_app_created",
            ["application_id", "created_at"],
            unique=False,
        )

    op.create_table(
        "seller_applications",
        sa.Column("id", sa.String(length=48), nullable=False),
        sa.Column("user_id", sa.String(length=48), nullable=False),
        sa.Column("shop_id", sa.String(length=48), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("legal_name_ct", sa.LargeBinary(), nullable=True),
        sa.Column("address_ct", sa.LargeBinary(), nullable=True),
        sa.Column("tax_id_ct", sa.LargeBinary(), nullable=True),
        sa.Column("contact_ct", sa.LargeBinary(), nullable=True),
        sa.Column("bank_ct", sa.LargeBinary(), nullable=True),
        sa.Column("rejection_reasons", sa.JSON(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=48), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("region", sa.String(length=16), nullable=False),
        region_guard(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seller_applications")),
        sa.UniqueConstraint("shop_id", name=op.f("uq_seller_applications_shop_id")),
    )
    with op.batch_alter_table("seller_applications", schema=None) as batch_op:
        batch_op.create_index(
            "ix_seller_applications_state_submitted", ["state", "submitted_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_seller_applications_user_id"), ["user_id"], unique=True
        )

    op.create_table(
        "warehouse_addresses",
        sa.Column("warehouse_id", sa.String(length=48), nullable=False),
        sa.Column("owner_id", sa.String(length=48), nullable=False),
        sa.Column("address_ct", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("region", sa.String(length=16), nullable=False),
        region_guard(),
        sa.PrimaryKeyConstraint("warehouse_id", name=op.f("pk_warehouse_addresses")),
    )
    with op.batch_alter_table("warehouse_addresses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_warehouse_addresses_owner_id"), ["owner_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("warehouse_addresses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_warehouse_addresses_owner_id"))

    op.drop_table("warehouse_addresses")
    with op.batch_alter_table("seller_applications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_seller_applications_user_id"))
        batch_op.drop_index("ix_seller_applications_state_submitted")

    op.drop_table("seller_applications")
    with op.batch_alter_table("seller_application_events", schema=None) as batch_op:
        batch_op.drop_index("ix_seller_application_events_app_created")

    op.drop_table("seller_application_events")
