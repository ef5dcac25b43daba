"""Ledger error codes: stable strings clients and callers can branch on."""

from __future__ import annotations

from enum import StrEnum

from shopreel.errors import Conflict, NotFound, ValidationFailed


class LedgerErrorCode(StrEnum):
    TOO_FEW_POSTINGS = "ledger_too_few_postings"
    ZERO_POSTING = "ledger_zero_posting"
    UNBALANCED = "ledger_unbalanced"
    INVALID_CURRENCY = "ledger_invalid_currency"
    CURRENCY_MISMATCH = "ledger_currency_mismatch"
    INVALID_ACCOUNT = "ledger_invalid_account"
    INVALID_TRANSACTION = "ledger_invalid_transaction"
    INVALID_AMOUNT = "ledger_invalid_amount"
    ACCOUNT_NOT_FOUND = "ledger_account_not_found"
    INSUFFICIENT_BALANCE = "ledger_insufficient_balance"
    REFERENCE_REUSED = "ledger_reference_reused"
    SALE_NOT_FOUND = "ledger_sale_not_found"
    REFUND_EXCEEDS_SALE = "ledger_refund_exceeds_sale"


class InvalidTransaction(ValidationFailed):
    """A transaction that breaks a double-entry rule; ``code`` says which. Nothing is written."""

    code = LedgerErrorCode.INVALID_TRANSACTION.value


class AccountNotFound(NotFound):
    code = LedgerErrorCode.ACCOUNT_NOT_FOUND.value


class InsufficientBalance(Conflict):
    """A posting would take a non-negative account below zero."""

    code = LedgerErrorCode.INSUFFICIENT_BALANCE.value


class ReferenceReused(Conflict):
    """The reference already names a transaction with a different body."""

    code = LedgerErrorCode.REFERENCE_REUSED.value


class SaleNotFound(NotFound):
    code = LedgerErrorCode.SALE_NOT_FOUND.value


class RefundExceedsSale(Conflict):
    code = LedgerErrorCode.REFUND_EXCEEDS_SALE.value
