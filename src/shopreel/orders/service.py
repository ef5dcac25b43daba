"""Order use cases: creating a checkout's orders, moving their status, and reading them.

* The checkout calls :func:`create_orders` inside its own unit of work (nothing here
  commits), and :func:`orders_of_checkout` / :func:`transition` / :func:`record_event`.
* Buyers read their own orders (:func:`list_buyer_orders`, :func:`get_buyer_order`) in their
  home region; another buyer's order, or an id of another region, is 404 ``order_not_found``.
* Sellers read their shop's incoming orders through :func:`incoming_orders_for_shop`, the
  one named cross-region read of this domain: a shop is global, its orders live in each
  buyer's home region. What leaves a region there is :class:`IncomingOrder`, which holds no
  buyer name, address, phone or account id.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shopreel.accounts.principal import Principal
from shopreel.accounts.service import user_data_key
from shopreel.catalog.models import Shop
from shopreel.catalog.shops import seller_shop
from shopreel.kit.ids import new_id, region_of
from shopreel.kit.time import as_utc, utcnow
from shopreel.orders import repository
from shopreel.orders.errors import (
    InvalidOrderDraft,
    OrderConcurrentUpdate,
    OrderCreationConflict,
    OrderNotFound,
)
from shopreel.orders.models import Order, OrderEvent, OrderLine
from shopreel.orders.rules import (
    OrderDraft,
    OrderLineDraft,
    OrderStatus,
    check_transition,
    decode_cursor,
    encode_cursor,
    normalized_address,
    validate_draft,
)
from shopreel.planes import regional
from shopreel.runtime import Runtime
from shopreel.uow import UnitOfWork

__all__ = [
    "IncomingOrder",
    "IncomingPage",
    "OrderDetail",
    "OrderDraft",
    "OrderLineDraft",
    "OrderPage",
    "create_orders",
    "get_buyer_order",
    "get_seller_order",
    "incoming_order_for_shop",
    "incoming_orders_for_shop",
    "list_buyer_orders",
    "list_seller_orders",
    "order_history",
    "orders_of_checkout",
    "record_event",
    "transition",
]

log = logging.getLogger("shopreel.orders")

PLACED: Final = "order.placed"
STATUS_CHANGED: Final = "order.status_changed"
MAX_PAGE: Final = 100
_TRANSITION_ATTEMPTS: Final = 3


def ship_to_context(order_id: str) -> str:
    return f"orders.ship_to:{order_id}"


# ---- creation (called by the checkout) -------------------------------------------------------


async def create_orders(
    uow: UnitOfWork, runtime: Runtime, drafts: Sequence[OrderDraft], *, placed_at: datetime
) -> list[Order]:
    """Write one order per draft (with its lines and an ``order.placed`` event) in the
    buyer's region, in the caller's unit of work; returns them in the drafts' order.

    Idempotent on ``(checkout_id, shop_id)``: a draft whose order exists returns that order
    unchanged (nothing is compared or rewritten), so the checkout's retries and the recovery
    job may call this as often as they like. Every draft is validated before anything is
    written (422 ``invalid_order_draft``). Two transactions racing to create the same order
    meet at the unique index: the loser gets 409 ``orders_being_created`` and, after its
    rollback, finds the winner's orders on the next call."""
    if not drafts:
        return []
    for draft in drafts:
        validate_draft(draft)
    keys = [(d.checkout_id, d.shop_id) for d in drafts]
    if len(set(keys)) != len(keys):
        raise InvalidOrderDraft("Two drafts are for the same checkout and shop.")
    regions = {region_of(d.buyer_id) for d in drafts}
    region = regions.pop() if len(regions) == 1 else None
    if region is None or region not in runtime.settings.region_names:
        raise InvalidOrderDraft("Every draft must be for one buyer of a known region.")
    session = uow.region(region)
    placed = as_utc(placed_at)
    now = utcnow()
    # Every read happens before the first row is added, so no autoflush can hit the unique
    # index outside the ``try`` below.
    existing = await repository.orders_for_checkouts(session, {d.checkout_id for d in drafts})
    missing = [d for d in drafts if (d.checkout_id, d.shop_id) not in existing]
    data_keys = {
        buyer_id: await _buyer_data_key(runtime, session, buyer_id)
        for buyer_id in sorted({d.buyer_id for d in missing})
    }
    orders: list[Order] = []
    created = False
    for draft in drafts:
        found = existing.get((draft.checkout_id, draft.shop_id))
        if found is not None:
            orders.append(found)
            continue
        order = _new_order(runtime, region, data_keys[draft.buyer_id], draft, placed, now)
        session.add(order)
        session.add_all(_new_lines(region, order.id, draft.lines))
        session.add(
            OrderEvent(
                id=new_id("oev", region),
                order_id=order.id,
                kind=PLACED,
                actor=draft.buyer_id,
                data={
                    "checkout_id": draft.checkout_id,
                    "payment_id": draft.payment_id,
                    "currency": draft.currency,
                    "total_cents": draft.total_cents,
                    "item_count": draft.item_count,
                },
                created_at=now,
            )
        )
        orders.append(order)
        created = True
    if created:
        try:
            await session.flush()
        except IntegrityError:
            raise OrderCreationConflict(
                "These orders are being created by another request; roll back and try again.",
                extra={"checkout_ids": sorted({d.checkout_id for d in drafts})},
            ) from None
    return orders


