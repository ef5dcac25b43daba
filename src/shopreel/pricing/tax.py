"""U.S. sales tax by destination state, from the rate table shipped as data.

``data/us_sales_tax.json`` holds the statewide base rate of the 50 states and DC with its
source and "as of" date (see ``docs/pricing.md``). It is validated when loaded: each state
exactly once, every rate a decimal percentage from 0 to 15 with at most three decimals, the
dates and sources present. A bad table raises :class:`TaxTableError` at start-up, never at
checkout.

Rates are kept as integer **millipercent** (thousandths of a percent): 7.25 % is 7 250,
6.875 % is 6 875, so ``tax = amount * rate / 100 000`` is exact before the one rounding step.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any, Final

from shopreel.kit.countries import is_country
from shopreel.pricing.arithmetic import round_half_up_div
from shopreel.pricing.errors import PricingError, PricingErrorCode, TaxTableError

MILLIPERCENT_PER_WHOLE: Final = 100_000
MAX_RATE_MILLIPERCENT: Final = 15_000
TABLE_FILE: Final = "us_sales_tax.json"
TABLE_SCHEMA: Final = "shopreel.us_sales_tax/1"

_STATE_CODES = (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH "
    "NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY"
)
US_STATES_AND_DC: Final = frozenset(_STATE_CODES.split(" "))
US_TERRITORIES_AND_MILITARY: Final = frozenset(
    ("PR", "GU", "VI", "AS", "MP", "UM", "AA", "AE", "AP")
)
"""U.S. addresses outside the table: territories (their own tax systems) and military mail."""

_RATE_RE = re.compile(r"([0-9]{1,2})(?:\.([0-9]{1,3}))?")


class TaxReason(StrEnum):
    STATE_BASE_RATE = "us_state_base_rate"
    NO_STATE_SALES_TAX = "us_state_without_sales_tax"
    NON_US_DESTINATION = "non_us_destination"
    US_TERRITORY_NOT_COVERED = "us_territory_or_military_not_covered"


@dataclass(frozen=True, slots=True)
class StateRate:
    code: str
    name: str
    rate_millipercent: int
    taxes_shipping: bool


@dataclass(frozen=True, slots=True)
class TaxTable:
    schema: str
    rates_as_of: date
    compiled_on: date
    rates_source: str
    shipping_source: str
    marketplace_facilitator: bool
    states: Mapping[str, StateRate]

    def rate(self, state: str) -> StateRate:
        return self.states[state]


def parse_rate_percent(text: str) -> int:
    """``"6.875"`` -> 6875 millipercent. Strings only, so no float ever carries a rate."""
    match = _RATE_RE.fullmatch(text)
    if match is None:
        raise TaxTableError(f"rate {text!r} is not a decimal percentage such as 7.25")
    whole, fraction = match.group(1), match.group(2) or ""
    return int(whole) * 1000 + int(fraction.ljust(3, "0"))


def format_rate(rate_millipercent: int) -> str:
    """6875 -> ``"6.875"``, 7250 -> ``"7.25"``, 0 -> ``"0"`` (no trailing zeros)."""
    whole, fraction = divmod(rate_millipercent, 1000)
    return f"{whole}.{fraction:03d}".rstrip("0").rstrip(".")


def parse_tax_table(text: str) -> TaxTable:
    """Parse and validate a table; :class:`TaxTableError` names the first problem found."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise TaxTableError(f"not JSON: {error}") from error
    if not isinstance(raw, dict):
        raise TaxTableError("the table must be a JSON object")
    if raw.get("schema") != TABLE_SCHEMA:
        raise TaxTableError(f"schema must be {TABLE_SCHEMA!r}")
    rates_as_of = _date(raw, "rates_as_of")
    compiled_on = _date(raw, "compiled_on")
    if compiled_on < rates_as_of:
        raise TaxTableError("compiled_on is before rates_as_of")
    source = raw.get("source")
    if not isinstance(source, dict):
        raise TaxTableError("source is missing")
    rates_source = _text(source, "rates")
    shipping_source = _text(source, "taxes_shipping")
    collector = raw.get("collector")
    if not isinstance(collector, dict) or not isinstance(
        collector.get("marketplace_facilitator"), bool
    ):
        raise TaxTableError("collector.marketplace_facilitator must be a boolean")
    rows = raw.get("states")
    if not isinstance(rows, list):
        raise TaxTableError("states must be a list")
    states: dict[str, StateRate] = {}
    for row in rows:
        state = _state(row)
        if state.code in states:
            raise TaxTableError(f"state {state.code} appears more than once")
        states[state.code] = state
    missing = US_STATES_AND_DC - states.keys()
    if missing:
        raise TaxTableError(f"states missing: {', '.join(sorted(missing))}")
    return TaxTable(
        schema=TABLE_SCHEMA,
        rates_as_of=rates_as_of,
        compiled_on=compiled_on,
        rates_source=rates_source,
        shipping_source=shipping_source,
        marketplace_facilitator=collector["marketplace_facilitator"],
        states=MappingProxyType(states),
    )


