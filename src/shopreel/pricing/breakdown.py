"""The priced cart: what :func:`~shopreel.pricing.calculations.price_cart` returns and what an
order stores (``to_json``), read back with ``from_json`` and checked to add up."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from shopreel.pricing.discounts import AppliedDiscount, DiscountKind
from shopreel.pricing.errors import PricingError, PricingErrorCode
from shopreel.pricing.shipping import ShippingQuote, ShippingRule
from shopreel.pricing.tax import TaxDecision, TaxReason, format_rate

BREAKDOWN_SCHEMA: Final = "shopreel.pricing.breakdown/1"


@dataclass(frozen=True, slots=True)
class PricedLine:
    line_id: str
    unit_price_cents: int
    quantity: int
    gross_cents: int
    line_discounts: tuple[AppliedDiscount, ...]
    line_discount_cents: int
    seller_discount_cents: int
    """This line's share of the seller-level discounts."""
    net_cents: int
    requires_shipping: bool
    taxable: bool
    tax_cents: int


@dataclass(frozen=True, slots=True)
class SellerBreakdown:
    seller_id: str
    lines: tuple[PricedLine, ...]
    seller_discounts: tuple[AppliedDiscount, ...]
    subtotal_cents: int
    """Sum of line gross amounts, before any discount."""
    discount_cents: int
    """Line discounts plus seller discounts."""
    merchandise_cents: int
    """``subtotal - discount``: what the goods cost after discounts."""
    shipping: ShippingQuote
    shipping_tax_cents: int
    tax_cents: int
    """Line taxes plus shipping tax."""
    total_cents: int

    @property
    def shipping_cents(self) -> int:
        return self.shipping.fee_cents


@dataclass(frozen=True, slots=True)
class Totals:
    subtotal_cents: int
    discount_cents: int
    shipping_cents: int
    tax_cents: int
    total_cents: int


@dataclass(frozen=True, slots=True)
class CartBreakdown:
    currency: str
    tax: TaxDecision
    sellers: tuple[SellerBreakdown, ...]
    totals: Totals

    def seller(self, seller_id: str) -> SellerBreakdown:
        for part in self.sellers:
            if part.seller_id == seller_id:
                return part
        raise KeyError(seller_id)

    def to_dict(self) -> dict[str, Any]:
        return _breakdown_to_dict(self)

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, no spaces): equal breakdowns give equal text."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> CartBreakdown:
        """Read back a stored breakdown; refuses one whose parts do not add up."""
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as error:
            raise PricingError(PricingErrorCode.INVALID_BREAKDOWN, "not JSON") from error
        breakdown = _breakdown_from_dict(raw)
        problems = consistency_problems(breakdown)
        if problems:
            raise PricingError(PricingErrorCode.INVALID_BREAKDOWN, "; ".join(problems))
        return breakdown


def consistency_problems(breakdown: CartBreakdown) -> list[str]:
    """Every way the breakdown's parts fail to add up (empty when consistent).

    Run on every breakdown read back from storage, and by the property tests on every
    breakdown computed.
    """
    problems: list[str] = []
    for part in breakdown.sellers:
        name = f"seller {part.seller_id}"
        lines = part.lines
        if part.subtotal_cents != sum(line.gross_cents for line in lines):
            problems.append(f"{name}: subtotal is not the sum of line gross amounts")
        if part.merchandise_cents != sum(line.net_cents for line in lines):
            problems.append(f"{name}: merchandise is not the sum of line nets")
        if part.merchandise_cents != part.subtotal_cents - part.discount_cents:
            problems.append(f"{name}: merchandise is not subtotal minus discount")
        line_discounts = sum(line.line_discount_cents for line in lines)
        seller_shares = sum(line.seller_discount_cents for line in lines)
        if part.discount_cents != line_discounts + seller_shares:
            problems.append(f"{name}: discount is not line discounts plus seller shares")
        if seller_shares != sum(applied.amount_cents for applied in part.seller_discounts):
            problems.append(f"{name}: seller discount shares do not sum to the seller discounts")
        if part.tax_cents != sum(line.tax_cents for line in lines) + part.shipping_tax_cents:
            problems.append(f"{name}: tax is not line taxes plus shipping tax")
        expected_total = part.merchandise_cents + part.shipping.fee_cents + part.tax_cents
        if part.total_cents != expected_total:
            problems.append(f"{name}: total is not merchandise plus shipping plus tax")
        for line in lines:
            if line.gross_cents != line.unit_price_cents * line.quantity:
                problems.append(f"{name} line {line.line_id}: gross is not price x quantity")
            if line.line_discount_cents != sum(a.amount_cents for a in line.line_discounts):
                problems.append(f"{name} line {line.line_id}: line discounts do not add up")
            expected_net = line.gross_cents - line.line_discount_cents - line.seller_discount_cents
            if line.net_cents != expected_net:
                problems.append(f"{name} line {line.line_id}: net is not gross minus discounts")
            if min(line.net_cents, line.tax_cents, line.seller_discount_cents) < 0:
                problems.append(f"{name} line {line.line_id}: negative amount")
    totals = breakdown.totals
    parts = breakdown.sellers
    for field, value in (
        ("subtotal", sum(p.subtotal_cents for p in parts)),
        ("discount", sum(p.discount_cents for p in parts)),
        ("shipping", sum(p.shipping.fee_cents for p in parts)),
        ("tax", sum(p.tax_cents for p in parts)),
        ("total", sum(p.total_cents for p in parts)),
    ):
        if getattr(totals, f"{field}_cents") != value:
            problems.append(f"cart {field} is not the sum over sellers")
    return problems


