"""governance: versioned settings, proposals, approvals, deploy allowlist

Revision ID: c0003
Revises: c0002
Create Date: 2026-11-27 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c0003"
down_revision: str | None = "c0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE_ENTRY = sa.text("revoked_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "governance_proposals",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("diff", sa.JSON(), nullable=False),
        sa.Column("base_scope", sa.String(length=16), nullable=True),
        sa.Column("base_version", sa.Integer(), nullable=True),
        sa.Column("proposed_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_governance_proposals")),
    )
    with op.batch_alter_table("governance_proposals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_governance_proposals_proposed_by"), ["proposed_by"], unique=False
        )
        batch_op.create_index("ix_governance_proposals_status_key", ["status", "key"], unique=False)

    op.create_table(
        "proposal_approvals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("proposal_id", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("authority", sa.String(length=16), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["governance_proposals.id"],
            name=op.f("fk_proposal_approvals_proposal_id_governance_proposals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposal_approvals")),
        sa.UniqueConstraint("proposal_id", "authority", name="uq_proposal_approvals_authority"),
    )
    with op.batch_alter_table("proposal_approvals", schema=None) as batch_op:
        batch_op.create_index(
            "ix_proposal_approvals_authority_decision", ["authority", "decision"], unique=False
        )

    op.create_table(
        "setting_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("proposal_id", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["governance_proposals.id"],
            name=op.f("fk_setting_versions_proposal_id_governance_proposals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_setting_versions")),
        sa.UniqueConstraint(
            "key", "scope", "version", name="uq_setting_versions_key_scope_version"
        ),
    )
    with op.batch_alter_table("setting_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_setting_versions_proposal_id"), ["proposal_id"], unique=False
        )

    op.create_table(
        "deploy_allowlist",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("region", sa.String(length=16), nullable=False),
        sa.Column("artifact_kind", sa.String(length=32), nullable=False),
        sa.Column("artifact_sha256", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("approved_by", sa.String(length=64), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("proposal_id", sa.String(length=40), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["governance_proposals.id"],
            name=op.f("fk_deploy_allowlist_proposal_id_governance_proposals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deploy_allowlist")),
    )
    with op.batch_alter_table("deploy_allowlist", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deploy_allowlist_region"), ["region"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_deploy_allowlist_proposal_id"), ["proposal_id"], unique=False
        )
        # At most one active (not revoked) entry per artifact and region.
        batch_op.create_index(
            "uq_deploy_allowlist_active",
            ["region", "artifact_kind", "artifact_sha256"],
            unique=True,
            sqlite_where=ACTIVE_ENTRY,
            postgresql_where=ACTIVE_ENTRY,
        )


def downgrade() -> None:
    with op.batch_alter_table("deploy_allowlist", schema=None) as batch_op:
        batch_op.drop_index("uq_deploy_allowlist_active")
        batch_op.drop_index(batch_op.f("ix_deploy_allowlist_proposal_id"))
        batch_op.drop_index(batch_op.f("ix_deploy_allowlist_region"))
    op.drop_table("deploy_allowlist")

    with op.batch_alter_table("setting_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_setting_versions_proposal_id"))
    op.drop_table("setting_versions")

    with op.batch_alter_table("proposal_approvals", schema=None) as batch_op:
        batch_op.drop_index("ix_proposal_approvals_authority_decision")
    op.drop_table("proposal_approvals")

    with op.batch_alter_table("governance_proposals", schema=None) as batch_op:
        batch_op.drop_index("ix_governance_proposals_status_key")
        batch_op.drop_index(batch_op.f("ix_governance_proposals_proposed_by"))
    op.drop_table("governance_proposals")
