"""Pure ledger rules: what a valid transaction is, and how business events become postings.

Nothing here touches a database, so every rule is tested directly (and by the property test
through the service). Sign convention: a posting's ``amount`` is signed minor units,
**debit > 0, credit < 0**; a transaction is balanced when, in every currency, its amounts
sum to zero (debits == credits).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from shopreel.ledger.chart import AccountCode, Owner, Side, spec_for
from shopreel.ledger.errors import InvalidTransaction, LedgerErrorCode, RefundExceedsSale

# The platform's referral fee when governance never set ``fees.referral_rate_bps``: 8 %,
# the order of magnitude of social-commerce marketplaces' category fees.
DEFAULT_REFERRAL_RATE_BPS: Final = 800
MAX_BPS: Final = 10_000
MAX_REFERENCE_LENGTH: Final = 200
MAX_MEMO_LENGTH: Final = 500
# 10^15 minor units: far above any real amount, far below BIGINT and float precision
MAX_AMOUNT: Final = 10**15

_CURRENCY = re.compile(r"^[A-Z]{3}$")


class TransactionKind(StrEnum):
    SALE = "sale"
    REFUND = "refund"
    PAYOUT = "payout"
    FEE = "fee"
    ADJUSTMENT = "adjustment"


_KINDS: Final = frozenset(kind.value for kind in TransactionKind)


@dataclass(frozen=True, slots=True, order=True)
class AccountRef:
    """An account's key: a chart code, a currency and an owner ("" for the platform)."""

    code: str
    currency: str
    owner_id: str = ""


@dataclass(frozen=True, slots=True)
class PostingDraft:
    account: AccountRef
    amount: int  # debit > 0, credit < 0
    currency: str


@dataclass(frozen=True, slots=True)
class TransactionDraft:
    kind: str
    reference: str
    postings: tuple[PostingDraft, ...]
    order_id: str | None = None
    payment_id: str | None = None
    reverses_id: str | None = None
    memo: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)
    # The business request this transaction answers. When given, idempotency compares
    # requests (a retried refund recomputed after its own posting is still "the same");
    # when absent, it compares the postings themselves.
    request: Mapping[str, Any] | None = None


def debit(account: AccountRef, cents: int) -> PostingDraft:
    return PostingDraft(account, cents, account.currency)


def credit(account: AccountRef, cents: int) -> PostingDraft:
    return PostingDraft(account, -cents, account.currency)


def _invalid(code: LedgerErrorCode, detail: str, **extra: Any) -> InvalidTransaction:
    return InvalidTransaction(detail, code=code.value, extra=extra)


