"""The payment state machine and the card rules, without a database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shopreel.payments import cards
from shopreel.payments.cards import Behaviour, InvalidCard
from shopreel.payments.provider import InvalidCardToken
from shopreel.payments.rules import (
    TERMINAL,
    TRANSITIONS,
    Decision,
    PaymentStatus,
    decide,
    status_after_refunds,
)

S = PaymentStatus
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("4242424242424242", True),
        ("4242 4242 4242 4242", True),
        ("4242-4242-4242-4242", True),
        ("4242424242424241", False),
        ("4000002760003184", True),
        ("1234", False),
        ("abcd efgh ijkl mnop", False),
        ("", False),
    ],
)
def test_luhn(number: str, valid: bool) -> None:
    assert cards.luhn_valid(cards.normalize_number(number)) is valid


def test_every_test_card_passes_luhn_and_is_unique() -> None:
    numbers = [card.number for card in cards.TEST_CARDS]
    assert len(set(numbers)) == len(numbers)
    assert all(cards.luhn_valid(n) for n in numbers)


def test_expiry_is_valid_through_the_end_of_its_month() -> None:
    assert not cards.is_expired(11, 2026, NOW)
    assert cards.is_expired(10, 2026, NOW)
    assert not cards.is_expired(1, 2027, NOW)
    assert cards.normalize_expiry(3, 29) == (3, 2029)


@pytest.mark.parametrize(
    ("number", "month", "year", "cvc", "code"),
    [
        ("4242424242424241", 12, 2030, "123", "incorrect_number"),
        ("4111111111111111", 12, 2030, "123", "not_a_test_card"),  # Luhn-valid, not a test card
        ("4242424242424242", 13, 2030, "123", "invalid_expiry"),
        ("4242424242424242", 10, 2026, "123", "expired_card"),
        ("4242424242424242", 12, 2030, "12", "invalid_cvc"),
        ("4242424242424242", 12, 2030, "12a", "invalid_cvc"),
    ],
)
def test_validate_card_refuses(number: str, month: int, year: int, cvc: str, code: str) -> None:
    with pytest.raises(InvalidCard) as info:
        cards.validate_card(number, month, year, cvc, NOW)
    assert info.value.code == code
    assert number not in info.value.detail


def test_token_carries_behaviour_brand_last4_only() -> None:
    key = b"k" * 32
    card = cards.validate_card("4000 0027 6000 3184", 12, 2030, "123", NOW)
    token = cards.issue_token(key, card, 12, 2030)
    assert token.startswith("tok_sandbox_")
    assert "4000002760003184" not in token
    assert "400000276000" not in cards._unb64(token[12:].split(".")[0]).decode()
    contents = cards.read_token(key, token)
    assert contents.behaviour is Behaviour.REQUIRES_ACTION
    assert (contents.card.brand, contents.card.last4) == ("visa", "3184")
    with pytest.raises(InvalidCardToken):
        cards.read_token(b"x" * 32, token)  # another deployment's key
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    with pytest.raises(InvalidCardToken):
        cards.read_token(key, tampered)


def test_terminal_states_have_no_way_out() -> None:
    assert {S.DECLINED, S.VOIDED, S.FAILED, S.REFUNDED} == TERMINAL
    assert all(not TRANSITIONS[s] for s in TERMINAL)


@pytest.mark.parametrize(
    ("current", "target", "decision"),
    [
        (S.PENDING, S.AUTHORIZED, Decision.APPLY),
        (S.PENDING, S.CAPTURED, Decision.APPLY),  # captured arrived before authorized
        (S.REQUIRES_ACTION, S.AUTHORIZED, Decision.APPLY),
        (S.CAPTURED, S.AUTHORIZED, Decision.STALE),  # a late authorized event
        (S.REFUNDED, S.CAPTURED, Decision.STALE),
        (S.AUTHORIZED, S.AUTHORIZED, Decision.SAME),
        (S.VOIDED, S.CAPTURED, Decision.CONFLICT),
        (S.DECLINED, S.AUTHORIZED, Decision.CONFLICT),
        (S.CAPTURED, S.VOIDED, Decision.CONFLICT),  # void after capture
        (S.FAILED, S.CAPTURED, Decision.CONFLICT),
    ],
)
def test_decide(current: S, target: S, decision: Decision) -> None:
    assert decide(current, target) is decision


def test_refund_statuses() -> None:
    assert status_after_refunds(1000, 0) is S.CAPTURED
    assert status_after_refunds(1000, 400) is S.PARTIALLY_REFUNDED
    assert status_after_refunds(1000, 1000) is S.REFUNDED
