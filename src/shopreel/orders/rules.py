"""Pure rules of orders: the status machine, what an order draft must add up to, and cursors.

Nothing here touches a database; ``tests/orders/test_rules.py`` tests it directly.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from shopreel.kit.time import as_utc
from shopreel.orders.errors import IllegalTransition, InvalidCursor, InvalidOrderDraft


class OrderStatus(StrEnum):
    PAID = "paid"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"
    # The fulfillment issue adds SHIPPED = "shipped" and DELIVERED = "delivered" here, with
    # their edges in TRANSITIONS below (see docs/orders.md, "Status machine").


TRANSITIONS: Final[Mapping[OrderStatus, frozenset[OrderStatus]]] = {
    OrderStatus.PAID: frozenset(
        {OrderStatus.CANCELLED, OrderStatus.REFUNDED, OrderStatus.PARTIALLY_REFUNDED}
    ),
    OrderStatus.PARTIALLY_REFUNDED: frozenset({OrderStatus.REFUNDED}),
    OrderStatus.CANCELLED: frozenset(),
    OrderStatus.REFUNDED: frozenset(),
    # ---- fulfillment (not built yet) --------------------------------------------------------
    # PAID -> SHIPPED; SHIPPED -> DELIVERED | REFUNDED | PARTIALLY_REFUNDED;
    # DELIVERED -> REFUNDED | PARTIALLY_REFUNDED. Cancelling stays possible only from PAID.
}
"""Every allowed move. A status missing from a value set cannot be reached from its key."""

FINAL: Final = frozenset(s for s, targets in TRANSITIONS.items() if not targets)


def parse_status(value: str) -> OrderStatus:
    try:
        return OrderStatus(value)
    except ValueError:
        raise IllegalTransition(
            f"{value!r} is not an order status.", extra={"target": value}
        ) from None


def check_transition(current: str, target: str) -> bool:
    """Whether ``current -> target`` changes anything: False for a repeat of the same status
    (an idempotent retry), True for an allowed move; :class:`IllegalTransition` otherwise."""
    source = parse_status(current)
    goal = parse_status(target)
    if source is goal:
        return False
    if goal not in TRANSITIONS.get(source, frozenset()):
        raise IllegalTransition(
            f"An order that is {source.value} cannot become {goal.value}.",
            extra={"from": source.value, "to": goal.value},
        )
    return True


# ---- drafts: what the checkout hands over --------------------------------------------------


@dataclass(frozen=True)
class OrderLineDraft:
    variant_id: str
    product_id: str
    sku: str | None
    title: str
    options: dict[str, str]
    quantity: int
    unit_price_cents: int
    discount_cents: int
    """Every discount on this line (its own and its share of the seller's)."""
    net_cents: int
    """``quantity * unit_price_cents - discount_cents``."""
    tax_cents: int
    warehouse_id: str | None


@dataclass(frozen=True)
class OrderDraft:
    checkout_id: str
    buyer_id: str
    shop_id: str
    payment_id: str
    currency: str
    subtotal_cents: int
    discount_cents: int
    shipping_cents: int
    tax_cents: int
    """Line taxes plus the tax on shipping (the difference is the shipping tax)."""
    total_cents: int
    tax_jurisdiction: str
    shipping_method: str
    shipping_label: str
    ship_to: Mapping[str, str]
    lines: tuple[OrderLineDraft, ...]

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)


ADDRESS_FIELDS: Final = (
    "name",
    "line1",
    "line2",
    "city",
    "state",
    "postal_code",
    "country",
    "phone",
)
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_JURISDICTION = re.compile(r"^([A-Z]{2}(-[A-Z0-9]{1,3})?)?$")
_LIMITS: Final = {
    "checkout_id": 48,
    "buyer_id": 48,
    "shop_id": 48,
    "payment_id": 48,
    "shipping_method": 32,
    "shipping_label": 120,
}


