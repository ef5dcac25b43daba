"""The chart of accounts: every account code the ledger knows, with its kind, normal side,
owner and whether its balance may go below zero.

An account is a code of this chart for one owner and one currency
(:class:`shopreel.ledger.rules.AccountRef`); rows are created on demand the first time an
event needs them. The chart is code, not data: adding an account kind is a reviewed change.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class AccountKind(StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    REVENUE = "revenue"
    EXPENSE = "expense"
    EQUITY = "equity"


class Side(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"


class Owner(StrEnum):
    """What the ``owner_id`` of an account of this code names."""

    PLATFORM = "platform"  # owner_id is ""
    SHOP = "shop"  # a seller shop id (global plane)
    JURISDICTION = "jurisdiction"  # a tax jurisdiction such as "US-CA"
    CREATOR = "creator"  # a creator profile id


class AccountCode(StrEnum):
    BUYER_CLEARING = "buyer_clearing"
    SELLER_PAYABLE = "seller_payable"
    SHIPPING_PAYABLE = "shipping_payable"
    TAX_PAYABLE = "tax_payable"
    PLATFORM_COMMISSION = "platform_commission"
    COMMISSION_REFUNDS = "commission_refunds"
    PAYMENT_FEES = "payment_fees"
    CREATOR_COMMISSION_PAYABLE = "creator_commission_payable"
    PLATFORM_EQUITY = "platform_equity"


@dataclass(frozen=True, slots=True)
class AccountSpec:
    code: AccountCode
    kind: AccountKind
    normal_side: Side
    owner: Owner
    non_negative: bool
    name: str


CHART: Final[dict[AccountCode, AccountSpec]] = {
    spec.code: spec
    for spec in (
        # Money captured from buyers, held at the payment provider until it is paid out to
        # sellers, remitted as tax or kept as commission. Not flagged non-negative: a refund
        # after the funds were swept elsewhere may briefly take it below zero.
        AccountSpec(
            AccountCode.BUYER_CLEARING,
            AccountKind.ASSET,
            Side.DEBIT,
            Owner.PLATFORM,
            False,
            "Buyer clearing (funds captured at the payment provider)",
        ),
        # What the platform owes each seller for their sales (items less the referral fee).
        # Never negative: a refund or payout that would overdraw it is refused.
        AccountSpec(
            AccountCode.SELLER_PAYABLE,
            AccountKind.LIABILITY,
            Side.CREDIT,
            Owner.SHOP,
            True,
            "Seller payable",
        ),
        # Shipping collected from buyers, owed to the seller who ships the order.
        AccountSpec(
            AccountCode.SHIPPING_PAYABLE,
            AccountKind.LIABILITY,
            Side.CREDIT,
            Owner.SHOP,
            True,
            "Shipping collected, payable to the seller",
        ),
        # Sales tax collected as marketplace facilitator, owed per jurisdiction.
        AccountSpec(
            AccountCode.TAX_PAYABLE,
            AccountKind.LIABILITY,
            Side.CREDIT,
            Owner.JURISDICTION,
            True,
            "Sales tax payable (marketplace facilitator)",
        ),
        # The platform's referral fee on each sale.
        AccountSpec(
            AccountCode.PLATFORM_COMMISSION,
            AccountKind.REVENUE,
            Side.CREDIT,
            Owner.PLATFORM,
            False,
            "Platform commission revenue (referral fees)",
        ),
        # Contra-revenue: referral fees given back on refunds. Kept apart so gross
        # commission stays visible; net commission = platform_commission - this.
        AccountSpec(
            AccountCode.COMMISSION_REFUNDS,
            AccountKind.REVENUE,
            Side.DEBIT,
            Owner.PLATFORM,
            False,
            "Refunded referral fees (contra-revenue)",
        ),
        AccountSpec(
            AccountCode.PAYMENT_FEES,
            AccountKind.EXPENSE,
            Side.DEBIT,
            Owner.PLATFORM,
            False,
            "Payment provider fees",
        ),
        # Used by the affiliates issue: commissions earned by creators, owed until paid.
        AccountSpec(
            AccountCode.CREATOR_COMMISSION_PAYABLE,
            AccountKind.LIABILITY,
            Side.CREDIT,
            Owner.CREATOR,
            True,
            "Creator commission payable",
        ),
        # Opening balances and manual adjustments approved by finance.
        AccountSpec(
            AccountCode.PLATFORM_EQUITY,
            AccountKind.EQUITY,
            Side.CREDIT,
            Owner.PLATFORM,
            False,
            "Platform equity (adjustments)",
        ),
    )
}


def spec_for(code: str) -> AccountSpec | None:
    try:
        return CHART[AccountCode(code)]
    except ValueError:
        return None
