"""Cart use cases. The cart lives in the buyer's home region; what it shows (title, price,
stock, availability) is read live from the global catalog every time.

Functions take the unit of work first and flush, never commit. The checkout calls
:func:`checkout_lines` (the validated lines at current prices) and, after a paid checkout,
:func:`remove_purchased` inside its own regional transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from shopreel.cart import repository, rules
from shopreel.cart.errors import (
    CartEmpty,
    CartLineNotFound,
    LineUnavailable,
    OutOfStock,
    VariantNotFound,
)
from shopreel.cart.models import Cart, CartItem
from shopreel.cart.rules import LineFlags, Unavailable
from shopreel.catalog.models import Product, Variant
from shopreel.kit.ids import new_id, region_of
from shopreel.kit.time import utcnow
from shopreel.uow import UnitOfWork

__all__ = [
    "CartLine",
    "CartView",
    "LineView",
    "SellerGroup",
    "add_item",
    "checkout_lines",
    "get_cart",
    "item_count",
    "remove_item",
    "remove_purchased",
    "set_quantity",
]

UNAVAILABLE_MESSAGES: dict[str, str] = {
    Unavailable.VARIANT_GONE: "This item is no longer sold.",
    Unavailable.PRODUCT_NOT_LIVE: "This item is not for sale right now.",
    Unavailable.SHOP_SUSPENDED: "This shop is not selling right now.",
}


@dataclass(frozen=True, slots=True)
class CartLine:
    """A validated line for the checkout, at the catalog's current price."""

    variant_id: str
    product_id: str
    shop_id: str
    quantity: int
    unit_price_cents: int
    currency: str
    title: str = ""
    shop_name: str = ""
    options: Mapping[str, str] = field(default_factory=dict)
    sku: str = ""


@dataclass(frozen=True, slots=True)
class LineView:
    variant_id: str
    product_id: str
    shop_id: str
    title: str
    options: dict[str, str]
    sku: str
    quantity: int
    unit_price_cents: int  # current price (the price seen when added if the variant is gone)
    price_when_added_cents: int
    currency: str
    available: int
    flags: LineFlags

    @property
    def line_total_cents(self) -> int:
        return self.quantity * self.unit_price_cents

    @property
    def unavailable_message(self) -> str | None:
        reason = self.flags.unavailable
        return None if reason is None else UNAVAILABLE_MESSAGES[reason]


@dataclass(frozen=True, slots=True)
class SellerGroup:
    shop_id: str
    shop_name: str
    currency: str
    lines: list[LineView]

    @property
    def subtotal_cents(self) -> int:
        """Lines that can be bought, at current prices (unavailable lines are left out)."""
        return rules.subtotal(
            (line.quantity, line.unit_price_cents)
            for line in self.lines
            if line.flags.unavailable is None
        )


@dataclass(frozen=True, slots=True)
class CartView:
    id: str | None
    sellers: list[SellerGroup]

    @property
    def lines(self) -> list[LineView]:
        return [line for group in self.sellers for line in group.lines]

    @property
    def line_count(self) -> int:
        return len(self.lines)

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def currency(self) -> str | None:
        return self.sellers[0].currency if self.sellers else None

    @property
    def subtotal_cents(self) -> int:
        return sum(group.subtotal_cents for group in self.sellers)

    @property
    def has_price_changes(self) -> bool:
        return any(line.flags.price_changed for line in self.lines)

    @property
    def has_unavailable(self) -> bool:
        return any(line.flags.unavailable is not None for line in self.lines)

    @property
    def has_short(self) -> bool:
        return any(line.flags.short for line in self.lines)

    @property
    def can_checkout(self) -> bool:
        return bool(self.sellers) and all(line.flags.buyable for line in self.lines)


def _session(uow: UnitOfWork, buyer_id: str) -> AsyncSession:
    return uow.region(region_of(buyer_id) or uow.home_region)


def _region(uow: UnitOfWork, buyer_id: str) -> str:
    region = region_of(buyer_id) or uow.home_region
    assert region is not None
    return region


