"""access tickets and break-glass grants

Bulk-access tickets and break-glass grants with their approvals
(``shopreel.sovereignty.access_models``). Ids, regions, roles and stated reasons only; no
personal data leaves its region.

Revision ID: c0004
Revises: c0003
Create Date: 2026-11-27 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c0004"
down_revision: str | None = "c0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "access_tickets",
        sa.Column("id", sa.String(length=48), nullable=False),
        sa.Column("requester_id", sa.String(length=64), nullable=False),
        sa.Column("requester_jurisdiction", sa.String(length=8), nullable=False),
        sa.Column("region", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("owner_ids", sa.JSON(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=False),
        sa.Column("justification", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_by", sa.String(length=64), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_tickets")),
    )
    with op.batch_alter_table("access_tickets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_access_tickets_requester_id"), ["requester_id"], unique=False
        )
        batch_op.create_index(
            "ix_access_tickets_status_created", ["status", "created_at"], unique=False
        )

    op.create_table(
        "break_glass_grants",
        sa.Column("id", sa.String(length=48), nullable=False),
        sa.Column("requester_id", sa.String(length=64), nullable=False),
        sa.Column("requester_jurisdiction", sa.String(length=8), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_break_glass_grants")),
    )
    with op.batch_alter_table("break_glass_grants", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_break_glass_grants_requester_id"), ["requester_id"], unique=False
        )
        batch_op.create_index(
            "ix_break_glass_grants_status_created", ["status", "created_at"], unique=False
        )

    op.create_table(
        "break_glass_approvals",
        sa.Column("grant_id", sa.String(length=48), nullable=False),
        sa.Column("approver_id", sa.String(length=64), nullable=False),
        sa.Column("approver_jurisdiction", sa.String(length=8), nullable=False),
        sa.Column("approver_region", sa.String(length=16), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["break_glass_grants.id"],
            name=op.f("fk_break_glass_approvals_grant_id_break_glass_grants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("grant_id", "approver_id", name=op.f("pk_break_glass_approvals")),
    )


def downgrade() -> None:
    op.drop_table("break_glass_approvals")
    with op.batch_alter_table("break_glass_grants", schema=None) as batch_op:
        batch_op.drop_index("ix_break_glass_grants_status_created")
        batch_op.drop_index(batch_op.f("ix_break_glass_grants_requester_id"))
    op.drop_table("break_glass_grants")
    with op.batch_alter_table("access_tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_access_tickets_status_created")
        batch_op.drop_index(batch_op.f("ix_access_tickets_requester_id"))
    op.drop_table("access_tickets")
