"""create_orders (what the checkout calls): writes, idempotency, refusals, status moves."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from shopreel.kit.ids import new_id
from shopreel.orders import service
from shopreel.orders.errors import IllegalTransition, InvalidOrderDraft, OrderNotFound
from shopreel.orders.models import Order, OrderEvent, OrderLine
from shopreel.planes import PlaneViolation, regional
from shopreel.runtime import Runtime
from shopreel.uow import UnitOfWork
from tests.fixtures.factories import create_user
from tests.fixtures.sellers import create_seller
from tests.orders.helpers import ADDRESS, draft, place, snapshot

PLACED_AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


async def _count(runtime: Runtime, model: type, region: str = "us") -> int:
    async with runtime.databases.session(regional(region)) as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_one_order_per_seller_with_lines_event_and_sealed_address(
    runtime: Runtime,
) -> None:
    buyer = await create_user(runtime)
    first, second = await create_seller(runtime), await create_seller(runtime)
    checkout_id = new_id("chk", "us")
    drafts = [
        draft(buyer.id, first.shop.id, checkout_id=checkout_id),
        draft(
            buyer.id,
            second.shop.id,
            checkout_id=checkout_id,
            shipping_cents=0,
            shipping_tax_cents=0,
        ),
    ]
    orders = await place(runtime, *drafts, placed_at=PLACED_AT)

    assert [o.shop_id for o in orders] == [first.shop.id, second.shop.id]
    assert all(o.id.startswith("ord_us_") and o.region == "us" for o in orders)
    assert [o.total_cents for o in orders] == [d.total_cents for d in drafts]
    assert all(o.status == "paid" and o.checkout_id == checkout_id for o in orders)
    async with runtime.databases.session(regional("us")) as session:
        row = await session.get(Order, orders[0].id)
        assert row is not None
        assert (row.ship_to_state, row.ship_to_country, row.tax_jurisdiction) == (
            "TX",
            "US",
            "US-TX",
        )
        assert row.item_count == 3
        assert row.ship_to_ct and b"Ada Buyer" not in row.ship_to_ct
        assert b"Main St" not in row.ship_to_ct
        lines = list(
            await session.scalars(
                select(OrderLine).where(OrderLine.order_id == row.id).order_by(OrderLine.position)
            )
        )
        events = list(await session.scalars(select(OrderEvent)))
    assert [(line.quantity, line.net_cents) for line in lines] == [(2, 3798), (1, 1999)]
    assert lines[0].options == {"Color": "Blue"}
    assert sorted(e.order_id for e in events) == sorted(o.id for o in orders)
    assert {e.kind for e in events} == {"order.placed"}
    assert all(e.actor == buyer.id for e in events)

    async with UnitOfWork(runtime.databases, home_region="us") as uow:
        found = await service.orders_of_checkout(uow, checkout_id)
        detail_address = await service.open_ship_to(runtime, uow.region(), found[0])
    assert sorted(o.id for o in found) == sorted(o.id for o in orders)
    assert detail_address == ADDRESS


async def test_calling_twice_returns_the_same_orders_and_writes_nothing_more(
    runtime: Runtime,
) -> None:
    buyer = await create_user(runtime)
    seller = await create_seller(runtime)
    made = draft(buyer.id, seller.shop.id)
    first = await place(runtime, made, placed_at=PLACED_AT)
    before = await snapshot(runtime)

    again = await place(runtime, made, placed_at=datetime(2026, 12, 2, tzinfo=UTC))
    # a retry whose draft differs (say, recomputed) still gets the existing order, unchanged
    changed = draft(
        buyer.id,
        seller.shop.id,
        checkout_id=made.checkout_id,
        shipping_cents=0,
        shipping_tax_cents=0,
    )
    third = await place(runtime, changed)

    assert [o.id for o in again] == [o.id for o in third] == [first[0].id]
    assert third[0].total_cents == made.total_cents
    assert await snapshot(runtime) == before
    assert await _count(runtime, Order) == 1
    assert await _count(runtime, OrderLine) == 2
    assert await _count(runtime, OrderEvent) == 1


async def test_a_retry_adds_only_the_missing_seller(runtime: Runtime) -> None:
    buyer = await create_user(runtime)
    first, second = await create_seller(runtime), await create_seller(runtime)
    one = draft(buyer.id, first.shop.id)
    two = draft(buyer.id, second.shop.id, checkout_id=one.checkout_id)
    (a,) = await place(runtime, one)
    both = await place(runtime, one, two)
    assert both[0].id == a.id and both[1].id != a.id
    assert await _count(runtime, Order) == 2
    assert await _count(runtime, OrderEvent) == 2


async def test_inconsistent_drafts_write_nothing(runtime: Runtime) -> None:
    buyer = await create_user(runtime)
    first, second = await create_seller(runtime), await create_seller(runtime)
    good = draft(buyer.id, first.shop.id)
    bad = draft(buyer.id, second.shop.id, checkout_id=good.checkout_id, total_cents=1)
    with pytest.raises(InvalidOrderDraft) as refused:
        await place(runtime, good, bad)
    assert refused.value.extra["shop_id"] == second.shop.id
    assert await _count(runtime, Order) == 0
    assert await _count(runtime, OrderEvent) == 0

    with pytest.raises(InvalidOrderDraft):  # the same shop twice
        await place(runtime, good, good)
    assert await _count(runtime, Order) == 0


async def test_orders_live_in_the_buyers_region(runtime: Runtime) -> None:
    buyer = await create_user(runtime, country="DE")
    assert buyer.region == "intl"
    seller = await create_seller(runtime)
    (order,) = await place(runtime, draft(buyer.id, seller.shop.id))
    assert order.id.startswith("ord_intl_")
    assert await _count(runtime, Order, "intl") == 1
    assert await _count(runtime, Order, "us") == 0
    # a unit of work bound to another region cannot write them
    async with UnitOfWork(runtime.databases, home_region="us") as uow:
        with pytest.raises(PlaneViolation):
            await service.create_orders(
                uow, runtime, [draft(buyer.id, seller.shop.id)], placed_at=PLACED_AT
            )


async def test_transitions_record_history_and_refuse_illegal_moves(runtime: Runtime) -> None:
    buyer = await create_user(runtime)
    seller = await create_seller(runtime)
    (order,) = await place(runtime, draft(buyer.id, seller.shop.id))

    async with UnitOfWork(runtime.databases, home_region="us") as uow:
        moved = await service.transition(
            uow, order.id, "partially_refunded", actor="system:refunds", reason="one mug broke"
        )
        assert moved.status == "partially_refunded"
    async with UnitOfWork(runtime.databases, home_region="us") as uow:
        again = await service.transition(
            uow, order.id, "partially_refunded", actor="system:refunds", reason="retry"
        )
        assert again.status == "partially_refunded"
    before = await snapshot(runtime)
    async with UnitOfWork(runtime.databases, home_region="us") as uow:
        with pytest.raises(IllegalTransition):
            await service.transition(uow, order.id, "cancelled", actor=buyer.id, reason="late")
    assert await snapshot(runtime) == before
    async with UnitOfWork(runtime.databases, home_region="us") as uow:
        done = await service.transition(
            uow, order.id, "refunded", actor="system:refunds", reason="rest"
        )
        await service.record_event(uow, done, "note.added", "staff:1", {"note": "called"})
    async with UnitOfWork(runtime.databases, home_region="us") as uow:
        principal_events = await _events(uow, order.id)
    assert principal_events == [
        ("order.placed", {}),
        (
            "order.status_changed",
            {"from": "paid", "to": "partially_refunded", "reason": "one mug broke"},
        ),
        (
            "order.status_changed",
            {"from": "partially_refunded", "to": "refunded", "reason": "rest"},
        ),
        ("note.added", {"note": "called"}),
    ]
    async with UnitOfWork(runtime.databases, home_region="us") as uow:
        with pytest.raises(OrderNotFound):
            await service.transition(uow, "ord_us_missing", "cancelled", actor="x", reason="")
        with pytest.raises(OrderNotFound):
            await service.transition(uow, "not-an-order-id", "cancelled", actor="x", reason="")


async def _events(uow: UnitOfWork, order_id: str) -> list[tuple[str, dict[str, object]]]:
    from shopreel.orders import repository

    return [
        (e.kind, {} if e.kind == "order.placed" else dict(e.data))
        for e in await repository.events_of(uow.region(), order_id)
    ]
