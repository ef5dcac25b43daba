"""Sandbox cards: test numbers, Luhn and expiry checks, and the sandbox card token.

Pure functions, no I/O. The sandbox tokenizes a test card into a token that carries only
the *behaviour* of the test number (succeed, decline, ...), the brand, the last four digits
and the expiry, signed so it cannot be altered; the number itself is discarded and never
reaches a database, a log line or an error message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shopreel.errors import ValidationFailed
from shopreel.payments.provider import Card, InvalidCardToken

TOKEN_PREFIX = "tok_sandbox_"  # noqa: S105 - a public prefix


class Behaviour(StrEnum):
    """What the sandbox does with a card (the only thing a token remembers of the number)."""

    SUCCEED = "succeed"
    DECLINE = "decline"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    EXPIRED = "expired"
    INCORRECT_CVC = "incorrect_cvc"
    REQUIRES_ACTION = "requires_action"
    CAPTURE_FAILS = "capture_fails"


@dataclass(frozen=True, slots=True)
class TestCard:
    number: str
    brand: str
    behaviour: Behaviour
    description: str


TEST_CARDS: tuple[TestCard, ...] = (
    TestCard("4242424242424242", "visa", Behaviour.SUCCEED, "Succeeds"),
    TestCard("5555555555554444", "mastercard", Behaviour.SUCCEED, "Succeeds (Mastercard)"),
    TestCard("4000000000000002", "visa", Behaviour.DECLINE, "Declined: card_declined"),
    TestCard(
        "4000000000009995", "visa", Behaviour.INSUFFICIENT_FUNDS, "Declined: insufficient_funds"
    ),
    TestCard("4000000000000069", "visa", Behaviour.EXPIRED, "Declined: expired_card"),
    TestCard("4000000000000127", "visa", Behaviour.INCORRECT_CVC, "Declined: incorrect_cvc"),
    TestCard(
        "4000002760003184",
        "visa",
        Behaviour.REQUIRES_ACTION,
        "Requires a second step (challenge page: approve or fail)",
    ),
    TestCard(
        "4000000000000341",
        "visa",
        Behaviour.CAPTURE_FAILS,
        "Authorizes, then the capture fails: processing_error",
    ),
)
_BY_NUMBER = {card.number: card for card in TEST_CARDS}


class CardErrorCode(StrEnum):
    INCORRECT_NUMBER = "incorrect_number"
    NOT_A_TEST_CARD = "not_a_test_card"
    INVALID_EXPIRY = "invalid_expiry"
    EXPIRED_CARD = "expired_card"
    INVALID_CVC = "invalid_cvc"


class InvalidCard(ValidationFailed):
    """The card form is wrong. The message never repeats the number."""


def normalize_number(number: str) -> str:
    """Digits only: buyers type spaces and dashes."""
    return "".join(ch for ch in number if ch not in " -")


def luhn_valid(digits: str) -> bool:
    if not digits.isdigit() or not 12 <= len(digits) <= 19:
        return False
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def normalize_expiry(month: int, year: int) -> tuple[int, int]:
    """(month, four-digit year); two-digit years are 20xx."""
    if not 1 <= month <= 12:
        raise InvalidCard("The expiry month must be 1 to 12.", code=CardErrorCode.INVALID_EXPIRY)
    if 0 <= year <= 99:
        year += 2000
    if not 2000 <= year <= 2199:
        raise InvalidCard("The expiry year is not valid.", code=CardErrorCode.INVALID_EXPIRY)
    return month, year


def is_expired(month: int, year: int, now: datetime) -> bool:
    """A card is valid through the last day of its expiry month."""
    return (year, month) < (now.year, now.month)


def validate_card(number: str, exp_month: int, exp_year: int, cvc: str, now: datetime) -> TestCard:
    """The test card behind the form, or :class:`InvalidCard`. Real card numbers are refused
    (``not_a_test_card``): the sandbox must never be handed a real one."""
    digits = normalize_number(number)
    if not luhn_valid(digits):
        raise InvalidCard("The card number is not valid.", code=CardErrorCode.INCORRECT_NUMBER)
    card = _BY_NUMBER.get(digits)
    if card is None:
        raise InvalidCard(
            "This is not a sandbox test card; see the test card table in docs/payments.md.",
            code=CardErrorCode.NOT_A_TEST_CARD,
        )
    month, year = normalize_expiry(exp_month, exp_year)
    if is_expired(month, year, now):
        raise InvalidCard("The card has expired.", code=CardErrorCode.EXPIRED_CARD)
    if not (cvc.isdigit() and len(cvc) == 3):
        raise InvalidCard("The security code must be 3 digits.", code=CardErrorCode.INVALID_CVC)
    return card


# ---- tokens ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TokenContents:
    behaviour: Behaviour
    card: Card


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, payload: str) -> str:
    return _b64(hmac.new(key, payload.encode("ascii"), hashlib.sha256).digest()[:16])


def issue_token(key: bytes, card: TestCard, exp_month: int, exp_year: int) -> str:
    """``tok_sandbox_<payload>.<mac>``: behaviour, brand, last4, expiry and a nonce."""
    month, year = normalize_expiry(exp_month, exp_year)
    body = {
        "b": card.behaviour.value,
        "br": card.brand,
        "l4": card.number[-4:],
        "m": month,
        "y": year,
        "n": secrets.token_hex(8),
    }
    payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
    return f"{TOKEN_PREFIX}{payload}.{_mac(key, payload)}"


def read_token(key: bytes, token: str) -> TokenContents:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 400:
        raise InvalidCardToken("This is not a sandbox card token.")
    payload, _, mac = token[len(TOKEN_PREFIX) :].partition(".")
    if not payload or not hmac.compare_digest(mac, _mac(key, payload)):
        raise InvalidCardToken("The card token is not valid.")
    try:
        body = json.loads(_unb64(payload))
        return TokenContents(
            behaviour=Behaviour(body["b"]),
            card=Card(
                brand=str(body["br"]),
                last4=str(body["l4"]),
                exp_month=int(body["m"]),
                exp_year=int(body["y"]),
            ),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidCardToken("The card token is not valid.") from exc
