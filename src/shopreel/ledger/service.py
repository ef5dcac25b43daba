"""Ledger use cases. Functions take the regional session (``uow.region()``) first; they
flush, never commit: a ledger transaction commits with the business fact it records.

:func:`post` checks everything before it writes anything: a refused transaction leaves no
row behind, whether or not the caller rolls back.

Concurrency (PostgreSQL, READ COMMITTED):

* **Idempotency.** Posts of one reference are serialized by a transaction-scoped advisory
  lock; the second waits for the first to commit, then finds its row and returns it (same
  body) or refuses (``ledger_reference_reused``). The unique index on ``reference`` is the
  backstop.
* **Non-negative accounts.** Only postings that *decrease* a non-negative account lock it
  (``SELECT ... FOR UPDATE``, in id order, so no deadlock between posts); the balance is
  summed after the lock is granted, so it includes every post that held the lock before.
  Increases take no lock: sales (which only credit payables) never queue behind one another
  on a hot seller's account during a flash sale.
* **Refund limits.** Refunds of one sale lock the sale's transaction row (a row lock, not an
  UPDATE, so the append-only trigger does not fire) before reading earlier refunds.

On SQLite the database write lock is taken before the first read that decides a post.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from shopreel.governance import service as governance
from shopreel.kit.ids import new_id
from shopreel.kit.time import utcnow
from shopreel.ledger import repository, rules
from shopreel.ledger.chart import CHART, AccountCode
from shopreel.ledger.errors import (
    AccountNotFound,
    InsufficientBalance,
    InvalidTransaction,
    LedgerErrorCode,
    ReferenceReused,
    SaleNotFound,
)
from shopreel.ledger.models import LedgerAccount, LedgerPosting, LedgerTransaction
from shopreel.ledger.rules import AccountRef, Refunded, SaleRecord, TransactionDraft
from shopreel.planes import PlaneKind, PlaneViolation, plane_of_session

REFERRAL_RATE_SETTING = "fees.referral_rate_bps"


def _region(session: AsyncSession) -> str:
    plane = plane_of_session(session)
    if plane.kind is not PlaneKind.REGIONAL or plane.region is None:
        raise PlaneViolation("the ledger lives in the regional plane")
    return plane.region


# ---- accounts --------------------------------------------------------------------------------


async def open_accounts(
    session: AsyncSession, refs: Iterable[AccountRef]
) -> dict[AccountRef, LedgerAccount]:
    """The accounts of ``refs``, created from the chart if missing (race-safe)."""
    wanted = set(refs)
    for ref in wanted:
        rules.check_account_ref(ref)
    found = await repository.accounts_by_refs(session, wanted)
    missing = wanted - found.keys()
    if missing:
        region = _region(session)
        rows = []
        for ref in sorted(missing):
            spec = CHART[AccountCode(ref.code)]
            rows.append(
                {
                    "id": new_id("lac", region),
                    "code": ref.code,
                    "owner_id": ref.owner_id,
                    "currency": ref.currency,
                    "kind": spec.kind.value,
                    "normal_side": spec.normal_side.value,
                    "non_negative": spec.non_negative,
                    "name": spec.name,
                    "created_at": utcnow(),
                    "region": region,
                }
            )
        await repository.insert_accounts_if_missing(session, rows)
        found = await repository.accounts_by_refs(session, wanted)
    return found


async def find_account(session: AsyncSession, ref: AccountRef) -> LedgerAccount | None:
    return (await repository.accounts_by_refs(session, [ref])).get(ref)


async def balance(
    session: AsyncSession, account: LedgerAccount, as_of: datetime | None = None
) -> int:
    """The account's balance on its normal side (positive = what its kind holds: money
    owed for a payable, money held for clearing), from postings only; ``as_of`` counts
    postings made at or before that instant."""
    sums = await repository.signed_sums(session, [account.id], as_of)
    return rules.normal_amount(account.normal_side, sums[account.id])


async def balance_of(session: AsyncSession, ref: AccountRef, as_of: datetime | None = None) -> int:
    """Like :func:`balance`, by the account's key; an account never opened holds 0."""
    account = await find_account(session, ref)
    return 0 if account is None else await balance(session, account, as_of)


async def balances(
    session: AsyncSession, as_of: datetime | None = None
) -> list[tuple[LedgerAccount, int]]:
    """Every account with its balance on its normal side (see :func:`balance`)."""
    return [
        (account, rules.normal_amount(account.normal_side, total))
        for account, total in await repository.accounts_with_sums(session, as_of)
    ]


@dataclass(frozen=True, slots=True)
class TrialBalance:
    currency: str
    debits: int
    credits: int

    @property
    def balanced(self) -> bool:
        return self.debits == self.credits


