"""Pure ledger rules: validation of drafts, the referral fee, sale and refund postings."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shopreel.ledger import rules
from shopreel.ledger.chart import CHART, AccountCode, AccountKind, Side
from shopreel.ledger.errors import InvalidTransaction, RefundExceedsSale
from shopreel.ledger.rules import (
    AccountRef,
    PostingDraft,
    Refunded,
    SaleRecord,
    TransactionDraft,
    credit,
    debit,
)

CLEARING = AccountRef(AccountCode.BUYER_CLEARING, "USD")
EQUITY = AccountRef(AccountCode.PLATFORM_EQUITY, "USD")
PAYABLE = AccountRef(AccountCode.SELLER_PAYABLE, "USD", "shp_1")


def _draft(*postings: PostingDraft, reference: str = "adj:1") -> TransactionDraft:
    return TransactionDraft(kind="adjustment", reference=reference, postings=postings)


def _code(draft: TransactionDraft) -> str:
    with pytest.raises(InvalidTransaction) as refused:
        rules.validate(draft)
    return refused.value.code


def test_a_balanced_draft_is_valid() -> None:
    rules.validate(_draft(debit(CLEARING, 100), credit(EQUITY, 60), credit(PAYABLE, 40)))


@pytest.mark.parametrize(
    ("draft", "code"),
    [
        (_draft(debit(CLEARING, 100)), "ledger_too_few_postings"),
        (_draft(), "ledger_too_few_postings"),
        (_draft(debit(CLEARING, 100), credit(EQUITY, 99)), "ledger_unbalanced"),
        (_draft(debit(CLEARING, 0), credit(EQUITY, 0)), "ledger_zero_posting"),
        (
            _draft(debit(CLEARING, 5), PostingDraft(EQUITY, -5, "EUR")),
            "ledger_currency_mismatch",
        ),
        (
            _draft(
                debit(CLEARING, 5),
                credit(AccountRef(AccountCode.PLATFORM_EQUITY, "EUR"), 5),
            ),
            "ledger_unbalanced",  # 5 USD debited, 5 EUR credited: each currency unbalanced
        ),
        (
            _draft(debit(CLEARING, 5), credit(AccountRef("cash", "USD"), 5)),
            "ledger_invalid_account",
        ),
        (
            _draft(debit(CLEARING, 5), credit(AccountRef(AccountCode.SELLER_PAYABLE, "USD"), 5)),
            "ledger_invalid_account",  # a seller payable needs its shop
        ),
        (
            _draft(
                debit(CLEARING, 5), credit(AccountRef(AccountCode.PLATFORM_EQUITY, "USD", "x"), 5)
            ),
            "ledger_invalid_account",  # a platform account has no owner
        ),
        (
            _draft(
                debit(AccountRef("buyer_clearing", "usd"), 5),
                credit(AccountRef("platform_equity", "usd"), 5),
            ),
            "ledger_invalid_currency",
        ),
        (_draft(debit(CLEARING, 1), credit(EQUITY, 1), reference=""), "ledger_invalid_transaction"),
        (
            TransactionDraft(
                kind="gift", reference="g:1", postings=(debit(CLEARING, 1), credit(EQUITY, 1))
            ),
            "ledger_invalid_transaction",
        ),
        (
            _draft(PostingDraft(CLEARING, True, "USD"), PostingDraft(EQUITY, -1, "USD")),  # type: ignore[arg-type]
            "ledger_invalid_amount",
        ),
    ],
)
def test_invalid_drafts_are_refused_with_a_stable_code(draft: TransactionDraft, code: str) -> None:
    assert _code(draft) == code


def test_unbalanced_reports_the_imbalance_per_currency() -> None:
    eur = AccountRef(AccountCode.BUYER_CLEARING, "EUR")
    draft = _draft(debit(CLEARING, 10), credit(EQUITY, 10), debit(eur, 3), debit(eur, 4))
    with pytest.raises(InvalidTransaction) as refused:
        rules.validate(draft)
    assert refused.value.extra["imbalance"] == {"EUR": 7}


def test_the_chart_gives_contra_accounts_their_own_normal_side() -> None:
    refunds = CHART[AccountCode.COMMISSION_REFUNDS]
    assert refunds.kind is AccountKind.REVENUE and refunds.normal_side is Side.DEBIT
    assert {c for c, s in CHART.items() if s.non_negative} == {
        AccountCode.SELLER_PAYABLE,
        AccountCode.SHIPPING_PAYABLE,
        AccountCode.TAX_PAYABLE,
        AccountCode.CREATOR_COMMISSION_PAYABLE,
    }


@pytest.mark.parametrize(
    ("items", "bps", "fee"),
    [
        (10_000, 800, 800),
        (1_999, 800, 160),
        (1_993, 800, 159),
        (50, 1_000, 5),
        (5, 1_000, 1),
        (4, 1_000, 0),
        (12_345, 0, 0),
        (12_345, 10_000, 12_345),
    ],
)
def test_referral_fee_rounds_half_up_to_the_cent(items: int, bps: int, fee: int) -> None:
    # 1_999 * 8 % = 159.92 -> 160; 1_993 * 8 % = 159.44 -> 159; 5 * 10 % = 0.5 -> 1
    assert rules.referral_fee(items, bps) == fee


def _sale(
    items: int = 10_000, shipping: int = 500, tax: int = 725, bps: int = 800
) -> TransactionDraft:
    return rules.sale(
        reference="sale:ord_1",
        order_id="ord_1",
        payment_id="pay_1",
        shop_id="shp_1",
        currency="USD",
        items_cents=items,
        shipping_cents=shipping,
        tax_cents=tax,
        tax_jurisdiction="US-CA",
        referral_rate_bps=bps,
    )


def _lines(draft: TransactionDraft) -> dict[tuple[str, str], int]:
    return {(p.account.code, p.account.owner_id): p.amount for p in draft.postings}


def test_a_sale_splits_the_buyers_total() -> None:
    draft = _sale()
    rules.validate(draft)
    assert _lines(draft) == {
        ("buyer_clearing", ""): 11_225,
        ("seller_payable", "shp_1"): -9_200,
        ("platform_commission", ""): -800,
        ("shipping_payable", "shp_1"): -500,
        ("tax_payable", "US-CA"): -725,
    }
    assert draft.details["fee"] == 800 and draft.details["referral_rate_bps"] == 800


def test_a_sale_without_shipping_tax_or_fee_omits_zero_postings() -> None:
    draft = _sale(items=1_000, shipping=0, tax=0, bps=0)
    assert _lines(draft) == {("buyer_clearing", ""): 1_000, ("seller_payable", "shp_1"): -1_000}


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"items": 0, "shipping": 0, "tax": 0}, "ledger_invalid_amount"),
        ({"items": -1}, "ledger_invalid_amount"),
        ({"bps": 10_001}, "ledger_invalid_amount"),
    ],
)
def test_invalid_sales_are_refused(kwargs: dict[str, int], code: str) -> None:
    with pytest.raises(InvalidTransaction) as refused:
        _sale(**kwargs)
    assert refused.value.code == code


def _record(items: int = 10_000, shipping: int = 500, tax: int = 725, fee: int = 800) -> SaleRecord:
    return SaleRecord(
        "ltx_1", "sale:ord_1", "ord_1", "shp_1", "USD", items, shipping, tax, fee, "US-CA"
    )


def test_a_full_refund_reverses_the_sale_exactly() -> None:
    draft = rules.refund(
        reference="refund:1",
        sold=_record(),
        refunded=Refunded(),
        items_cents=10_000,
        shipping_cents=500,
        tax_cents=725,
    )
    rules.validate(draft)
    assert _lines(draft) == {
        ("seller_payable", "shp_1"): 9_200,
        ("commission_refunds", ""): 800,
        ("shipping_payable", "shp_1"): 500,
        ("tax_payable", "US-CA"): 725,
        ("buyer_clearing", ""): -11_225,
    }
    assert draft.reverses_id == "ltx_1"


def test_refunds_beyond_what_was_sold_are_refused_per_part() -> None:
    already = Refunded(items=9_000, shipping=500, tax=0, fee=720)
    for kwargs, part in (
        ({"items_cents": 1_001}, "items"),
        ({"items_cents": 0, "shipping_cents": 1}, "shipping"),
        ({"items_cents": 0, "tax_cents": 726}, "tax"),
    ):
        with pytest.raises(RefundExceedsSale) as refused:
            rules.refund(reference="r", sold=_record(), refunded=already, **kwargs)
        assert refused.value.extra["part"] == part


@given(
    items=st.integers(1, 100_000),
    bps=st.integers(0, 10_000),
    cuts=st.lists(st.integers(1, 100_000), max_size=12),
)
def test_partial_refunds_return_the_fee_exactly_and_never_charge_the_seller(
    items: int, bps: int, cuts: list[int]
) -> None:
    """However a sale is refunded in pieces, the fee returned never exceeds the fee taken,
    each piece's seller share is >= 0, and the last piece returns the whole fee."""
    fee = rules.referral_fee(items, bps)
    sold = _record(items=items, shipping=0, tax=0, fee=fee)
    refunded = Refunded()
    pieces = [c for c in cuts if c < items] + [items]
    for piece in pieces:
        left = items - refunded.items
        amount = min(piece, left)
        if amount == 0:
            break
        draft = rules.refund(
            reference="r",
            sold=sold,
            refunded=refunded,
            items_cents=amount,
            shipping_cents=0,
            tax_cents=0,
        )
        rules.validate(draft)
        fee_part = draft.details["fee"]
        assert 0 <= fee_part <= amount
        refunded = Refunded(items=refunded.items + amount, fee=refunded.fee + fee_part)
        assert refunded.fee <= fee
    assert refunded.items == items and refunded.fee == fee


def test_fingerprints_ignore_posting_order_and_see_every_amount() -> None:
    a = _draft(debit(CLEARING, 10), credit(EQUITY, 10))
    b = _draft(credit(EQUITY, 10), debit(CLEARING, 10))
    c = _draft(debit(CLEARING, 11), credit(EQUITY, 11))
    assert rules.fingerprint(a) == rules.fingerprint(b) != rules.fingerprint(c)


def test_a_sale_fingerprint_is_its_request_not_the_rate() -> None:
    assert rules.fingerprint(_sale(bps=800)) == rules.fingerprint(_sale(bps=1_200))
    assert rules.fingerprint(_sale(items=10_000)) != rules.fingerprint(_sale(items=10_001))