async def _buyer_data_key(runtime: Runtime, session: AsyncSession, buyer_id: str) -> bytes:
    key = await user_data_key(runtime, session, buyer_id)
    if key is None:
        raise InvalidOrderDraft("The buyer's account no longer exists.")
    return key


def _new_order(
    runtime: Runtime,
    region: str,
    data_key: bytes,
    draft: OrderDraft,
    placed_at: datetime,
    now: datetime,
) -> Order:
    order_id = new_id("ord", region)
    address = normalized_address(draft.ship_to)
    sealed = runtime.cipher(region).encrypt(
        data_key,
        json.dumps(address, sort_keys=True, ensure_ascii=False),
        ship_to_context(order_id),
    )
    return Order(
        id=order_id,
        region=region,
        checkout_id=draft.checkout_id,
        buyer_id=draft.buyer_id,
        shop_id=draft.shop_id,
        status=OrderStatus.PAID.value,
        currency=draft.currency,
        subtotal_cents=draft.subtotal_cents,
        discount_cents=draft.discount_cents,
        shipping_cents=draft.shipping_cents,
        tax_cents=draft.tax_cents,
        total_cents=draft.total_cents,
        item_count=draft.item_count,
        tax_jurisdiction=draft.tax_jurisdiction,
        shipping_method=draft.shipping_method,
        shipping_label=draft.shipping_label,
        ship_to_ct=sealed,
        ship_to_state=address["state"].upper(),
        ship_to_country=address["country"].upper(),
        payment_id=draft.payment_id,
        placed_at=placed_at,
        created_at=now,
        updated_at=now,
    )


def _new_lines(region: str, order_id: str, lines: Sequence[OrderLineDraft]) -> list[OrderLine]:
    return [
        OrderLine(
            id=new_id("oln", region),
            order_id=order_id,
            position=position,
            variant_id=line.variant_id,
            product_id=line.product_id,
            sku=line.sku,
            title=line.title,
            options=dict(line.options),
            quantity=line.quantity,
            unit_price_cents=line.unit_price_cents,
            discount_cents=line.discount_cents,
            net_cents=line.net_cents,
            tax_cents=line.tax_cents,
            warehouse_id=line.warehouse_id,
        )
        for position, line in enumerate(lines)
    ]


async def orders_of_checkout(uow: UnitOfWork, checkout_id: str) -> list[Order]:
    """The orders a checkout created (none yet: an empty list), in creation order."""
    region = region_of(checkout_id) or uow.home_region
    if region is None or region not in uow.databases.regions:
        return []
    return await repository.orders_of_checkout(uow.region(region), checkout_id)


# ---- history and status ----------------------------------------------------------------------