async def trial_balance(
    session: AsyncSession, as_of: datetime | None = None
) -> dict[str, TrialBalance]:
    """Total debits and credits per currency over every posting (up to ``as_of``)."""
    return {
        t.currency: TrialBalance(t.currency, t.debits, t.credits)
        for t in await repository.currency_totals(session, as_of)
    }


# ---- posting ---------------------------------------------------------------------------------


def _replay(existing: LedgerTransaction, fingerprint: str) -> LedgerTransaction:
    if existing.fingerprint != fingerprint:
        raise ReferenceReused(
            f"Reference {existing.reference!r} already names another transaction.",
            extra={"reference": existing.reference, "transaction_id": existing.id},
        )
    return existing


async def _check_non_negative(
    session: AsyncSession,
    draft: TransactionDraft,
    accounts: dict[AccountRef, LedgerAccount],
) -> None:
    """Refuse the draft if it takes a non-negative account below zero. An account not
    opened yet holds 0 (so any decrease of it is refused without a lock)."""
    changes: dict[AccountRef, int] = defaultdict(int)
    for posting in draft.postings:
        spec = CHART[AccountCode(posting.account.code)]
        changes[posting.account] += rules.normal_amount(spec.normal_side.value, posting.amount)
    decreasing = sorted(
        ref
        for ref, change in changes.items()
        if change < 0 and CHART[AccountCode(ref.code)].non_negative
    )
    if not decreasing:
        return
    opened = [accounts[ref].id for ref in decreasing if ref in accounts]
    await repository.lock_accounts(session, opened)
    sums = await repository.signed_sums(session, opened)
    for ref in decreasing:
        account = accounts.get(ref)
        current = (
            0 if account is None else rules.normal_amount(account.normal_side, sums[account.id])
        )
        if current + changes[ref] < 0:
            raise InsufficientBalance(
                f"{ref.code} ({ref.owner_id or 'platform'}, {ref.currency}) holds {current}; "
                f"this transaction would take it to {current + changes[ref]}.",
                extra={
                    "account": ref.code,
                    "owner_id": ref.owner_id,
                    "currency": ref.currency,
                    "balance": current,
                    "change": changes[ref],
                },
            )


async def post(
    session: AsyncSession, draft: TransactionDraft, *, open_missing: bool = False
) -> LedgerTransaction:
    """Post ``draft`` once. Validates everything first (two or more non-zero postings,
    debits == credits per currency, accounts exist in the posting's currency, no
    non-negative account below zero) and writes nothing if any check fails; posting the
    same reference again returns the first transaction, a different body under the same
    reference is refused (``ledger_reference_reused``).

    ``open_missing`` opens the chart accounts the draft names that do not exist yet
    (builders name accounts by key: a seller's first sale opens their payable); without
    it an unknown account is refused (``ledger_account_not_found``)."""
    rules.validate(draft)
    fingerprint = rules.fingerprint(draft)
    region = _region(session)
    await repository.lock_reference(session, draft.reference)
    existing = await repository.transaction_by_reference(session, draft.reference)
    if existing is not None:
        return _replay(existing, fingerprint)
    refs = {p.account for p in draft.postings}
    accounts = await repository.accounts_by_refs(session, refs)
    missing = sorted(refs - accounts.keys())
    if missing and not open_missing:
        raise AccountNotFound(
            "No such ledger account: "
            + ", ".join(f"{r.code}/{r.owner_id or 'platform'}/{r.currency}" for r in missing),
        )
    await _check_non_negative(session, draft, accounts)
    # every check passed: only now does anything get written
    if missing:
        accounts = await open_accounts(session, refs)
    for posting in draft.postings:
        if accounts[posting.account].currency != posting.currency:  # pragma: no cover
            raise InvalidTransaction(
                "Posting and account currencies differ.",
                code=LedgerErrorCode.CURRENCY_MISMATCH.value,
            )

    now = utcnow()
    transaction = LedgerTransaction(
        id=new_id("ltx", region),
        kind=str(draft.kind),
        reference=draft.reference,
        fingerprint=fingerprint,
        order_id=draft.order_id,
        payment_id=draft.payment_id,
        reverses_id=draft.reverses_id,
        memo=draft.memo,
        details=dict(draft.details),
        created_at=now,
        region=region,
    )
    session.add(transaction)
    # the transaction row first: postings reference it (foreign key)
    await session.flush()
    session.add_all(
        LedgerPosting(
            id=new_id("lpo", region),
            transaction_id=transaction.id,
            account_id=accounts[p.account].id,
            amount=p.amount,
            currency=p.currency,
            created_at=now,
            region=region,
        )
        for p in draft.postings
    )
    await session.flush()
    return transaction


async def post_opening(session: AsyncSession, draft: TransactionDraft) -> LedgerTransaction:
    """:func:`post` that opens the draft's missing accounts (what the builders use)."""
    return await post(session, draft, open_missing=True)