async def _view(uow: UnitOfWork, cart_id: str | None, items: Sequence[CartItem]) -> CartView:
    if not items:
        return CartView(cart_id, [])
    facts = await repository.catalog_facts(
        uow.global_,
        [i.variant_id for i in items],
        [i.product_id for i in items],
        [i.shop_id for i in items],
    )
    stock = await repository.available_stock(uow.global_, [i.variant_id for i in items])
    groups: dict[str, SellerGroup] = {}
    for item in items:
        variant = facts.variants.get(item.variant_id)
        product = facts.products.get(item.product_id)
        shop = facts.shops.get(item.shop_id)
        reason = rules.unavailable_reason(
            variant_exists=variant is not None,
            product_status=product.status if product else None,
            shop_status=shop.status if shop else None,
        )
        current = variant.price_cents if variant is not None else None
        available = stock.get(item.variant_id, 0)
        flags = rules.flags_of(
            quantity=item.quantity,
            seen_cents=item.unit_price_cents,
            current_cents=current,
            available=available,
            unavailable=reason,
        )
        line = LineView(
            variant_id=item.variant_id,
            product_id=item.product_id,
            shop_id=item.shop_id,
            title=product.title if product else "Removed item",
            options=dict(variant.options) if variant else {},
            sku=variant.sku if variant else "",
            quantity=item.quantity,
            unit_price_cents=current if current is not None else item.unit_price_cents,
            price_when_added_cents=item.unit_price_cents,
            currency=variant.currency if variant else item.currency,
            available=available,
            flags=flags,
        )
        group = groups.get(item.shop_id)
        if group is None:
            group = SellerGroup(
                shop_id=item.shop_id,
                shop_name=shop.name if shop else "Closed shop",
                currency=line.currency,
                lines=[],
            )
            groups[item.shop_id] = group
        group.lines.append(line)
    # sellers in the order their first line was added (lines keep their own order)
    return CartView(cart_id, list(groups.values()))


async def get_cart(uow: UnitOfWork, buyer_id: str) -> CartView:
    """The buyer's cart with live catalog data, grouped by seller (an empty view when the
    buyer never added anything: no row is created by reading)."""
    session = _session(uow, buyer_id)
    cart = await repository.cart_of(session, buyer_id)
    if cart is None:
        return CartView(None, [])
    return await _view(uow, cart.id, await repository.items_of(session, cart.id))


async def item_count(uow: UnitOfWork, buyer_id: str) -> int:
    """Units in the cart (for the header badge)."""
    return await repository.quantity_of_user(_session(uow, buyer_id), buyer_id)


async def _variant_for_sale(uow: UnitOfWork, variant_id: str) -> tuple[Variant, Product, int]:
    """The variant, its product and the units available; refuses what cannot be bought."""
    facts = await repository.catalog_facts(uow.global_, [variant_id], [], [])
    variant = facts.variants.get(variant_id)
    if variant is None:
        raise VariantNotFound("No such item.")
    product = facts.products.get(variant.product_id)
    shop = facts.shops.get(variant.shop_id)
    reason = rules.unavailable_reason(
        variant_exists=True,
        product_status=product.status if product else None,
        shop_status=shop.status if shop else None,
    )
    if reason is not None or product is None:
        raise LineUnavailable(
            UNAVAILABLE_MESSAGES[reason or Unavailable.VARIANT_GONE], [variant_id]
        )
    stock = await repository.available_stock(uow.global_, [variant_id])
    return variant, product, stock.get(variant_id, 0)


def _out_of_stock(variant_id: str, requested: int, available: int) -> OutOfStock:
    message = (
        "This item is out of stock."
        if available == 0
        else f"Only {available} of this item {'is' if available == 1 else 'are'} available."
    )
    return OutOfStock(
        message, [{"variant_id": variant_id, "requested": requested, "available": available}]
    )


async def add_item(uow: UnitOfWork, buyer_id: str, variant_id: str, quantity: int) -> CartView:
    """Add ``quantity`` of a live variant; a variant already in the cart adds to its line
    (and the line takes the current price as the price seen)."""
    rules.check_quantity(quantity)
    variant, product, available = await _variant_for_sale(uow, variant_id)
    session = _session(uow, buyer_id)
    cart = await repository.cart_for_update(session, buyer_id, _region(uow, buyer_id))
    items = await repository.items_of(session, cart.id)
    existing = next((i for i in items if i.variant_id == variant_id), None)
    in_cart = existing.quantity if existing else 0
    total = rules.merged_quantity(in_cart, quantity)
    if existing is None:
        rules.check_room_for_line(len(items))
        rules.check_currency((i.currency for i in items), variant.currency)
    if not rules.stock_allows(current=in_cart, requested=total, available=available):
        raise _out_of_stock(variant_id, total, available)
    now = utcnow()
    if existing is None:
        session.add(
            CartItem(
                id=new_id("citem", cart.region),
                cart_id=cart.id,
                variant_id=variant_id,
                product_id=product.id,
                shop_id=variant.shop_id,
                quantity=total,
                unit_price_cents=variant.price_cents,
                currency=variant.currency,
                region=cart.region,
                created_at=now,
                updated_at=now,
            )
        )
    else:
        existing.quantity = total
        existing.unit_price_cents = variant.price_cents
        existing.currency = variant.currency
        existing.updated_at = now
    await session.flush()
    return await _view(uow, cart.id, await repository.items_of(session, cart.id))