def is_amount(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_account_ref(ref: AccountRef) -> None:
    """The code is in the chart, the currency is ISO-shaped, the owner fits the code."""
    spec = spec_for(ref.code)
    if spec is None:
        raise _invalid(LedgerErrorCode.INVALID_ACCOUNT, f"Unknown account code {ref.code!r}.")
    if not _CURRENCY.match(ref.currency):
        raise _invalid(LedgerErrorCode.INVALID_CURRENCY, f"Invalid currency code {ref.currency!r}.")
    platform = spec.owner is Owner.PLATFORM
    if platform == bool(ref.owner_id) or len(ref.owner_id) > 48:
        wanted = "no owner" if platform else f"a {spec.owner.value} owner"
        raise _invalid(LedgerErrorCode.INVALID_ACCOUNT, f"Account {ref.code!r} takes {wanted}.")


def validate(draft: TransactionDraft) -> None:
    """Every rule a transaction must satisfy before anything is written."""
    if draft.kind not in _KINDS:
        raise _invalid(LedgerErrorCode.INVALID_TRANSACTION, f"Unknown kind {draft.kind!r}.")
    if not draft.reference or len(draft.reference) > MAX_REFERENCE_LENGTH:
        raise _invalid(
            LedgerErrorCode.INVALID_TRANSACTION,
            f"A reference of 1 to {MAX_REFERENCE_LENGTH} characters is required.",
        )
    if len(draft.memo) > MAX_MEMO_LENGTH:
        raise _invalid(LedgerErrorCode.INVALID_TRANSACTION, "The memo is too long.")
    if len(draft.postings) < 2:
        raise _invalid(
            LedgerErrorCode.TOO_FEW_POSTINGS, "A transaction needs at least two postings."
        )
    sums: dict[str, int] = defaultdict(int)
    for posting in draft.postings:
        check_account_ref(posting.account)
        if not is_amount(posting.amount) or abs(posting.amount) > MAX_AMOUNT:
            raise _invalid(LedgerErrorCode.INVALID_AMOUNT, "Amounts are integers of minor units.")
        if posting.amount == 0:
            raise _invalid(LedgerErrorCode.ZERO_POSTING, "A posting cannot be zero.")
        if posting.currency != posting.account.currency:
            raise _invalid(
                LedgerErrorCode.CURRENCY_MISMATCH,
                f"A {posting.currency} posting to a {posting.account.currency} account.",
            )
        sums[posting.currency] += posting.amount
    unbalanced = {currency: total for currency, total in sums.items() if total != 0}
    if unbalanced:
        raise _invalid(
            LedgerErrorCode.UNBALANCED,
            "Debits and credits differ: "
            + ", ".join(f"{c} {t:+d}" for c, t in sorted(unbalanced.items())),
            imbalance=unbalanced,
        )


def _digest(body: Mapping[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def request_fingerprint(
    kind: str,
    reference: str,
    order_id: str | None,
    payment_id: str | None,
    request: Mapping[str, Any],
) -> str:
    return _digest(
        {
            "kind": str(kind),
            "reference": reference,
            "order_id": order_id,
            "payment_id": payment_id,
            "request": request,
        }
    )


def fingerprint(draft: TransactionDraft) -> str:
    """What makes two posts of one reference "the same": the request when the draft has
    one, else kind, ids, memo and the postings (in any order)."""
    if draft.request is not None:
        return request_fingerprint(
            draft.kind, draft.reference, draft.order_id, draft.payment_id, draft.request
        )
    return _digest(
        {
            "kind": str(draft.kind),
            "reference": draft.reference,
            "order_id": draft.order_id,
            "payment_id": draft.payment_id,
            "reverses_id": draft.reverses_id,
            "memo": draft.memo,
            "postings": sorted(
                [p.account.code, p.account.owner_id, p.account.currency, p.amount, p.currency]
                for p in draft.postings
            ),
        }
    )


def normal_amount(normal_side: str, amount: int) -> int:
    """A signed posting amount seen from the account's normal side (positive = increase)."""
    return amount if normal_side == Side.DEBIT.value else -amount


# ---- business events -------------------------------------------------------------------------


def _round_half_up(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)


def referral_fee(items_cents: int, rate_bps: int) -> int:
    """The platform's fee on the items of a sale, rounded half up to the cent. Shipping and
    tax carry no fee: they are passed through to the seller and the tax authority."""
    return _round_half_up(items_cents * rate_bps, MAX_BPS)


def _require_amounts(**amounts: int) -> None:
    for name, value in amounts.items():
        if not is_amount(value) or value < 0 or value > MAX_AMOUNT:
            raise _invalid(
                LedgerErrorCode.INVALID_AMOUNT,
                f"{name} must be a non-negative integer of minor units.",
                field=name,
            )
    if sum(amounts.values()) <= 0:
        raise _invalid(LedgerErrorCode.INVALID_AMOUNT, "The total must be positive.")


def sale(
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
) -> TransactionDraft:
    """A paid order of one seller: the buyer's total lands in buyer clearing (debit) and is
    owed to the seller (items less fee, and shipping), the tax authority and the platform.

    Dr buyer_clearing            items + shipping + tax
        Cr seller_payable[shop]      items - fee
        Cr platform_commission       fee
        Cr shipping_payable[shop]    shipping
        Cr tax_payable[jurisdiction] tax
    """
    _require_amounts(items_cents=items_cents, shipping_cents=shipping_cents, tax_cents=tax_cents)
    if not is_amount(referral_rate_bps) or not 0 <= referral_rate_bps <= MAX_BPS:
        raise _invalid(LedgerErrorCode.INVALID_AMOUNT, "The referral rate is 0..10000 bps.")
    if tax_cents and not tax_jurisdiction:
        raise _invalid(LedgerErrorCode.INVALID_ACCOUNT, "Tax needs a jurisdiction.")
    fee = referral_fee(items_cents, referral_rate_bps)
    total = items_cents + shipping_cents + tax_cents
    lines = [
        debit(AccountRef(AccountCode.BUYER_CLEARING, currency), total),
        credit(AccountRef(AccountCode.SELLER_PAYABLE, currency, shop_id), items_cents - fee),
        credit(AccountRef(AccountCode.PLATFORM_COMMISSION, currency), fee),
        credit(AccountRef(AccountCode.SHIPPING_PAYABLE, currency, shop_id), shipping_cents),
        credit(AccountRef(AccountCode.TAX_PAYABLE, currency, tax_jurisdiction), tax_cents),
    ]
    request = {
        "shop_id": shop_id,
        "currency": currency,
        "items": items_cents,
        "shipping": shipping_cents,
        "tax": tax_cents,
        "tax_jurisdiction": tax_jurisdiction,
    }
    return TransactionDraft(
        kind=TransactionKind.SALE,
        reference=reference,
        postings=tuple(p for p in lines if p.amount != 0),
        order_id=order_id,
        payment_id=payment_id,
        memo=memo,
        details={**request, "fee": fee, "referral_rate_bps": referral_rate_bps},
        request=request,
    )


@dataclass(frozen=True, slots=True)
class SaleRecord:
    """What a posted sale recorded (its ``details``), the basis of every refund of it."""

    transaction_id: str
    reference: str
    order_id: str | None
    shop_id: str
    currency: str
    items: int
    shipping: int
    tax: int
    fee: int
    tax_jurisdiction: str

    @classmethod
    def from_details(
        cls, transaction_id: str, reference: str, order_id: str | None, details: Mapping[str, Any]
    ) -> SaleRecord:
        return cls(
            transaction_id=transaction_id,
            reference=reference,
            order_id=order_id,
            shop_id=str(details["shop_id"]),
            currency=str(details["currency"]),
            items=int(details["items"]),
            shipping=int(details["shipping"]),
            tax=int(details["tax"]),
            fee=int(details["fee"]),
            tax_jurisdiction=str(details["tax_jurisdiction"]),
        )


@dataclass(frozen=True, slots=True)
class Refunded:
    """What earlier refunds of one sale already gave back."""

    items: int = 0
    shipping: int = 0
    tax: int = 0
    fee: int = 0

    @classmethod
    def total(cls, details: Sequence[Mapping[str, Any]]) -> Refunded:
        return cls(
            items=sum(int(d["items"]) for d in details),
            shipping=sum(int(d["shipping"]) for d in details),
            tax=sum(int(d["tax"]) for d in details),
            fee=sum(int(d["fee"]) for d in details),
        )


def refundable(sold: SaleRecord, refunded: Refunded) -> Refunded:
    """What may still be refunded of each part (the fee follows the items)."""
    return Refunded(
        items=sold.items - refunded.items,
        shipping=sold.shipping - refunded.shipping,
        tax=sold.tax - refunded.tax,
        fee=sold.fee - refunded.fee,
    )


def refund_request(
    sold: SaleRecord,
    *,
    items_cents: int,
    shipping_cents: int,
    tax_cents: int,
    payment_id: str | None,
) -> dict[str, Any]:
    return {
        "sale": sold.transaction_id,
        "items": items_cents,
        "shipping": shipping_cents,
        "tax": tax_cents,
        "payment_id": payment_id,
    }


def refund(
    *,
    reference: str,
    sold: SaleRecord,
    refunded: Refunded,
    items_cents: int,
    shipping_cents: int = 0,
    tax_cents: int = 0,
    payment_id: str | None = None,
    memo: str = "",
) -> TransactionDraft:
    """A full or partial refund of a sale: the sale's postings reversed in proportion.

    Each part (items, shipping, tax) is limited to what was sold less what earlier refunds
    gave back. The referral fee follows the items *cumulatively*: after refunds of R of I
    item cents, round(fee * R / I) has been returned, so a complete refund returns exactly
    the whole fee whatever the partial steps were, and the seller's share of each refund
    (items - fee part) is never negative.

    Dr seller_payable[shop]      items - fee part
    Dr commission_refunds        fee part
    Dr shipping_payable[shop]    shipping
    Dr tax_payable[jurisdiction] tax
        Cr buyer_clearing            items + shipping + tax
    """
    _require_amounts(items_cents=items_cents, shipping_cents=shipping_cents, tax_cents=tax_cents)
    left = refundable(sold, refunded)
    for part, asked, available in (
        ("items", items_cents, left.items),
        ("shipping", shipping_cents, left.shipping),
        ("tax", tax_cents, left.tax),
    ):
        if asked > available:
            raise RefundExceedsSale(
                f"Refund of {asked} {sold.currency} {part} exceeds the {available} left.",
                extra={"part": part, "requested": asked, "refundable": available},
            )
    fee_after = (
        _round_half_up(sold.fee * (refunded.items + items_cents), sold.items) if sold.items else 0
    )
    fee_part = fee_after - refunded.fee
    currency = sold.currency
    total = items_cents + shipping_cents + tax_cents
    lines = [
        debit(
            AccountRef(AccountCode.SELLER_PAYABLE, currency, sold.shop_id), items_cents - fee_part
        ),
        debit(AccountRef(AccountCode.COMMISSION_REFUNDS, currency), fee_part),
        debit(AccountRef(AccountCode.SHIPPING_PAYABLE, currency, sold.shop_id), shipping_cents),
        debit(AccountRef(AccountCode.TAX_PAYABLE, currency, sold.tax_jurisdiction), tax_cents),
        credit(AccountRef(AccountCode.BUYER_CLEARING, currency), total),
    ]
    request = refund_request(
        sold,
        items_cents=items_cents,
        shipping_cents=shipping_cents,
        tax_cents=tax_cents,
        payment_id=payment_id,
    )
    return TransactionDraft(
        kind=TransactionKind.REFUND,
        reference=reference,
        postings=tuple(p for p in lines if p.amount != 0),
        order_id=sold.order_id,
        payment_id=payment_id,
        reverses_id=sold.transaction_id,
        memo=memo,
        details={
            "items": items_cents,
            "shipping": shipping_cents,
            "tax": tax_cents,
            "fee": fee_part,
        },
        request=request,
    )


def payout(
    *,
    reference: str,
    shop_id: str,
    currency: str,
    payable_cents: int,
    shipping_cents: int = 0,
    memo: str = "",
) -> TransactionDraft:
    """Money paid out to a seller: their payable (and shipping) goes down, and so do the
    funds held at the provider. Refused by :func:`shopreel.ledger.service.post` if it would
    take either payable below zero.

    Dr seller_payable[shop]    payable
    Dr shipping_payable[shop]  shipping
        Cr buyer_clearing          payable + shipping
    """
    _require_amounts(payable_cents=payable_cents, shipping_cents=shipping_cents)
    lines = [
        debit(AccountRef(AccountCode.SELLER_PAYABLE, currency, shop_id), payable_cents),
        debit(AccountRef(AccountCode.SHIPPING_PAYABLE, currency, shop_id), shipping_cents),
        credit(AccountRef(AccountCode.BUYER_CLEARING, currency), payable_cents + shipping_cents),
    ]
    request = {
        "shop_id": shop_id,
        "currency": currency,
        "payable": payable_cents,
        "shipping": shipping_cents,
    }
    return TransactionDraft(
        kind=TransactionKind.PAYOUT,
        reference=reference,
        postings=tuple(p for p in lines if p.amount != 0),
        memo=memo,
        details=request,
        request=request,
    )