def _applied_to_dict(applied: AppliedDiscount) -> dict[str, Any]:
    return {
        "kind": applied.kind.value,
        "value": applied.value,
        "cap_cents": applied.cap_cents,
        "label": applied.label,
        "amount_cents": applied.amount_cents,
    }


def _breakdown_to_dict(breakdown: CartBreakdown) -> dict[str, Any]:
    tax = breakdown.tax
    return {
        "schema": BREAKDOWN_SCHEMA,
        "currency": breakdown.currency,
        "tax": {
            "country": tax.country,
            "state": tax.state,
            "rate_millipercent": tax.rate_millipercent,
            "rate_percent": format_rate(tax.rate_millipercent),
            "taxes_shipping": tax.taxes_shipping,
            "reason": tax.reason.value,
            "table_as_of": tax.table_as_of.isoformat(),
            "marketplace_facilitator": tax.marketplace_facilitator,
        },
        "sellers": [
            {
                "seller_id": part.seller_id,
                "subtotal_cents": part.subtotal_cents,
                "discount_cents": part.discount_cents,
                "merchandise_cents": part.merchandise_cents,
                "shipping": {
                    "fee_cents": part.shipping.fee_cents,
                    "rule": part.shipping.rule.value,
                    "handling_days": part.shipping.handling_days,
                    "platform_default": part.shipping.platform_default,
                },
                "shipping_tax_cents": part.shipping_tax_cents,
                "tax_cents": part.tax_cents,
                "total_cents": part.total_cents,
                "seller_discounts": [_applied_to_dict(a) for a in part.seller_discounts],
                "lines": [
                    {
                        "line_id": line.line_id,
                        "unit_price_cents": line.unit_price_cents,
                        "quantity": line.quantity,
                        "gross_cents": line.gross_cents,
                        "line_discounts": [_applied_to_dict(a) for a in line.line_discounts],
                        "line_discount_cents": line.line_discount_cents,
                        "seller_discount_cents": line.seller_discount_cents,
                        "net_cents": line.net_cents,
                        "requires_shipping": line.requires_shipping,
                        "taxable": line.taxable,
                        "tax_cents": line.tax_cents,
                    }
                    for line in part.lines
                ],
            }
            for part in breakdown.sellers
        ],
        "totals": {
            "subtotal_cents": breakdown.totals.subtotal_cents,
            "discount_cents": breakdown.totals.discount_cents,
            "shipping_cents": breakdown.totals.shipping_cents,
            "tax_cents": breakdown.totals.tax_cents,
            "total_cents": breakdown.totals.total_cents,
        },
    }


class _Reader:
    """Strict field access for a stored breakdown: wrong types are refused, not coerced."""

    def __init__(self, raw: object, where: str) -> None:
        if not isinstance(raw, dict):
            raise _invalid(f"{where} must be an object")
        self.raw: dict[str, Any] = raw
        self.where = where

    def integer(self, key: str) -> int:
        value = self.raw.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise _invalid(f"{self.where}.{key} must be a non-negative integer")
        return value

    def optional_integer(self, key: str) -> int | None:
        return None if self.raw.get(key) is None else self.integer(key)

    def text(self, key: str) -> str:
        value = self.raw.get(key)
        if not isinstance(value, str):
            raise _invalid(f"{self.where}.{key} must be a string")
        return value

    def optional_text(self, key: str) -> str | None:
        return None if self.raw.get(key) is None else self.text(key)

    def boolean(self, key: str) -> bool:
        value = self.raw.get(key)
        if not isinstance(value, bool):
            raise _invalid(f"{self.where}.{key} must be a boolean")
        return value

    def items(self, key: str) -> list[Any]:
        value = self.raw.get(key)
        if not isinstance(value, list):
            raise _invalid(f"{self.where}.{key} must be a list")
        return value

    def child(self, key: str) -> _Reader:
        return _Reader(self.raw.get(key), f"{self.where}.{key}")


