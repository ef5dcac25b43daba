"""Decimal money strings <-> integer amounts in a currency's minor units.

``parse_minor_units("19.99", "USD") == 1999`` and ``format_minor_units(1999, "USD") == "19.99"``.
Amounts are never floats: the text is split into digits and converted with integer arithmetic.

Accepted input (after trimming surrounding whitespace):

* plain decimals with ASCII digits only: ``"0"``, ``"19"``, ``"19.9"``, ``"19.99"``;
* thousands separators as commas in groups of three, **only** when the reading is unambiguous:
  with a decimal part (``"1,234.00"``), or for a currency without minor units (``"1,234"`` in
  CLP or JPY). ``"1,234"`` in USD is rejected, because in a decimal-comma locale it means
  1.234; ``"1,5"`` and ``"1.234,56"`` are rejected for the same reason. Shopify's own exports
  never group digits (``"1234.00"``);
* more fraction digits than the currency has, only when the extra digits are zeros
  (``"32000.00"`` in CLP is 32000; ``"19.999"`` in USD is rejected, never rounded).

Rejected: empty text, signs (``"-1"``, ``"+1"``), currency symbols or codes, exponents,
``".5"`` and ``"5."``, any other character, and amounts above ``max_minor`` when given.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

__all__ = [
    "CURRENCY_EXPONENTS",
    "MoneyError",
    "currency_exponent",
    "format_minor_units",
    "parse_minor_units",
]

# ISO 4217 minor units for the currencies that do not have two. Every other well-formed code
# (three ASCII capital letters) is assumed to have two decimals.
_ZERO_DECIMALS = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE_DECIMALS = "BHD IQD JOD KWD LYD OMR TND"
_FOUR_DECIMALS = "CLF UYW"
CURRENCY_EXPONENTS: Mapping[str, int] = MappingProxyType(
    {
        code: exponent
        for codes, exponent in ((_ZERO_DECIMALS, 0), (_THREE_DECIMALS, 3), (_FOUR_DECIMALS, 4))
        for code in codes.split()
    }
)

MAX_TEXT_LENGTH = 40

_CURRENCY_RE = re.compile(r"[A-Z]{3}")
_PLAIN_RE = re.compile(r"([0-9]+)(?:\.([0-9]+))?")
_GROUPED_RE = re.compile(r"([0-9]{1,3}(?:,[0-9]{3})+)(?:\.([0-9]+))?")


class MoneyError(ValueError):
    """The text is not an acceptable amount; ``reason`` says why, in plain words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def currency_exponent(currency: str) -> int:
    """Number of decimals of ``currency`` (ISO 4217 code, upper case); ValueError otherwise."""
    if not _CURRENCY_RE.fullmatch(currency):
        raise ValueError(f"currency must be a 3-letter upper-case ISO 4217 code, got {currency!r}")
    return CURRENCY_EXPONENTS.get(currency, 2)


def parse_minor_units(text: str, currency: str = "USD", *, max_minor: int | None = None) -> int:
    """Parse a non-negative decimal amount into minor units of ``currency``.

    Raises :class:`MoneyError` for unacceptable text (see the module docstring) and
    ``ValueError`` for a malformed currency code.
    """
    exponent = currency_exponent(currency)
    value = text.strip()
    if not value:
        raise MoneyError("the amount is empty")
    if len(value) > MAX_TEXT_LENGTH:
        raise MoneyError(f"the amount is longer than {MAX_TEXT_LENGTH} characters")
    if value[0] in "+-":
        raise MoneyError("signs are not allowed; amounts must be zero or positive")
    match = _PLAIN_RE.fullmatch(value)
    if match is None:
        match = _GROUPED_RE.fullmatch(value)
        if match is None:
            raise MoneyError(
                "not a plain decimal amount such as 19.99 (digits and one '.' only; "
                "no currency symbols, spaces or decimal commas)"
            )
        if match.group(2) is None and exponent > 0:
            raise MoneyError(
                "ambiguous comma: write 1234 or 1,234.00 (a comma without a decimal part "
                "may be a decimal comma)"
            )
    whole = match.group(1).replace(",", "")
    fraction = match.group(2) or ""
    if len(fraction) > exponent:
        if fraction[exponent:].strip("0"):
            raise MoneyError(
                f"more than {exponent} decimal{'s' if exponent != 1 else ''} for {currency}"
            )
        fraction = fraction[:exponent]
    amount: int = int(whole) * 10**exponent + int(fraction.ljust(exponent, "0") or "0")
    if max_minor is not None and amount > max_minor:
        raise MoneyError(
            f"the amount is too large (at most {format_minor_units(max_minor, currency)})"
        )
    return amount


def format_minor_units(amount: int, currency: str = "USD") -> str:
    """Format minor units as the plain decimal text Shopify writes: ``1999 -> "19.99"``."""
    exponent = currency_exponent(currency)
    if amount < 0:
        raise ValueError("amount must not be negative")
    if exponent == 0:
        return str(amount)
    whole, fraction = divmod(amount, 10**exponent)
    return f"{whole}.{fraction:0{exponent}d}"