async def _own_line(
    uow: UnitOfWork, buyer_id: str, variant_id: str
) -> tuple[AsyncSession, Cart, CartItem]:
    session = _session(uow, buyer_id)
    cart = await repository.lock_cart(session, buyer_id)
    if cart is not None:
        for item in await repository.items_of(session, cart.id):
            if item.variant_id == variant_id:
                return session, cart, item
    raise CartLineNotFound("This item is not in your cart.")


async def set_quantity(uow: UnitOfWork, buyer_id: str, variant_id: str, quantity: int) -> CartView:
    """Set a line's quantity (0 removes it). Raising it needs the variant to be for sale
    and in stock; lowering it is always allowed."""
    rules.check_quantity(quantity, allow_zero=True)
    session, cart, item = await _own_line(uow, buyer_id, variant_id)
    if quantity == 0:
        await session.delete(item)
    elif quantity != item.quantity:
        current_price = item.unit_price_cents
        if quantity > item.quantity:
            variant, _, available = await _variant_for_sale(uow, variant_id)
            if not rules.stock_allows(
                current=item.quantity, requested=quantity, available=available
            ):
                raise _out_of_stock(variant_id, quantity, available)
            current_price = variant.price_cents
        else:
            facts = await repository.catalog_facts(uow.global_, [variant_id], [], [])
            still_sold = facts.variants.get(variant_id)
            if still_sold is not None:
                current_price = still_sold.price_cents
        item.quantity = quantity
        item.unit_price_cents = current_price
        item.updated_at = utcnow()
    await session.flush()
    return await _view(uow, cart.id, await repository.items_of(session, cart.id))


async def remove_item(uow: UnitOfWork, buyer_id: str, variant_id: str) -> CartView:
    return await set_quantity(uow, buyer_id, variant_id, 0)


async def checkout_lines(uow: UnitOfWork, buyer_id: str) -> list[CartLine]:
    """The cart's lines re-validated against the catalog now, at current prices, in cart
    order. Raises :class:`CartEmpty` (422 ``cart_empty``) or :class:`LineUnavailable`
    (422 ``line_unavailable``, ``extra.variant_ids``). Stock is not checked here: the
    checkout's reservation decides (409 ``out_of_stock``)."""
    view = await get_cart(uow, buyer_id)
    if not view.lines:
        raise CartEmpty("Your cart is empty.")
    bad = [line.variant_id for line in view.lines if line.flags.unavailable is not None]
    if bad:
        raise LineUnavailable(
            "Some items in your cart can no longer be bought. Remove them to check out.", bad
        )
    return [
        CartLine(
            variant_id=line.variant_id,
            product_id=line.product_id,
            shop_id=line.shop_id,
            quantity=line.quantity,
            unit_price_cents=line.unit_price_cents,
            currency=line.currency,
            title=line.title,
            shop_name=group.shop_name,
            options=dict(line.options),
            sku=line.sku,
        )
        for group in view.sellers
        for line in group.lines
    ]


async def remove_purchased(uow: UnitOfWork, buyer_id: str, quantities: Mapping[str, int]) -> None:
    """After a paid checkout: subtract the purchased quantities (by variant id) from the
    cart, removing lines that reach 0. Runs in the caller's regional transaction (flush,
    no commit); lines added or lowered meanwhile are respected (never below 0)."""
    session = _session(uow, buyer_id)
    cart = await repository.lock_cart(session, buyer_id)
    if cart is None or not quantities:
        return
    items = {i.variant_id: i for i in await repository.items_of(session, cart.id)}
    left = rules.after_purchase({v: i.quantity for v, i in items.items()}, quantities)
    if not left:
        return
    now = utcnow()
    for variant_id in sorted(left):
        item = items[variant_id]
        if left[variant_id] == 0:
            await session.delete(item)
        else:
            item.quantity = left[variant_id]
            item.updated_at = now
    await session.flush()
