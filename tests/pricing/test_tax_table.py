"""The shipped U.S. sales tax table: validated at load, known states, non-U.S. destinations."""

from __future__ import annotations

import json
from datetime import date
from importlib import resources
from typing import Any

import pytest

from shopreel.pricing import (
    Destination,
    PricingError,
    TaxReason,
    TaxTableError,
    decide_tax,
    default_tax_table,
    parse_tax_table,
)
from shopreel.pricing.tax import (
    TABLE_FILE,
    US_STATES_AND_DC,
    format_rate,
    parse_rate_percent,
    tax_on,
)


def _raw() -> dict[str, Any]:
    text = resources.files("shopreel.pricing").joinpath("data", TABLE_FILE).read_text("utf-8")
    raw: dict[str, Any] = json.loads(text)
    return raw


def test_shipped_table_loads_with_every_state_once_and_its_source() -> None:
    table = default_tax_table()
    codes = [row["code"] for row in _raw()["states"]]
    assert len(codes) == 51 and set(codes) == US_STATES_AND_DC
    assert set(table.states) == US_STATES_AND_DC
    assert all(0 <= s.rate_millipercent <= 15_000 for s in table.states.values())
    assert table.rates_as_of == date(2025, 1, 1)
    assert table.compiled_on >= table.rates_as_of
    assert "Tax Foundation" in table.rates_source
    assert table.marketplace_facilitator is True
    assert "NOT included" in _raw()["scope"]["rate"]  # local rates: a stated limitation


@pytest.mark.parametrize(
    ("state", "percent", "taxes_shipping"),
    [
        ("CA", "7.25", False),
        ("TX", "6.25", True),
        ("NY", "4", True),
        ("MN", "6.875", True),
        ("MO", "4.225", False),
        ("NJ", "6.625", True),
        ("CO", "2.9", False),
        ("OR", "0", False),
        ("DE", "0", False),
        ("MT", "0", False),
        ("NH", "0", False),
        ("AK", "0", False),
    ],
)
def test_known_state_rates(state: str, percent: str, taxes_shipping: bool) -> None:
    row = default_tax_table().rate(state)
    assert format_rate(row.rate_millipercent) == percent
    assert row.taxes_shipping is taxes_shipping


def test_decisions_for_us_states() -> None:
    ca = decide_tax(Destination("US", "CA"))
    assert (ca.rate_millipercent, ca.reason, ca.rate_percent) == (
        7250,
        TaxReason.STATE_BASE_RATE,
        "7.25",
    )
    oregon = decide_tax(Destination("US", "OR"))
    assert (oregon.rate_millipercent, oregon.reason) == (0, TaxReason.NO_STATE_SALES_TAX)
    assert oregon.taxes_shipping is False


@pytest.mark.parametrize("country", ["DE", "CA", "GB", "JP", "MX"])
def test_non_us_destination_has_no_us_tax_and_says_why(country: str) -> None:
    decision = decide_tax(Destination(country, "CA"))  # a Canadian province code is not a state
    assert decision.rate_millipercent == 0
    assert decision.reason is TaxReason.NON_US_DESTINATION
    assert decision.taxes_shipping is False


@pytest.mark.parametrize("state", ["PR", "GU", "VI", "AA", "AP"])
def test_territories_and_military_are_not_covered_and_say_so(state: str) -> None:
    decision = decide_tax(Destination("US", state))
    assert (decision.rate_millipercent, decision.reason) == (
        0,
        TaxReason.US_TERRITORY_NOT_COVERED,
    )


@pytest.mark.parametrize(
    ("destination", "code"),
    [
        (lambda: decide_tax(Destination("US", "ZZ")), "pricing_unknown_state"),
        (lambda: Destination("US"), "pricing_invalid_destination"),
        (lambda: Destination("XX"), "pricing_invalid_destination"),
        (lambda: Destination("us", "CA"), "pricing_invalid_destination"),
    ],
)
def test_bad_destinations_are_refused_with_a_code(destination: Any, code: str) -> None:
    with pytest.raises(PricingError) as caught:
        destination()
    assert caught.value.code == code and caught.value.status == 422


def test_rate_parsing_is_exact() -> None:
    assert parse_rate_percent("7.25") == 7250
    assert parse_rate_percent("6.875") == 6875
    assert parse_rate_percent("0") == 0
    assert parse_rate_percent("15.000") == 15000
    for bad in ("7.2500", "-1", "7,25", "", " 7.25", "1e1", "100"):
        with pytest.raises(TaxTableError):
            parse_rate_percent(bad)


def test_tax_on_rounds_half_up() -> None:
    assert tax_on(1000, 7250) == 73  # 72.5 -> 73
    assert tax_on(200, 6250) == 13  # 12.5 -> 13
    assert tax_on(199, 6250) == 12  # 12.4375
    assert tax_on(0, 7250) == 0


def _with(mutate: Any) -> str:
    raw = _raw()
    mutate(raw)
    return json.dumps(raw)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r["states"].pop(), "states missing: WY"),
        (lambda r: r["states"].append(dict(r["states"][0])), "AL appears more than once"),
        (lambda r: r["states"][0].update(rate_percent="15.001"), "outside 0..15%"),
        (lambda r: r["states"][0].update(rate_percent="20"), "outside 0..15%"),
        (lambda r: r["states"][0].update(rate_percent=7.25), "must be a string"),
        (lambda r: r["states"][0].update(code="PR"), "unknown state code"),
        (lambda r: r["states"][0].update(taxes_shipping="yes"), "taxes_shipping"),
        (lambda r: r.pop("rates_as_of"), "rates_as_of must be an ISO date"),
        (lambda r: r.update(rates_as_of="January 2025"), "rates_as_of must be an ISO date"),
        (lambda r: r.update(compiled_on="2024-01-01"), "compiled_on is before"),
        (lambda r: r["source"].update(rates=" "), "source.rates"),
        (lambda r: r.pop("source"), "source is missing"),
        (lambda r: r.update(schema="other/1"), "schema"),
        (lambda r: r["collector"].pop("marketplace_facilitator"), "marketplace_facilitator"),
    ],
)
def test_malformed_tables_are_refused_at_load(mutate: Any, message: str) -> None:
    with pytest.raises(TaxTableError, match=message):
        parse_tax_table(_with(mutate))


def test_an_alternative_valid_table_is_used_when_given() -> None:
    def raise_texas(raw: dict[str, Any]) -> None:
        for row in raw["states"]:
            if row["code"] == "TX":
                row["rate_percent"] = "7"
                row["taxes_shipping"] = False

    table = parse_tax_table(_with(raise_texas))
    decision = decide_tax(Destination("US", "TX"), table)
    assert (decision.rate_millipercent, decision.taxes_shipping) == (7000, False)
    assert decide_tax(Destination("US", "TX")).rate_millipercent == 6250  # default untouched