def _invalid(detail: str) -> PricingError:
    return PricingError(PricingErrorCode.INVALID_BREAKDOWN, detail)


def _applied_from(reader: _Reader) -> AppliedDiscount:
    try:
        kind = DiscountKind(reader.text("kind"))
    except ValueError as error:
        raise _invalid(f"{reader.where}.kind is unknown") from error
    return AppliedDiscount(
        kind=kind,
        value=reader.integer("value"),
        cap_cents=reader.optional_integer("cap_cents"),
        label=reader.text("label"),
        amount_cents=reader.integer("amount_cents"),
    )


def _breakdown_from_dict(raw: object) -> CartBreakdown:
    root = _Reader(raw, "breakdown")
    if root.raw.get("schema") != BREAKDOWN_SCHEMA:
        raise _invalid(f"schema must be {BREAKDOWN_SCHEMA!r}")
    tax = root.child("tax")
    try:
        reason = TaxReason(tax.text("reason"))
        as_of = date.fromisoformat(tax.text("table_as_of"))
    except ValueError as error:
        raise _invalid(f"breakdown.tax: {error}") from error
    decision = TaxDecision(
        country=tax.text("country"),
        state=tax.optional_text("state"),
        rate_millipercent=tax.integer("rate_millipercent"),
        taxes_shipping=tax.boolean("taxes_shipping"),
        reason=reason,
        table_as_of=as_of,
        marketplace_facilitator=tax.boolean("marketplace_facilitator"),
    )
    sellers: list[SellerBreakdown] = []
    for index, item in enumerate(root.items("sellers")):
        part = _Reader(item, f"breakdown.sellers[{index}]")
        ship = part.child("shipping")
        try:
            rule = ShippingRule(ship.text("rule"))
        except ValueError as error:
            raise _invalid(f"{ship.where}.rule is unknown") from error
        lines: list[PricedLine] = []
        for position, line_item in enumerate(part.items("lines")):
            line = _Reader(line_item, f"{part.where}.lines[{position}]")
            lines.append(
                PricedLine(
                    line_id=line.text("line_id"),
                    unit_price_cents=line.integer("unit_price_cents"),
                    quantity=line.integer("quantity"),
                    gross_cents=line.integer("gross_cents"),
                    line_discounts=tuple(
                        _applied_from(_Reader(a, f"{line.where}.line_discounts"))
                        for a in line.items("line_discounts")
                    ),
                    line_discount_cents=line.integer("line_discount_cents"),
                    seller_discount_cents=line.integer("seller_discount_cents"),
                    net_cents=line.integer("net_cents"),
                    requires_shipping=line.boolean("requires_shipping"),
                    taxable=line.boolean("taxable"),
                    tax_cents=line.integer("tax_cents"),
                )
            )
        sellers.append(
            SellerBreakdown(
                seller_id=part.text("seller_id"),
                lines=tuple(lines),
                seller_discounts=tuple(
                    _applied_from(_Reader(a, f"{part.where}.seller_discounts"))
                    for a in part.items("seller_discounts")
                ),
                subtotal_cents=part.integer("subtotal_cents"),
                discount_cents=part.integer("discount_cents"),
                merchandise_cents=part.integer("merchandise_cents"),
                shipping=ShippingQuote(
                    fee_cents=ship.integer("fee_cents"),
                    rule=rule,
                    handling_days=ship.integer("handling_days"),
                    platform_default=ship.boolean("platform_default"),
                ),
                shipping_tax_cents=part.integer("shipping_tax_cents"),
                tax_cents=part.integer("tax_cents"),
                total_cents=part.integer("total_cents"),
            )
        )
    totals = root.child("totals")
    return CartBreakdown(
        currency=root.text("currency"),
        tax=decision,
        sellers=tuple(sellers),
        totals=Totals(
            subtotal_cents=totals.integer("subtotal_cents"),
            discount_cents=totals.integer("discount_cents"),
            shipping_cents=totals.integer("shipping_cents"),
            tax_cents=totals.integer("tax_cents"),
            total_cents=totals.integer("total_cents"),
        ),
    )
