"""Every ledger query. Functions take the regional session first; none commits."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import and_, case, func, or_, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from shopreel.kit.time import as_utc
from shopreel.ledger.models import LedgerAccount, LedgerPosting, LedgerTransaction
from shopreel.ledger.rules import AccountRef

# Matches no row (so nothing changes) but makes SQLite take its write lock now: reads that
# decide a posting (balances, earlier refunds) then cannot be overtaken by another writer.
_SQLITE_WRITE_LOCK: Final = "UPDATE ledger_accounts SET id = id WHERE 1 = 0"


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


async def take_write_lock(session: AsyncSession) -> None:
    """SQLite: serialize ledger writers from here on (a no-op on PostgreSQL, which locks
    rows instead)."""
    if _dialect(session) == "sqlite":
        await session.execute(text(_SQLITE_WRITE_LOCK))


async def lock_reference(session: AsyncSession, reference: str) -> None:
    """Serialize posts of one reference until commit, so a retry racing the first attempt
    waits for it and then finds it (instead of failing on the unique index mid-write).
    PostgreSQL: a transaction-scoped advisory lock on a hash of the reference (a collision
    only serializes two unrelated posts); SQLite: the database write lock."""
    if _dialect(session) == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"ledger:{reference}"},
        )
    else:
        await take_write_lock(session)


async def transaction_by_reference(
    session: AsyncSession, reference: str, *, for_update: bool = False
) -> LedgerTransaction | None:
    query = select(LedgerTransaction).where(LedgerTransaction.reference == reference)
    if for_update:
        # a row lock, not an UPDATE: the append-only triggers do not fire
        query = query.with_for_update()
    return (await session.scalars(query)).first()


async def refunds_of(session: AsyncSession, sale_id: str) -> list[LedgerTransaction]:
    result = await session.scalars(
        select(LedgerTransaction)
        .where(LedgerTransaction.reverses_id == sale_id)
        .order_by(LedgerTransaction.created_at, LedgerTransaction.id)
    )
    return list(result)


async def postings_of(session: AsyncSession, transaction_id: str) -> list[LedgerPosting]:
    result = await session.scalars(
        select(LedgerPosting)
        .where(LedgerPosting.transaction_id == transaction_id)
        .order_by(LedgerPosting.id)
    )
    return list(result)


async def accounts_by_refs(
    session: AsyncSession, refs: Collection[AccountRef]
) -> dict[AccountRef, LedgerAccount]:
    if not refs:
        return {}
    result = await session.scalars(
        select(LedgerAccount).where(
            or_(
                *(
                    and_(
                        LedgerAccount.code == ref.code,
                        LedgerAccount.owner_id == ref.owner_id,
                        LedgerAccount.currency == ref.currency,
                    )
                    for ref in refs
                )
            )
        )
    )
    return {AccountRef(a.code, a.currency, a.owner_id): a for a in result}


async def insert_accounts_if_missing(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """``INSERT ... ON CONFLICT DO NOTHING`` on the account key: two requests opening the
    same account at once both succeed and both then read the one row."""
    if not rows:
        return
    statement: Any
    if _dialect(session) == "postgresql":
        statement = pg_insert(LedgerAccount).values(rows).on_conflict_do_nothing()
    else:
        statement = sqlite_insert(LedgerAccount).values(rows).on_conflict_do_nothing()
    await session.execute(statement)


async def lock_accounts(session: AsyncSession, account_ids: Iterable[str]) -> None:
    """Row locks on accounts, always in id order so two posts cannot deadlock on them."""
    ids = sorted(set(account_ids))
    if ids:
        await session.execute(
            select(LedgerAccount.id)
            .where(LedgerAccount.id.in_(ids))
            .order_by(LedgerAccount.id)
            .with_for_update()
        )


async def signed_sums(
    session: AsyncSession, account_ids: Collection[str], as_of: datetime | None = None
) -> dict[str, int]:
    """Sum of posting amounts (debit > 0) per account, optionally up to ``as_of``."""
    if not account_ids:
        return {}
    query = (
        select(LedgerPosting.account_id, func.sum(LedgerPosting.amount))
        .where(LedgerPosting.account_id.in_(list(account_ids)))
        .group_by(LedgerPosting.account_id)
    )
    if as_of is not None:
        query = query.where(LedgerPosting.created_at <= as_utc(as_of))
    sums = {account_id: 0 for account_id in account_ids}
    for account_id, total in (await session.execute(query)).all():
        sums[account_id] = int(total or 0)
    return sums


@dataclass(frozen=True, slots=True)
class CurrencyTotals:
    currency: str
    debits: int
    credits: int  # a positive number: the sum of the credit postings' absolute values


async def currency_totals(
    session: AsyncSession, as_of: datetime | None = None
) -> list[CurrencyTotals]:
    query = select(
        LedgerPosting.currency,
        func.sum(case((LedgerPosting.amount > 0, LedgerPosting.amount), else_=0)),
        func.sum(case((LedgerPosting.amount < 0, -LedgerPosting.amount), else_=0)),
    ).group_by(LedgerPosting.currency)
    if as_of is not None:
        query = query.where(LedgerPosting.created_at <= as_utc(as_of))
    rows = (await session.execute(query.order_by(LedgerPosting.currency))).all()
    return [CurrencyTotals(c, int(d or 0), int(k or 0)) for c, d, k in rows]


async def accounts_with_sums(
    session: AsyncSession, as_of: datetime | None = None
) -> list[tuple[LedgerAccount, int]]:
    """Every account with the signed sum of its postings (up to ``as_of``), one query."""
    joined = LedgerPosting.account_id == LedgerAccount.id
    if as_of is not None:
        joined = and_(joined, LedgerPosting.created_at <= as_utc(as_of))
    rows = await session.execute(
        select(LedgerAccount, func.coalesce(func.sum(LedgerPosting.amount), 0))
        .outerjoin(LedgerPosting, joined)
        .group_by(LedgerAccount.id)
        .order_by(LedgerAccount.currency, LedgerAccount.code, LedgerAccount.owner_id)
    )
    return [(account, int(total)) for account, total in rows.all()]


async def all_accounts(session: AsyncSession) -> list[LedgerAccount]:
    result = await session.scalars(
        select(LedgerAccount).order_by(
            LedgerAccount.currency, LedgerAccount.code, LedgerAccount.owner_id
        )
    )
    return list(result)
