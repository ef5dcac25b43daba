"""money ledger: double-entry, append-only postings

Accounts, transactions and postings (signed integer minor units, debit > 0, credit < 0).
The database refuses UPDATE and DELETE on ``ledger_transactions`` and ``ledger_postings``
(and, on PostgreSQL, TRUNCATE too): history is corrected by reversing transactions, never
edited. As for the audit log (c0002), this stops application bugs and SQL injection through
the application's role, not someone holding DDL rights.

Revision ID: r0004
Revises: r0003
Create Date: 2026-11-26 00:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shopreel.migrations.helpers import region_guard

revision: str = "r0004"
down_revision: str | None = "r0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = ("ledger_transactions", "ledger_postings")
PG_FUNCTION = "shopreel_refuse_ledger_change"


def upgrade() -> None:
    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.String(length=48), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("owner_id", sa.String(length=48), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("normal_side", sa.String(length=6), nullable=False),
        sa.Column("non_negative", sa.Boolean(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("region", sa.String(length=16), nullable=False),
        region_guard(),
        sa.CheckConstraint(
            "kind IN ('asset', 'liability', 'revenue', 'expense', 'equity')",
            name=op.f("ck_ledger_accounts_kind"),
        ),
        sa.CheckConstraint(
            "normal_side IN ('debit', 'credit')", name=op.f("ck_ledger_accounts_normal_side")
        ),
        sa.CheckConstraint("length(currency) = 3", name=op.f("ck_ledger_accounts_currency")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_accounts")),
        sa.UniqueConstraint("code", "owner_id", "currency", name="uq_ledger_accounts_key"),
    )
    op.create_table(
        "ledger_transactions",
        sa.Column("id", sa.String(length=48), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=48), nullable=True),
        sa.Column("payment_id", sa.String(length=64), nullable=True),
        sa.Column("reverses_id", sa.String(length=48), nullable=True),
        sa.Column("memo", sa.String(length=500), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("region", sa.String(length=16), nullable=False),
        region_guard(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_transactions")),
        sa.UniqueConstraint("reference", name=op.f("uq_ledger_transactions_reference")),
    )
    with op.batch_alter_table("ledger_transactions", schema=None) as batch_op:
        batch_op.create_index("ix_ledger_transactions_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_ledger_transactions_order_id", ["order_id"], unique=False)
        batch_op.create_index("ix_ledger_transactions_reverses_id", ["reverses_id"], unique=False)

    op.create_table(
        "ledger_postings",
        sa.Column("id", sa.String(length=48), nullable=False),
        sa.Column("transaction_id", sa.String(length=48), nullable=False),
        sa.Column("account_id", sa.String(length=48), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("region", sa.String(length=16), nullable=False),
        region_guard(),
        sa.CheckConstraint("amount <> 0", name=op.f("ck_ledger_postings_non_zero")),
        sa.CheckConstraint("length(currency) = 3", name=op.f("ck_ledger_postings_currency")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["ledger_accounts.id"],
            name=op.f("fk_ledger_postings_account_id_ledger_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_ledger_postings_transaction_id_ledger_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_postings")),
    )
    with op.batch_alter_table("ledger_postings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ledger_postings_account_created", ["account_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_ledger_postings_transaction_id", ["transaction_id"], unique=False)

    _create_append_only_triggers()


def _create_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
                    USING ERRCODE = 'restrict_violation';
            END;
            $$
            """
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {PG_FUNCTION}()"
            )
        return
    for table in APPEND_ONLY:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {action} refused'); END"
            )


def _drop_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {PG_FUNCTION}()")
        return
    for table in APPEND_ONLY:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")


def downgrade() -> None:
    _drop_append_only_triggers()
    with op.batch_alter_table("ledger_postings", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_postings_transaction_id")
        batch_op.drop_index("ix_ledger_postings_account_created")

    op.drop_table("ledger_postings")
    with op.batch_alter_table("ledger_transactions", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_transactions_reverses_id")
        batch_op.drop_index("ix_ledger_transactions_order_id")
        batch_op.drop_index("ix_ledger_transactions_created_at")

    op.drop_table("ledger_transactions")
    op.drop_table("ledger_accounts")