async def record_event(
    uow: UnitOfWork, order: Order, kind: str, actor: str, data: Mapping[str, Any]
) -> OrderEvent:
    """Append an entry to the order's history (e.g. ``payment.refunded`` from the ledger)."""
    now = utcnow()
    event = OrderEvent(
        id=new_id("oev", order.region),
        order_id=order.id,
        kind=kind[:40],
        actor=actor[:64],
        data=dict(data),
        created_at=now,
    )
    session = uow.region(order.region)
    session.add(event)
    order.updated_at = now
    await session.flush()
    return event


async def transition(
    uow: UnitOfWork, order_id: str, target: str | OrderStatus, *, actor: str, reason: str
) -> Order:
    """Move an order to ``target`` (409 ``order_transition_not_allowed`` when the status
    machine forbids it) and record ``order.status_changed``. Asking for the status the order
    already has changes nothing and records nothing (a retried refund webhook, say).

    The change is a conditional ``UPDATE … WHERE status = <the status we checked>``: a
    concurrent change makes it match no row, and the move is checked again from the new
    status instead of overwriting it."""
    session = await _order_session(uow, order_id)
    goal = str(target)
    for _ in range(_TRANSITION_ATTEMPTS):
        order = await session.get(Order, order_id, populate_existing=True)
        if order is None:
            raise OrderNotFound("No such order.")
        current = order.status
        if not check_transition(current, goal):
            return order
        now = utcnow()
        result = await session.execute(
            update(Order)
            .where(Order.id == order_id, Order.status == current)
            .values(status=goal, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) == 1:
            await session.refresh(order)
            await record_event(
                uow,
                order,
                STATUS_CHANGED,
                actor,
                {"from": current, "to": goal, "reason": reason[:500]},
            )
            return order
    raise OrderConcurrentUpdate("The order kept changing while it was being updated; try again.")


async def _order_session(uow: UnitOfWork, order_id: str) -> AsyncSession:
    region = region_of(order_id)
    if region is None or region not in uow.databases.regions:
        raise OrderNotFound("No such order.")
    return uow.region(region)


# ---- the buyer's reads -----------------------------------------------------------------------


@dataclass(frozen=True)
class OrderPage:
    items: list[Order]
    next_cursor: str | None


@dataclass(frozen=True)
class OrderDetail:
    order: Order
    lines: list[OrderLine]
    events: list[OrderEvent]
    ship_to: dict[str, str] | None
    """The decrypted address; None once erased."""


def _limit(limit: int) -> int:
    return max(1, min(int(limit), MAX_PAGE))


async def list_buyer_orders(
    uow: UnitOfWork, principal: Principal, *, limit: int = 20, cursor: str | None = None
) -> OrderPage:
    """The principal's orders, newest first, ``limit`` at a time (keyset paging)."""
    size = _limit(limit)
    after = decode_cursor(cursor) if cursor else None
    rows = await repository.buyer_orders(
        uow.region(principal.region), principal.id, after, size + 1
    )
    items = rows[:size]
    has_more = len(rows) > size
    next_cursor = encode_cursor(items[-1].placed_at, items[-1].id) if has_more else None
    return OrderPage(items, next_cursor)


async def _buyer_order(uow: UnitOfWork, principal: Principal, order_id: str) -> Order:
    # Only the principal's own region is ever opened: an id of another region is simply
    # not found, like another buyer's order.
    if region_of(order_id) != principal.region:
        raise OrderNotFound("No such order.")
    order = await uow.region(principal.region).get(Order, order_id)
    if order is None or order.buyer_id != principal.id:
        raise OrderNotFound("No such order.")
    return order


async def get_buyer_order(
    uow: UnitOfWork, runtime: Runtime, principal: Principal, order_id: str
) -> OrderDetail:
    """One of the principal's orders with its lines, history and decrypted address."""
    order = await _buyer_order(uow, principal, order_id)
    session = uow.region(principal.region)
    lines = (await repository.lines_of(session, [order.id]))[order.id]
    events = await repository.events_of(session, order.id)
    ship_to = await open_ship_to(runtime, session, order)
    return OrderDetail(order, lines, events, ship_to)


async def order_history(uow: UnitOfWork, principal: Principal, order_id: str) -> list[OrderEvent]:
    """The history of one of the principal's orders, oldest first."""
    order = await _buyer_order(uow, principal, order_id)
    return await repository.events_of(uow.region(principal.region), order.id)


async def open_ship_to(
    runtime: Runtime, session: AsyncSession, order: Order
) -> dict[str, str] | None:
    """The order's decrypted address (None when erased or the buyer's key is shredded)."""
    if not order.ship_to_ct:
        return None
    data_key = await user_data_key(runtime, session, order.buyer_id)
    if data_key is None:
        return None
    plain = runtime.cipher(order.region).decrypt_text(
        data_key, order.ship_to_ct, ship_to_context(order.id)
    )
    loaded = json.loads(plain)
    return {str(k): str(v) for k, v in loaded.items()}


async def shop_names(uow: UnitOfWork, shop_ids: Sequence[str]) -> dict[str, str]:
    """Public shop names (global plane) for a page of orders."""
    ids = sorted(set(shop_ids))
    if not ids:
        return {}
    rows = await uow.global_.execute(select(Shop.id, Shop.name).where(Shop.id.in_(ids)))
    return {str(shop_id): str(name) for shop_id, name in rows}


# ---- the seller's reads (one named cross-region read) ----------------------------------------


@dataclass(frozen=True)
class IncomingLine:
    variant_id: str
    product_id: str
    sku: str | None
    title: str
    options: dict[str, str]
    quantity: int
    unit_price_cents: int
    discount_cents: int
    net_cents: int
    tax_cents: int
    warehouse_id: str | None


@dataclass(frozen=True)
class IncomingEvent:
    kind: str
    actor: str
    """``buyer``, ``seller`` or ``shopreel``: never an account id."""
    data: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class IncomingOrder:
    """What a seller may see of an order before fulfillment releases the address: no buyer
    name, street, phone, account id or payment id; only where it ships to (state, country)."""

    id: str
    region: str
    shop_id: str
    status: str
    currency: str
    subtotal_cents: int
    discount_cents: int
    shipping_cents: int
    tax_cents: int
    total_cents: int
    item_count: int
    tax_jurisdiction: str
    shipping_method: str
    shipping_label: str
    ship_to_state: str
    ship_to_country: str
    placed_at: datetime
    lines: tuple[IncomingLine, ...]
    events: tuple[IncomingEvent, ...] = ()


@dataclass(frozen=True)
class IncomingPage:
    items: list[IncomingOrder]
    next_cursor: str | None


def _incoming(
    order: Order,
    lines: Sequence[OrderLine],
    events: Sequence[OrderEvent] = (),
    owner_id: str | None = None,
) -> IncomingOrder:
    return IncomingOrder(
        id=order.id,
        region=order.region,
        shop_id=order.shop_id,
        status=order.status,
        currency=order.currency,
        subtotal_cents=order.subtotal_cents,
        discount_cents=order.discount_cents,
        shipping_cents=order.shipping_cents,
        tax_cents=order.tax_cents,
        total_cents=order.total_cents,
        item_count=order.item_count,
        tax_jurisdiction=order.tax_jurisdiction,
        shipping_method=order.shipping_method,
        shipping_label=order.shipping_label,
        ship_to_state=order.ship_to_state,
        ship_to_country=order.ship_to_country,
        placed_at=as_utc(order.placed_at),
        lines=tuple(
            IncomingLine(
                variant_id=line.variant_id,
                product_id=line.product_id,
                sku=line.sku,
                title=line.title,
                options=dict(line.options or {}),
                quantity=line.quantity,
                unit_price_cents=line.unit_price_cents,
                discount_cents=line.discount_cents,
                net_cents=line.net_cents,
                tax_cents=line.tax_cents,
                warehouse_id=line.warehouse_id,
            )
            for line in lines
        ),
        events=tuple(
            IncomingEvent(
                kind=event.kind,
                actor=_seller_visible_actor(event.actor, order, owner_id),
                data=_seller_visible_data(event.data or {}),
                created_at=as_utc(event.created_at),
            )
            for event in events
        ),
    )


_SELLER_VISIBLE_DATA: Final = frozenset(
    {"currency", "total_cents", "item_count", "from", "to", "amount_cents"}
)


def _seller_visible_actor(actor: str, order: Order, owner_id: str | None) -> str:
    if actor == order.buyer_id:
        return "buyer"
    if owner_id is not None and actor == owner_id:
        return "seller"
    return "shopreel"


def _seller_visible_data(data: Mapping[str, Any]) -> dict[str, Any]:
    # Free text (reasons) may name the buyer; ids (checkout, payment) are the buyer's.
    return {k: v for k, v in data.items() if k in _SELLER_VISIBLE_DATA}


async def incoming_orders_for_shop(
    runtime: Runtime, shop_id: str, *, limit: int = 20, cursor: str | None = None
) -> IncomingPage:
    """**The** cross-region read of a shop's orders, newest first across every region.

    The caller must have authorized the shop (:func:`list_seller_orders` does). Each
    region's plane is opened on its own, read-only session (rolled back, never bound to the
    caller's unit of work); only :class:`IncomingOrder` values leave it. Pages are keyset
    cursors on ``(placed_at, id)``, which order orders of every region the same way, so the
    per-region pages merge into one."""
    size = _limit(limit)
    after = decode_cursor(cursor) if cursor else None
    found: list[IncomingOrder] = []
    for region in runtime.settings.region_names:
        async with runtime.databases.session(regional(region)) as session:
            try:
                rows = await repository.shop_orders(session, shop_id, after, size + 1)
                lines = await repository.lines_of(session, [o.id for o in rows])
                found += [_incoming(o, lines[o.id]) for o in rows]
            finally:
                await session.rollback()
    found.sort(key=lambda o: (o.placed_at, o.id), reverse=True)
    items = found[:size]
    has_more = len(found) > size
    next_cursor = encode_cursor(items[-1].placed_at, items[-1].id) if has_more else None
    return IncomingPage(items, next_cursor)


async def incoming_order_for_shop(
    runtime: Runtime, shop_id: str, order_id: str, *, owner_id: str | None = None
) -> IncomingOrder:
    """One order of the shop, with lines and history, read in its own region (the id names
    it); 404 ``order_not_found`` when it is another shop's or does not exist."""
    region = region_of(order_id)
    if region is None or region not in runtime.settings.region_names:
        raise OrderNotFound("No such order.")
    async with runtime.databases.session(regional(region)) as session:
        try:
            order = await session.scalar(
                select(Order).where(Order.id == order_id, Order.shop_id == shop_id)
            )
            if order is None:
                raise OrderNotFound("No such order.")
            lines = (await repository.lines_of(session, [order.id]))[order.id]
            events = await repository.events_of(session, order.id)
            return _incoming(order, lines, events, owner_id)
        finally:
            await session.rollback()


async def list_seller_orders(
    uow: UnitOfWork,
    runtime: Runtime,
    principal: Principal,
    *,
    limit: int = 20,
    cursor: str | None = None,
) -> tuple[Shop, IncomingPage]:
    """The caller's shop and a page of its incoming orders (403 ``shop_required`` without a
    shop). A shop has one owner; owning it is the authority (:mod:`shopreel.catalog.shops`)."""
    shop = await seller_shop(uow, principal)
    return shop, await incoming_orders_for_shop(runtime, shop.id, limit=limit, cursor=cursor)


async def get_seller_order(
    uow: UnitOfWork, runtime: Runtime, principal: Principal, order_id: str
) -> tuple[Shop, IncomingOrder]:
    """One order of the caller's shop; another shop's order is 404 like a missing one."""
    shop = await seller_shop(uow, principal)
    order = await incoming_order_for_shop(runtime, shop.id, order_id, owner_id=principal.id)
    return shop, order
