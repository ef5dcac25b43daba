"""The ledger on real databases: posting, balances, idempotency, append-only, limits, and
concurrent posts (each in its own connection and transaction: really concurrent on
PostgreSQL, serialized by SQLite)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from shopreel.governance.models import SettingVersion
from shopreel.kit.time import set_clock
from shopreel.ledger import rules, service
from shopreel.ledger.chart import AccountCode
from shopreel.ledger.errors import (
    AccountNotFound,
    InsufficientBalance,
    InvalidTransaction,
    ReferenceReused,
    RefundExceedsSale,
    SaleNotFound,
)
from shopreel.ledger.models import LedgerAccount, LedgerPosting, LedgerTransaction
from shopreel.ledger.rules import AccountRef, TransactionDraft, credit, debit
from shopreel.planes import CONTROL, PlaneViolation, regional
from shopreel.runtime import Runtime
from tests.ledger.helpers import REGION, Counts, balance, counts

US = regional(REGION)
SHOP = "shp_01ledgertestshop000000000"
CLEARING = AccountRef(AccountCode.BUYER_CLEARING, "USD")
PAYABLE = AccountRef(AccountCode.SELLER_PAYABLE, "USD", SHOP)
SHIPPING = AccountRef(AccountCode.SHIPPING_PAYABLE, "USD", SHOP)
TAX = AccountRef(AccountCode.TAX_PAYABLE, "USD", "US-CA")
COMMISSION = AccountRef(AccountCode.PLATFORM_COMMISSION, "USD")
COMMISSION_REFUNDS = AccountRef(AccountCode.COMMISSION_REFUNDS, "USD")
EQUITY = AccountRef(AccountCode.PLATFORM_EQUITY, "USD")


def _sale_kwargs(**overrides: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "reference": "sale:ord_1",
        "order_id": "ord_1",
        "payment_id": "pay_1",
        "shop_id": SHOP,
        "currency": "USD",
        "items_cents": 10_000,
        "shipping_cents": 500,
        "tax_cents": 725,
        "tax_jurisdiction": "US-CA",
        "referral_rate_bps": 800,
    }
    kwargs.update(overrides)
    return kwargs


async def _sale(runtime: Runtime, **overrides: Any) -> LedgerTransaction:
    async with runtime.databases.transaction(US) as session:
        return await service.record_sale(session, **_sale_kwargs(**overrides))


async def _balances(runtime: Runtime) -> dict[AccountRef, int]:
    return {
        ref: await balance(runtime.databases, ref)
        for ref in (CLEARING, PAYABLE, SHIPPING, TAX, COMMISSION, COMMISSION_REFUNDS)
    }


async def test_a_sale_posts_one_balanced_transaction(runtime: Runtime) -> None:
    sale = await _sale(runtime)
    assert await _balances(runtime) == {
        CLEARING: 11_225,
        PAYABLE: 9_200,
        SHIPPING: 500,
        TAX: 725,
        COMMISSION: 800,
        COMMISSION_REFUNDS: 0,
    }
    async with runtime.databases.session(US) as session:
        postings = await service.postings_of(session, sale)
        trial = await service.trial_balance(session)
    assert sorted(p.amount for p in postings) == [-9_200, -800, -725, -500, 11_225]
    assert {p.region for p in postings} == {"us"} and sale.region == "us"
    assert trial["USD"].debits == trial["USD"].credits == 11_225
    assert await counts(runtime.databases) == Counts(accounts=5, transactions=1, postings=5)


async def test_the_same_reference_posts_once(runtime: Runtime) -> None:
    first = await _sale(runtime)
    # a retry after the referral rate changed is still the same sale
    again = await _sale(runtime, referral_rate_bps=1_500)
    assert again.id == first.id
    assert await counts(runtime.databases) == Counts(accounts=5, transactions=1, postings=5)
    assert await balance(runtime.databases, COMMISSION) == 800


async def test_a_reused_reference_with_another_body_is_refused(runtime: Runtime) -> None:
    first = await _sale(runtime)
    before = (await counts(runtime.databases), await _balances(runtime))
    with pytest.raises(ReferenceReused) as refused:
        await _sale(runtime, items_cents=10_001)
    assert refused.value.extra["transaction_id"] == first.id
    assert refused.value.status == 409
    with pytest.raises(ReferenceReused):
        async with runtime.databases.transaction(US) as session:
            await service.post(
                session,
                TransactionDraft(
                    "adjustment", "sale:ord_1", (debit(CLEARING, 1), credit(EQUITY, 1))
                ),
            )
    assert (await counts(runtime.databases), await _balances(runtime)) == before


async def test_a_refused_post_writes_nothing_even_if_the_caller_commits(runtime: Runtime) -> None:
    await _sale(runtime)
    before = (await counts(runtime.databases), await _balances(runtime))
    refused: list[str] = []
    drafts = [
        TransactionDraft("adjustment", "bad:1", (debit(CLEARING, 5), credit(EQUITY, 4))),
        TransactionDraft("adjustment", "bad:2", (debit(CLEARING, 5),)),
        TransactionDraft("adjustment", "bad:3", (debit(PAYABLE, 9_201), credit(CLEARING, 9_201))),
        TransactionDraft(
            "adjustment",
            "bad:4",
            (debit(CLEARING, 5), credit(AccountRef(AccountCode.SELLER_PAYABLE, "USD", "shp_x"), 5)),
        ),
    ]
    for draft in drafts:
        async with runtime.databases.transaction(US) as session:  # commits on exit
            try:
                await service.post(session, draft)
            except (InvalidTransaction, InsufficientBalance, AccountNotFound) as error:
                refused.append(error.code)
    assert refused == [
        "ledger_unbalanced",
        "ledger_too_few_postings",
        "ledger_insufficient_balance",
        "ledger_account_not_found",
    ]
    assert (await counts(runtime.databases), await _balances(runtime)) == before


async def test_payouts_never_take_a_seller_below_zero(runtime: Runtime) -> None:
    await _sale(runtime)
    async with runtime.databases.transaction(US) as session:
        await service.record_payout(
            session, reference="payout:1", shop_id=SHOP, currency="USD", payable_cents=9_000
        )
    before = (await counts(runtime.databases), await _balances(runtime))
    with pytest.raises(InsufficientBalance) as refused:
        async with runtime.databases.transaction(US) as session:
            await service.record_payout(
                session, reference="payout:2", shop_id=SHOP, currency="USD", payable_cents=201
            )
    assert refused.value.extra["balance"] == 200 and refused.value.extra["change"] == -201
    assert (await counts(runtime.databases), await _balances(runtime)) == before
    assert before[1][PAYABLE] == 200


async def test_the_ledger_lives_in_the_regional_plane(runtime: Runtime) -> None:
    async with runtime.databases.session(CONTROL) as session:
        with pytest.raises(PlaneViolation):
            await service.record_sale(session, **_sale_kwargs())


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_postings SET amount = amount * 2",
        "DELETE FROM ledger_postings",
        "UPDATE ledger_transactions SET memo = 'edited'",
        "DELETE FROM ledger_transactions",
    ],
)
async def test_the_database_refuses_to_change_history(runtime: Runtime, statement: str) -> None:
    await _sale(runtime)
    before = (await counts(runtime.databases), await _balances(runtime))
    with pytest.raises(DBAPIError, match="append-only"):
        async with runtime.databases.transaction(US) as session:
            await session.execute(text(statement))
    assert (await counts(runtime.databases), await _balances(runtime)) == before


async def test_the_orm_cannot_edit_a_posting_either(runtime: Runtime) -> None:
    await _sale(runtime)
    with pytest.raises(DBAPIError, match="append-only"):
        async with runtime.databases.transaction(US) as session:
            posting = (await session.scalars(select(LedgerPosting).limit(1))).one()
            posting.amount = 1
    with pytest.raises(DBAPIError, match="append-only"):
        async with runtime.databases.transaction(US) as session:
            await session.delete((await session.scalars(select(LedgerTransaction))).one())
    assert await balance(runtime.databases, PAYABLE) == 9_200


async def test_truncate_is_refused_on_postgres(runtime: Runtime) -> None:
    await _sale(runtime)
    if runtime.databases.engine(US).dialect.name != "postgresql":
        pytest.skip("TRUNCATE is a PostgreSQL statement")
    for table in ("ledger_postings", "ledger_transactions"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with runtime.databases.transaction(US) as session:
                await session.execute(text(f"TRUNCATE {table} CASCADE"))
    assert await counts(runtime.databases) == Counts(accounts=5, transactions=1, postings=5)


async def test_balance_as_of_a_past_instant(runtime: Runtime) -> None:
    t0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    try:
        set_clock(lambda: t0)
        await _sale(runtime)
        set_clock(lambda: t0 + timedelta(hours=1))
        async with runtime.databases.transaction(US) as session:
            await service.record_refund(
                session, reference="refund:1", sale_reference="sale:ord_1", items_cents=2_500
            )
        set_clock(lambda: t0 + timedelta(hours=2))
        async with runtime.databases.transaction(US) as session:
            await service.record_payout(
                session, reference="payout:1", shop_id=SHOP, currency="USD", payable_cents=5_000
            )
    finally:
        set_clock(None)
    async with runtime.databases.session(US) as session:
        payable = await service.find_account(session, PAYABLE)
        assert payable is not None

        async def at(minutes: int) -> int:
            assert payable is not None
            return await service.balance(session, payable, t0 + timedelta(minutes=minutes))

        # refund of 2,500 items returns 200 of fee: the seller gives back 2,300
        assert [await at(m) for m in (-1, 0, 59, 60, 119, 120)] == [
            0,
            9_200,
            9_200,
            6_900,
            6_900,
            1_900,
        ]
        assert await service.balance(session, payable) == 1_900
        # naive datetimes are read as UTC
        assert await service.balance(session, payable, datetime(2026, 11, 1, 13, 30)) == 6_900
        trial = await service.trial_balance(session, t0 + timedelta(minutes=90))
        assert trial["USD"].debits == trial["USD"].credits == 11_225 + 2_500


async def test_refunds_are_limited_to_what_was_sold(runtime: Runtime) -> None:
    await _sale(runtime)

    async def refund(reference: str, **amounts: int) -> LedgerTransaction:
        async with runtime.databases.transaction(US) as session:
            return await service.record_refund(
                session, reference=reference, sale_reference="sale:ord_1", **amounts
            )

    first = await refund("refund:1", items_cents=3_333, tax_cents=100)
    assert first.details == {"items": 3_333, "shipping": 0, "tax": 100, "fee": 267}
    before = (await counts(runtime.databases), await _balances(runtime))
    for amounts in (
        {"items_cents": 6_668},
        {"items_cents": 0, "shipping_cents": 501},
        {"items_cents": 0, "tax_cents": 626},
    ):
        with pytest.raises(RefundExceedsSale):
            await refund("refund:2", **amounts)
    assert (await counts(runtime.databases), await _balances(runtime)) == before

    # the same request again is the same refund; another request under its reference is not
    assert (await refund("refund:1", items_cents=3_333, tax_cents=100)).id == first.id
    with pytest.raises(ReferenceReused):
        await refund("refund:1", items_cents=3_000)

    last = await refund("refund:2", items_cents=6_667, shipping_cents=500, tax_cents=625)
    assert last.reverses_id == first.reverses_id
    balances = await _balances(runtime)
    assert balances[PAYABLE] == balances[SHIPPING] == balances[TAX] == balances[CLEARING] == 0
    assert balances[COMMISSION] == balances[COMMISSION_REFUNDS] == 800
    # a retry of the last refund after the sale is fully refunded still replays
    assert (
        await refund("refund:2", items_cents=6_667, shipping_cents=500, tax_cents=625)
    ).id == last.id
    with pytest.raises(RefundExceedsSale):
        await refund("refund:3", items_cents=1)
    async with runtime.databases.session(US) as session:
        left = await service.refundable(session, "sale:ord_1")
        assert (left.items, left.shipping, left.tax, left.fee) == (0, 0, 0, 0)
        with pytest.raises(SaleNotFound):
            await service.refundable(session, "sale:ord_404")
        with pytest.raises(SaleNotFound):
            await service.refundable(session, first.reference)  # a refund is not a sale


async def test_the_referral_rate_comes_from_governance(runtime: Runtime) -> None:
    async with runtime.databases.session(CONTROL) as control:
        assert await service.referral_rate_bps(control, REGION) == rules.DEFAULT_REFERRAL_RATE_BPS
    async with runtime.databases.transaction(CONTROL) as control:
        control.add(
            SettingVersion(
                key=service.REFERRAL_RATE_SETTING, scope="global", version=1, value=1_250
            )
        )
    async with runtime.databases.session(CONTROL) as control:
        rate = await service.referral_rate_bps(control, REGION)
    assert rate == 1_250
    await _sale(runtime, referral_rate_bps=rate)
    assert await balance(runtime.databases, COMMISSION) == 1_250


async def test_accounts_are_opened_once_by_concurrent_first_sales(runtime: Runtime) -> None:
    await asyncio.gather(
        *(_sale(runtime, reference=f"sale:ord_{n}", order_id=f"ord_{n}") for n in range(12))
    )
    async with runtime.databases.session(US) as session:
        accounts = list(await session.scalars(select(LedgerAccount)))
    assert len(accounts) == 5
    assert await balance(runtime.databases, PAYABLE) == 12 * 9_200


async def test_concurrent_retries_of_one_reference_post_once(runtime: Runtime) -> None:
    results = await asyncio.gather(*(_sale(runtime) for _ in range(16)))
    assert len({r.id for r in results}) == 1
    assert await counts(runtime.databases) == Counts(accounts=5, transactions=1, postings=5)


async def test_concurrent_payouts_never_overdraw(runtime: Runtime) -> None:
    await _sale(runtime)  # seller payable 9,200

    async def payout(n: int) -> int:
        try:
            async with runtime.databases.transaction(US) as session:
                await service.record_payout(
                    session,
                    reference=f"payout:{n}",
                    shop_id=SHOP,
                    currency="USD",
                    payable_cents=1_000,
                )
        except InsufficientBalance:
            return 0
        return 1_000

    paid = await asyncio.gather(*(payout(n) for n in range(20)))
    assert sum(paid) == 9_000
    assert await balance(runtime.databases, PAYABLE) == 200


async def test_concurrent_refunds_of_one_sale_never_exceed_it(runtime: Runtime) -> None:
    await _sale(runtime)

    async def refund(n: int) -> int:
        try:
            async with runtime.databases.transaction(US) as session:
                await service.record_refund(
                    session,
                    reference=f"refund:{n}",
                    sale_reference="sale:ord_1",
                    items_cents=3_000,
                )
        except RefundExceedsSale:
            return 0
        return 3_000

    refunded = await asyncio.gather(*(refund(n) for n in range(10)))
    assert sum(refunded) == 9_000
    async with runtime.databases.session(US) as session:
        assert (await service.refundable(session, "sale:ord_1")).items == 1_000
