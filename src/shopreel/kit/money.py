"""Money is integer minor units plus an ISO 4217 currency code."""

from __future__ import annotations

from dataclasses import dataclass

_EXPONENTS = {"JPY": 0, "KRW": 0, "BHD": 3, "KWD": 3}


@dataclass(frozen=True, slots=True)
class Money:
    amount: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, int) or isinstance(self.amount, bool):
            raise TypeError("Money.amount must be an int of minor units")
        if len(self.currency) != 3 or not self.currency.isupper():
            raise ValueError(f"invalid currency code {self.currency!r}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot mix {self.currency} and {other.currency}")

    def format(self) -> str:
        exponent = _EXPONENTS.get(self.currency, 2)
        sign = "-" if self.amount < 0 else ""
        whole, frac = divmod(abs(self.amount), 10**exponent)
        text = f"{whole:,}" if exponent == 0 else f"{whole:,}.{frac:0{exponent}d}"
        return f"{sign}{text} {self.currency}"
