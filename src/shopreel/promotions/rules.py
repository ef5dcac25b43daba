"""Pure deal rules: what a seller may call a deal, and when a deal applies."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Final

from shopreel.catalog.rules import PricePoint, lowest_price_since
from shopreel.kit.time import as_utc
from shopreel.promotions.errors import DealNotHonest, InvalidDeal

REFERENCE_WINDOW: Final = timedelta(days=30)
MAX_DURATION: Final = timedelta(days=7)
MAX_PER_BUYER: Final = 10
START_SLACK: Final = timedelta(minutes=1)


def check_deal(
    *,
    deal_price_cents: int,
    max_per_buyer: int,
    starts_at: datetime,
    ends_at: datetime,
    history: Iterable[PricePoint],
    now: datetime,
) -> int:
    """Refuse a dishonest or malformed deal; returns the 30-day low it was checked against.

    * the deal price is at least 1 cent and **strictly below the lowest price in force at
      any moment of the 30 days before** (so raising a price before a "deal" does not make
      the deal look bigger than it is);
    * 1 to 10 units per buyer (anti-scalping);
    * it ends after it starts, lasts at most 7 days and does not start in the past.
    """
    now, starts_at, ends_at = as_utc(now), as_utc(starts_at), as_utc(ends_at)
    if isinstance(deal_price_cents, bool) or not isinstance(deal_price_cents, int):
        raise InvalidDeal("The deal price is whole cents.")
    if deal_price_cents < 1:
        raise InvalidDeal("The deal price must be at least 1 cent.")
    if isinstance(max_per_buyer, bool) or not 1 <= max_per_buyer <= MAX_PER_BUYER:
        raise InvalidDeal(f"A deal allows 1 to {MAX_PER_BUYER} units per buyer.")
    if starts_at < now - START_SLACK:
        raise InvalidDeal("A deal cannot start in the past.")
    if ends_at <= starts_at:
        raise InvalidDeal("A deal must end after it starts.")
    if ends_at - starts_at > MAX_DURATION:
        raise InvalidDeal("A deal lasts at most 7 days.")
    low = lowest_price_since(history, now - REFERENCE_WINDOW)
    if low is None:
        raise DealNotHonest("This variant has no price history to compare the deal with.")
    if deal_price_cents >= low:
        raise DealNotHonest(
            f"A deal price must be below the lowest price of the last 30 days ({low} cents).",
            extra={"reference_low_cents": low},
        )
    return low


def is_active(
    starts_at: datetime, ends_at: datetime, ended_at: datetime | None, at: datetime
) -> bool:
    at = as_utc(at)
    end = as_utc(ended_at) if ended_at is not None else as_utc(ends_at)
    return as_utc(starts_at) <= at < min(end, as_utc(ends_at))


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    return as_utc(a_start) < as_utc(b_end) and as_utc(b_start) < as_utc(a_end)


def discount_cents(unit_price_cents: int, deal_price_cents: int, quantity: int) -> int:
    """What the deal takes off a line: never negative (the list price may have dropped
    below the deal price since)."""
    return max(0, unit_price_cents - deal_price_cents) * quantity