@cache
def default_tax_table() -> TaxTable:
    """The table shipped with the package, parsed once per process."""
    text = resources.files("shopreel.pricing").joinpath("data", TABLE_FILE).read_text("utf-8")
    return parse_tax_table(text)


def _date(raw: dict[str, Any], key: str) -> date:
    value = raw.get(key)
    if not isinstance(value, str):
        raise TaxTableError(f"{key} must be an ISO date")
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise TaxTableError(f"{key} must be an ISO date") from error


def _text(raw: dict[str, Any], key: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise TaxTableError(f"source.{key} must name the source")
    return value


def _state(row: object) -> StateRate:
    if not isinstance(row, dict):
        raise TaxTableError("each state must be an object")
    code = row.get("code")
    if code not in US_STATES_AND_DC:
        raise TaxTableError(f"unknown state code {code!r}")
    name = row.get("name")
    if not isinstance(name, str) or not name:
        raise TaxTableError(f"state {code} has no name")
    rate_text = row.get("rate_percent")
    if not isinstance(rate_text, str):
        raise TaxTableError(f'state {code} rate_percent must be a string such as "7.25"')
    rate = parse_rate_percent(rate_text)
    if not 0 <= rate <= MAX_RATE_MILLIPERCENT:
        raise TaxTableError(f"state {code} rate is outside 0..15%")
    taxes_shipping = row.get("taxes_shipping")
    if not isinstance(taxes_shipping, bool):
        raise TaxTableError(f"state {code} taxes_shipping must be a boolean")
    return StateRate(str(code), name, rate, taxes_shipping)


@dataclass(frozen=True, slots=True)
class Destination:
    """Where the parcels go: ISO country code and, in the U.S., the two-letter state code."""

    country: str
    state: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.country, str) or not is_country(self.country):
            raise PricingError(
                PricingErrorCode.INVALID_DESTINATION, "country must be an ISO 3166-1 code"
            )
        if self.country == "US" and not self.state:
            raise PricingError(
                PricingErrorCode.INVALID_DESTINATION, "a U.S. destination needs a state"
            )


@dataclass(frozen=True, slots=True)
class TaxDecision:
    """Which rate applies to a destination, and why. Stored with the order as evidence."""

    country: str
    state: str | None
    rate_millipercent: int
    taxes_shipping: bool
    reason: TaxReason
    table_as_of: date
    marketplace_facilitator: bool

    @property
    def rate_percent(self) -> str:
        return format_rate(self.rate_millipercent)


def decide_tax(destination: Destination, table: TaxTable | None = None) -> TaxDecision:
    """The tax decision for ``destination``; unknown U.S. state codes are refused."""
    table = table or default_tax_table()

    def decision(rate: int, shipping: bool, reason: TaxReason) -> TaxDecision:
        return TaxDecision(
            destination.country,
            destination.state,
            rate,
            shipping,
            reason,
            table.rates_as_of,
            table.marketplace_facilitator,
        )

    if destination.country != "US":
        return decision(0, False, TaxReason.NON_US_DESTINATION)
    state = destination.state or ""
    if state in US_TERRITORIES_AND_MILITARY:
        return decision(0, False, TaxReason.US_TERRITORY_NOT_COVERED)
    if state not in table.states:
        raise PricingError(PricingErrorCode.UNKNOWN_STATE, f"unknown U.S. state {state!r}")
    row = table.states[state]
    if row.rate_millipercent == 0:
        return decision(0, False, TaxReason.NO_STATE_SALES_TAX)
    return decision(row.rate_millipercent, row.taxes_shipping, TaxReason.STATE_BASE_RATE)


def tax_on(amount_cents: int, rate_millipercent: int) -> int:
    """Tax on one taxable amount: exact product, rounded half up to the cent, once."""
    return round_half_up_div(amount_cents * rate_millipercent, MILLIPERCENT_PER_WHOLE)
