"""The money ledger (regional plane): double-entry, append-only, integer cents.

Money belongs to the buyer's home region: the order, the payment and the ledger entries that
record them are written in the same regional database, in the same transaction as the
business fact they describe (no cross-plane commit between a charge and its entries).

* :class:`LedgerAccount` — one account of the chart (``shopreel.ledger.chart``) for one
  owner (a seller shop, a tax jurisdiction, a creator, or ``""`` for the platform itself)
  and one currency. Accounts are created on demand, race-safely (unique key + ``INSERT ...
  ON CONFLICT DO NOTHING``).
* :class:`LedgerTransaction` — one business event (sale, refund, payout, ...). Its
  ``reference`` is unique: the same business event can never post twice.
* :class:`LedgerPosting` — one line of a transaction. ``amount`` is a **signed** integer of
  minor units: **debit > 0, credit < 0**, never 0. A transaction is balanced when its
  postings sum to zero in every currency.

Transactions and postings are append-only: the database refuses UPDATE and DELETE (and
TRUNCATE on PostgreSQL) with triggers (migration ``r0004``). A mistake is corrected by a
new, reversing transaction, never by editing history. Balances are always sums of postings.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from shopreel.kit.time import utcnow
from shopreel.planes import RegionalBase

LEDGER_APPEND_ONLY_TABLES = ("ledger_postings", "ledger_transactions")
LEDGER_TABLES = (*LEDGER_APPEND_ONLY_TABLES, "ledger_accounts")


class LedgerAccount(RegionalBase):
    __tablename__ = "ledger_accounts"
    __table_args__ = (
        UniqueConstraint("code", "owner_id", "currency", name="uq_ledger_accounts_key"),
        CheckConstraint(
            "kind IN ('asset', 'liability', 'revenue', 'expense', 'equity')", name="kind"
        ),
        CheckConstraint("normal_side IN ('debit', 'credit')", name="normal_side"),
        CheckConstraint("length(currency) = 3", name="currency"),
    )

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    # the chart's code (``seller_payable``...); with owner and currency, the account's key
    code: Mapped[str] = mapped_column(String(40))
    # who the account is for: a seller shop id, a tax jurisdiction ("US-CA"), a creator id,
    # or "" for the platform's own accounts ("" rather than NULL so the unique key holds)
    owner_id: Mapped[str] = mapped_column(String(48), default="")
    currency: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str] = mapped_column(String(16))
    # the side on which the balance is positive (a contra account differs from its kind's)
    normal_side: Mapped[str] = mapped_column(String(6))
    non_negative: Mapped[bool] = mapped_column(Boolean, default=False)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LedgerTransaction(RegionalBase):
    __tablename__ = "ledger_transactions"
    __table_args__ = (
        Index("ix_ledger_transactions_order_id", "order_id"),
        Index("ix_ledger_transactions_reverses_id", "reverses_id"),
        Index("ix_ledger_transactions_created_at", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    # the business event's idempotency reference ("sale:<order id>", "refund:<refund id>")
    reference: Mapped[str] = mapped_column(String(200), unique=True)
    # sha256 of the request (or of the postings): a reused reference with another body
    # is refused instead of silently returning an unrelated transaction
    fingerprint: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[str | None] = mapped_column(String(48), default=None)
    payment_id: Mapped[str | None] = mapped_column(String(64), default=None)
    # a refund names the sale transaction it (partly) reverses
    reverses_id: Mapped[str | None] = mapped_column(String(48), default=None)
    memo: Mapped[str] = mapped_column(String(500), default="")
    # the business breakdown (a sale's items/shipping/tax/fee; a refund's request)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LedgerPosting(RegionalBase):
    __tablename__ = "ledger_postings"
    __table_args__ = (
        Index("ix_ledger_postings_account_created", "account_id", "created_at"),
        Index("ix_ledger_postings_transaction_id", "transaction_id"),
        CheckConstraint("amount <> 0", name="non_zero"),
        CheckConstraint("length(currency) = 3", name="currency"),
    )

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    transaction_id: Mapped[str] = mapped_column(ForeignKey("ledger_transactions.id"))
    account_id: Mapped[str] = mapped_column(ForeignKey("ledger_accounts.id"))
    # signed minor units: debit > 0, credit < 0
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    # the transaction's time, copied so "balance as of t" reads one index, no join
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
