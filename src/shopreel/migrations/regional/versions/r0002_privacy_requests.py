"""privacy requests and export archives

Revision ID: r0002
Revises: r0001
Create Date: 2026-11-27 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shopreel.migrations.helpers import region_guard

revision: str = "r0002"
down_revision: str | None = "r0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "privacy_requests",
        sa.Column("id", sa.String(length=48), nullable=False),
        sa.Column("user_id", sa.String(length=48), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("law", sa.String(length=8), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledge_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("complete_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("region", sa.String(length=16), nullable=False),
        region_guard(),
        sa.CheckConstraint("kind IN ('export', 'delete', 'access')", name="kind"),
        sa.CheckConstraint(
            "status IN ('received', 'acknowledged', 'completed', 'rejected')", name="status"
        ),
        sa.CheckConstraint("law IN ('ccpa', 'gdpr')", name="law"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_requests")),
    )
    with op.batch_alter_table("privacy_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_privacy_requests_user_received", ["user_id", "received_at"], unique=False
        )
        batch_op.create_index(
            "ix_privacy_requests_status_complete_by", ["status", "complete_by"], unique=False
        )

    op.create_table(
        "privacy_exports",
        sa.Column("request_id", sa.String(length=48), nullable=False),
        sa.Column("user_id", sa.String(length=48), nullable=False),
        sa.Column("archive_ct", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("region", sa.String(length=16), nullable=False),
        region_guard(),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["privacy_requests.id"],
            name=op.f("fk_privacy_exports_request_id_privacy_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_privacy_exports")),
    )
    with op.batch_alter_table("privacy_exports", schema=None) as batch_op:
        batch_op.create_index("ix_privacy_exports_user_id", ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("privacy_exports", schema=None) as batch_op:
        batch_op.drop_index("ix_privacy_exports_user_id")
    op.drop_table("privacy_exports")
    with op.batch_alter_table("privacy_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_privacy_requests_status_complete_by")
        batch_op.drop_index("ix_privacy_requests_user_received")
    op.drop_table("privacy_requests")