async def postings_of(session: AsyncSession, transaction: LedgerTransaction) -> list[LedgerPosting]:
    return await repository.postings_of(session, transaction.id)


# ---- business events -------------------------------------------------------------------------


async def referral_rate_bps(control: AsyncSession, region: str) -> int:
    """The referral fee rate in force (governance setting ``fees.referral_rate_bps``, a
    global-only key), or :data:`rules.DEFAULT_REFERRAL_RATE_BPS` when never set."""
    value = await governance.effective_setting(control, REFERRAL_RATE_SETTING, region)
    if value is None:
        return rules.DEFAULT_REFERRAL_RATE_BPS
    if not rules.is_amount(value) or not 0 <= value <= rules.MAX_BPS:
        # governance validates the value on proposal; refuse rather than guess
        raise InvalidTransaction(
            f"{REFERRAL_RATE_SETTING} is not basis points: {value!r}",
            code=LedgerErrorCode.INVALID_AMOUNT.value,
        )
    return int(value)


async def record_sale(
    session: AsyncSession,
    *,
    reference: str,
    order_id: str,
    payment_id: str | None,
    shop_id: str,
    currency: str,
    items_cents: int,
    shipping_cents: int,
    tax_cents: int,
    tax_jurisdiction: str,
    referral_rate_bps: int,
    memo: str = "",
) -> LedgerTransaction:
    """Post a paid order of one seller (see :func:`rules.sale`). Idempotent on
    ``reference``: a retry with the same order amounts returns the first transaction even
    if the referral rate changed in between."""
    draft = rules.sale(
        reference=reference,
        order_id=order_id,
        payment_id=payment_id,
        shop_id=shop_id,
        currency=currency,
        items_cents=items_cents,
        shipping_cents=shipping_cents,
        tax_cents=tax_cents,
        tax_jurisdiction=tax_jurisdiction,
        referral_rate_bps=referral_rate_bps,
        memo=memo,
    )
    return await post_opening(session, draft)


async def sale_record(
    session: AsyncSession, sale_reference: str, *, for_update: bool = False
) -> SaleRecord:
    sale = await repository.transaction_by_reference(session, sale_reference, for_update=for_update)
    if sale is None or sale.kind != rules.TransactionKind.SALE:
        raise SaleNotFound(f"No sale {sale_reference!r} in the ledger.")
    return SaleRecord.from_details(sale.id, sale.reference, sale.order_id, sale.details)


async def refunded_so_far(session: AsyncSession, sold: SaleRecord) -> Refunded:
    return Refunded.total(
        [r.details for r in await repository.refunds_of(session, sold.transaction_id)]
    )


async def refundable(session: AsyncSession, sale_reference: str) -> Refunded:
    """What may still be refunded of a sale, per part."""
    sold = await sale_record(session, sale_reference)
    return rules.refundable(sold, await refunded_so_far(session, sold))


async def record_refund(
    session: AsyncSession,
    *,
    reference: str,
    sale_reference: str,
    items_cents: int,
    shipping_cents: int = 0,
    tax_cents: int = 0,
    payment_id: str | None = None,
    memo: str = "",
) -> LedgerTransaction:
    """Post a full or partial refund of the sale ``sale_reference`` (see
    :func:`rules.refund`): never more than what is left of each part. Idempotent on
    ``reference`` (the same request returns the first refund)."""
    _region(session)
    await repository.take_write_lock(session)
    # Refunds of one sale queue on its row, so two cannot both pass the limit check.
    sold = await sale_record(session, sale_reference, for_update=True)
    request = rules.refund_request(
        sold,
        items_cents=items_cents,
        shipping_cents=shipping_cents,
        tax_cents=tax_cents,
        payment_id=payment_id,
    )
    existing = await repository.transaction_by_reference(session, reference)
    if existing is not None:
        fingerprint = rules.request_fingerprint(
            rules.TransactionKind.REFUND, reference, sold.order_id, payment_id, request
        )
        return _replay(existing, fingerprint)
    draft = rules.refund(
        reference=reference,
        sold=sold,
        refunded=await refunded_so_far(session, sold),
        items_cents=items_cents,
        shipping_cents=shipping_cents,
        tax_cents=tax_cents,
        payment_id=payment_id,
        memo=memo,
    )
    return await post_opening(session, draft)


async def record_payout(
    session: AsyncSession,
    *,
    reference: str,
    shop_id: str,
    currency: str,
    payable_cents: int,
    shipping_cents: int = 0,
    memo: str = "",
) -> LedgerTransaction:
    """Record money paid out to a seller (refused beyond what the seller is owed)."""
    draft = rules.payout(
        reference=reference,
        shop_id=shop_id,
        currency=currency,
        payable_cents=payable_cents,
        shipping_cents=shipping_cents,
        memo=memo,
    )
    return await post_opening(session, draft)