def draft_problems(draft: OrderDraft) -> list[str]:
    """Every way a draft fails to add up or to fit (empty when it is acceptable)."""
    problems: list[str] = []
    for name, maximum in _LIMITS.items():
        value = getattr(draft, name)
        if not isinstance(value, str) or not 0 < len(value) <= maximum:
            problems.append(f"{name} must be 1 to {maximum} characters")
    if not _CURRENCY.match(draft.currency):
        problems.append("currency must be an ISO 4217 code")
    if not _JURISDICTION.match(draft.tax_jurisdiction):
        problems.append("tax_jurisdiction must look like 'US-TX' (or be empty)")
    problems += _address_problems(draft.ship_to)
    amounts = {
        "subtotal_cents": draft.subtotal_cents,
        "discount_cents": draft.discount_cents,
        "shipping_cents": draft.shipping_cents,
        "tax_cents": draft.tax_cents,
        "total_cents": draft.total_cents,
    }
    for name, value in amounts.items():
        if not _is_amount(value):
            problems.append(f"{name} must be a non-negative integer of cents")
    if not draft.lines:
        problems.append("an order needs at least one line")
    for index, line in enumerate(draft.lines):
        problems += [f"line {index}: {p}" for p in _line_problems(line)]
    if problems:
        return problems  # sums over malformed parts would only add noise
    expected_total = (
        draft.subtotal_cents - draft.discount_cents + draft.shipping_cents + draft.tax_cents
    )
    if draft.total_cents != expected_total:
        problems.append("total is not subtotal - discount + shipping + tax")
    gross = sum(line.quantity * line.unit_price_cents for line in draft.lines)
    if draft.subtotal_cents != gross:
        problems.append("subtotal is not the sum of quantity x unit price over the lines")
    if draft.discount_cents != sum(line.discount_cents for line in draft.lines):
        problems.append("discount is not the sum of the line discounts")
    line_tax = sum(line.tax_cents for line in draft.lines)
    if line_tax > draft.tax_cents:
        problems.append("the line taxes exceed the order's tax")
    elif draft.shipping_cents == 0 and line_tax != draft.tax_cents:
        problems.append("tax is not the sum of the line taxes (there is no shipping to tax)")
    return problems


def validate_draft(draft: OrderDraft) -> None:
    """Refuse (422 ``invalid_order_draft``) a draft whose parts do not add up."""
    problems = draft_problems(draft)
    if problems:
        raise InvalidOrderDraft(
            "The order does not add up: " + "; ".join(problems) + ".",
            extra={"problems": problems, "shop_id": draft.shop_id},
        )


def _line_problems(line: OrderLineDraft) -> list[str]:
    problems: list[str] = []
    for name in ("variant_id", "product_id"):
        value = getattr(line, name)
        if not isinstance(value, str) or not 0 < len(value) <= 48:
            problems.append(f"{name} must be 1 to 48 characters")
    if line.warehouse_id is not None and not 0 < len(line.warehouse_id) <= 48:
        problems.append("warehouse_id must be 1 to 48 characters")
    if line.sku is not None and len(line.sku) > 255:
        problems.append("sku must be at most 255 characters")
    if not line.title or len(line.title) > 255:
        problems.append("title must be 1 to 255 characters")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in line.options.items()):
        problems.append("options must map names to values")
    if not _is_amount(line.quantity) or line.quantity < 1:
        problems.append("quantity must be a positive integer")
    for name in ("unit_price_cents", "discount_cents", "net_cents", "tax_cents"):
        if not _is_amount(getattr(line, name)):
            problems.append(f"{name} must be a non-negative integer of cents")
    if problems:
        return problems
    if line.net_cents != line.quantity * line.unit_price_cents - line.discount_cents:
        problems.append("net is not quantity x unit price - discount")
    return problems


def _address_problems(ship_to: Mapping[str, str]) -> list[str]:
    problems: list[str] = []
    unknown = sorted(set(ship_to) - set(ADDRESS_FIELDS))
    if unknown:
        problems.append(f"ship_to has unknown fields {unknown}")
    if not all(isinstance(v, str) and len(v) <= 200 for v in ship_to.values()):
        problems.append("ship_to values must be text of at most 200 characters")
        return problems
    for name in ("name", "line1", "city", "country"):
        if not ship_to.get(name, "").strip():
            problems.append(f"ship_to.{name} is required")
    if ship_to.get("country") and not _COUNTRY.match(ship_to["country"]):
        problems.append("ship_to.country must be an ISO 3166 alpha-2 code")
    if len(ship_to.get("state", "")) > 8:
        problems.append("ship_to.state must be a subdivision code of at most 8 characters")
    return problems


def _is_amount(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def normalized_address(ship_to: Mapping[str, str]) -> dict[str, str]:
    """Every address field present (empty when not given), in a stable order."""
    return {name: str(ship_to.get(name, "")) for name in ADDRESS_FIELDS}


# ---- cursors: newest first on (placed_at, id) ------------------------------------------------


def encode_cursor(placed_at: datetime, order_id: str) -> str:
    raw = f"{as_utc(placed_at).isoformat()}|{order_id}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The ``(placed_at, id)`` a cursor made by :func:`encode_cursor` points after;
    422 ``invalid_cursor`` otherwise."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8")
        moment, _, order_id = raw.partition("|")
        placed_at = as_utc(datetime.fromisoformat(moment))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidCursor("The cursor is not valid; start again without it.") from None
    if len(cursor) > 200 or not 0 < len(order_id) <= 48:
        raise InvalidCursor("The cursor is not valid; start again without it.")
    return placed_at, order_id
