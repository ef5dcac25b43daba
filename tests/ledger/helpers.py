"""Shared helpers of the ledger tests."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shopreel.ledger import service
from shopreel.ledger.models import LedgerAccount, LedgerPosting, LedgerTransaction
from shopreel.ledger.rules import AccountRef
from shopreel.planes import Databases, regional

REGION = "us"


@dataclass(frozen=True)
class Counts:
    accounts: int
    transactions: int
    postings: int


async def counts_in(session: AsyncSession) -> Counts:
    return Counts(
        accounts=await session.scalar(select(func.count()).select_from(LedgerAccount)) or 0,
        transactions=await session.scalar(select(func.count()).select_from(LedgerTransaction)) or 0,
        postings=await session.scalar(select(func.count()).select_from(LedgerPosting)) or 0,
    )


async def counts(databases: Databases) -> Counts:
    async with databases.session(regional(REGION)) as session:
        return await counts_in(session)


async def balance(databases: Databases, ref: AccountRef) -> int:
    async with databases.session(regional(REGION)) as session:
        return await service.balance_of(session, ref)
