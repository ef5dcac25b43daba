"""Reservations one call at a time: reserve, claim, release, expiry on a fake clock, caps,
warehouse choice, compensation, and sellers' changes that may not eat held units."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from shopreel.inventory import reservations, service
from shopreel.inventory.errors import (
    InsufficientStock,
    InvalidInventoryInput,
    OutOfStock,
    PurchaseCapExceeded,
    ReservationConflict,
    ReservationExpired,
    ReservationNotFound,
)
from shopreel.inventory.models import StockReservation
from shopreel.inventory.reservations import DealCap, ReservationLine
from shopreel.inventory.rules import StockChange, StockCount
from shopreel.kit.time import as_utc
from shopreel.planes import GLOBAL
from shopreel.runtime import Runtime
from shopreel.uow import UnitOfWork
from tests.fixtures.sellers import create_product, create_seller
from tests.inventory.helpers import (
    adjust,
    assert_stock_accounted,
    level,
    line,
    new_warehouse,
    seller_principal,
    snapshot,
    stocked,
    token_for,
)

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
BUYER = "usr_us_01jfbuyer0000000000000000"
OTHER_BUYER = "usr_intl_01jfbuyer000000000000000"


@dataclass
class Shelf:
    principal: object
    variants: list[str]
    warehouse: str


async def shelf(runtime: Runtime, *stock: int, warehouses: int = 1) -> Shelf:
    """A seller with one product of ``len(stock)`` variants, ``stock[i]`` units of variant i
    in the (first) warehouse."""
    seller = await create_seller(runtime)
    principal = await seller_principal(runtime, seller)
    _, variants = await create_product(
        runtime,
        seller.shop,
        option_names=("Size",),
        variants=tuple(((f"S{i}",), 1000) for i in range(len(stock))),
    )
    warehouse = await new_warehouse(runtime, principal)
    for extra in range(1, warehouses):
        await new_warehouse(runtime, principal, f"Extra {extra}")
    levels = [(v.id, warehouse, units) for v, units in zip(variants, stock, strict=True) if units]
    if levels:
        await stocked(runtime, principal, levels)
    return Shelf(principal, [v.id for v in variants], warehouse)


async def statuses(runtime: Runtime, reference: str) -> list[str]:
    return [h.status for h in await reservations.holds_of(runtime, reference)]


async def test_reserve_holds_units_until_the_ttl(runtime: Runtime) -> None:
    s = await shelf(runtime, 10)
    (variant,) = s.variants
    holds = await reservations.reserve(
        runtime, [ReservationLine(variant, 3)], reference="chk_1", buyer_id=BUYER, now=T0
    )
    assert [(h.variant_id, h.warehouse_id, h.quantity, h.status) for h in holds] == [
        (variant, s.warehouse, 3, "active")
    ]
    assert runtime.settings.reservation_ttl_seconds == 600
    assert holds[0].expires_at == T0 + timedelta(minutes=10)
    assert await level(runtime, variant, s.warehouse) == (10, 3, 0)
    async with runtime.databases.session(GLOBAL) as session:
        row = await session.get(StockReservation, holds[0].id)
    assert row is not None and row.buyer_id == BUYER and row.reference == "chk_1"
    assert as_utc(row.expires_at) == T0 + timedelta(seconds=600)
    await assert_stock_accounted(runtime)


async def test_the_ttl_comes_from_settings_or_the_call(runtime: Runtime) -> None:
    s = await shelf(runtime, 10)
    runtime.settings = runtime.settings.model_copy(update={"reservation_ttl_seconds": 90})
    (hold,) = await reservations.reserve(
        runtime, [ReservationLine(s.variants[0], 1)], reference="a", buyer_id=BUYER, now=T0
    )
    assert hold.expires_at == T0 + timedelta(seconds=90)
    (hold,) = await reservations.reserve(
        runtime,
        [ReservationLine(s.variants[0], 1)],
        reference="b",
        buyer_id=BUYER,
        now=T0,
        ttl_seconds=5,
    )
    assert hold.expires_at == T0 + timedelta(seconds=5)


async def test_claim_moves_reserved_to_sold_once(runtime: Runtime) -> None:
    s = await shelf(runtime, 10, 4)
    a, b = s.variants
    await reservations.reserve(
        runtime,
        [ReservationLine(b, 2), ReservationLine(a, 3)],
        reference="chk",
        buyer_id=BUYER,
        now=T0,
    )
    claimed = await reservations.claim(runtime, "chk", now=T0 + timedelta(minutes=9))
    assert sorted((h.variant_id, h.quantity, h.status) for h in claimed) == sorted(
        [(a, 3, "claimed"), (b, 2, "claimed")]
    )
    assert await level(runtime, a, s.warehouse) == (10, 0, 3)
    assert await level(runtime, b, s.warehouse) == (4, 0, 2)
    # claiming again (a retried payment webhook) changes nothing and returns the same holds
    again = await reservations.claim(runtime, "chk", now=T0 + timedelta(minutes=30))
    assert sorted(h.id for h in again) == sorted(h.id for h in claimed)
    assert await level(runtime, a, s.warehouse) == (10, 0, 3)
    # a paid checkout is not released by a cancel, nor expired by the job
    assert await reservations.release(runtime, "chk", now=T0) == 0
    assert await reservations.expire_reservations(runtime, T0 + timedelta(days=1)) == 0
    assert await statuses(runtime, "chk") == ["claimed", "claimed"]
    await assert_stock_accounted(runtime)


async def test_release_gives_units_back_and_cannot_be_claimed(runtime: Runtime) -> None:
    s = await shelf(runtime, 5)
    (variant,) = s.variants
    await reservations.reserve(
        runtime, [ReservationLine(variant, 5)], reference="chk", buyer_id=BUYER, now=T0
    )
    assert await level(runtime, variant, s.warehouse) == (5, 5, 0)
    assert await reservations.release(runtime, "chk", now=T0) == 1
    assert await reservations.release(runtime, "chk", now=T0) == 0  # idempotent
    assert await level(runtime, variant, s.warehouse) == (5, 0, 0)
    with pytest.raises(ReservationExpired) as refused:
        await reservations.claim(runtime, "chk", now=T0)
    assert refused.value.code == "reservation_expired" and refused.value.status == 409
    assert await level(runtime, variant, s.warehouse) == (5, 0, 0)
    assert await statuses(runtime, "chk") == ["released"]
    with pytest.raises(ReservationNotFound):
        await reservations.release(runtime, "nope")
    with pytest.raises(ReservationNotFound):
        await reservations.claim(runtime, "nope")


async def test_expiry_on_a_fake_clock(runtime: Runtime) -> None:
    s = await shelf(runtime, 8)
    (variant,) = s.variants
    await reservations.reserve(
        runtime, [ReservationLine(variant, 3)], reference="early", buyer_id=BUYER, now=T0
    )
    await reservations.reserve(
        runtime,
        [ReservationLine(variant, 4)],
        reference="late",
        buyer_id=BUYER,
        now=T0 + timedelta(minutes=5),
    )
    assert await level(runtime, variant, s.warehouse) == (8, 7, 0)
    # one second before the first TTL: nothing expires
    assert await reservations.expire_reservations(runtime, T0 + timedelta(seconds=599)) == 0
    assert await level(runtime, variant, s.warehouse) == (8, 7, 0)
    # at the TTL: the first hold expires, the second still holds
    assert await reservations.expire_reservations(runtime, T0 + timedelta(seconds=600)) == 1
    assert await level(runtime, variant, s.warehouse) == (8, 4, 0)
    assert await statuses(runtime, "early") == ["expired"]
    assert await statuses(runtime, "late") == ["active"]
    # running the job again does nothing (idempotent)
    assert await reservations.expire_reservations(runtime, T0 + timedelta(seconds=600)) == 0
    with pytest.raises(ReservationExpired):
        await reservations.claim(runtime, "early", now=T0 + timedelta(seconds=601))
    assert await level(runtime, variant, s.warehouse) == (8, 4, 0)
    # small batches still drain everything due
    assert await reservations.expire_reservations(runtime, T0 + timedelta(hours=1), batch=1) == 1
    assert await level(runtime, variant, s.warehouse) == (8, 0, 0)
    await assert_stock_accounted(runtime)


async def test_a_late_claim_expires_the_hold_even_before_the_job_runs(runtime: Runtime) -> None:
    s = await shelf(runtime, 2)
    (variant,) = s.variants
    await reservations.reserve(
        runtime, [ReservationLine(variant, 2)], reference="chk", buyer_id=BUYER, now=T0
    )
    with pytest.raises(ReservationExpired):
        await reservations.claim(runtime, "chk", now=T0 + timedelta(minutes=10))
    assert await statuses(runtime, "chk") == ["expired"]
    assert await level(runtime, variant, s.warehouse) == (2, 0, 0)
    await assert_stock_accounted(runtime)


async def test_a_short_line_releases_the_cart_and_lists_what_is_short(runtime: Runtime) -> None:
    s = await shelf(runtime, 5, 3, 0)
    a, b, c = s.variants
    with pytest.raises(OutOfStock) as refused:
        await reservations.reserve(
            runtime,
            [ReservationLine(c, 1), ReservationLine(a, 2), ReservationLine(b, 5)],
            reference="chk",
            buyer_id=BUYER,
            now=T0,
        )
    error = refused.value
    assert error.status == 409 and error.code == "out_of_stock"
    short = {x["variant_id"]: x for x in error.extra["short"]}
    assert set(short) == {b, c}
    assert short[b] == {"variant_id": b, "requested": 5, "available": 3}
    assert short[c]["available"] == 0
    # nothing stays held: the lines reserved before the short one were released
    for variant, on_hand in ((a, 5), (b, 3), (c, 0)):
        assert (await level(runtime, variant, s.warehouse))[1:] == (0, 0)
        assert (await level(runtime, variant, s.warehouse))[0] == on_hand
    assert all(status == "released" for status in await statuses(runtime, "chk"))
    await assert_stock_accounted(runtime)


async def test_the_first_warehouse_with_enough_is_chosen(runtime: Runtime) -> None:
    s = await shelf(runtime, 1, warehouses=2)
    (variant,) = s.variants
    async with runtime.databases.session(GLOBAL) as session:
        from shopreel.inventory.models import Warehouse

        ids = sorted(await session.scalars(select(Warehouse.id)))
    first, second = ids
    assert s.warehouse == first  # created first: its time-ordered id sorts first
    await stocked(runtime, s.principal, [(variant, second, 5)])
    (big,) = await reservations.reserve(
        runtime, [ReservationLine(variant, 3)], reference="big", buyer_id=BUYER, now=T0
    )
    assert big.warehouse_id == second  # the first has only 1
    (small,) = await reservations.reserve(
        runtime, [ReservationLine(variant, 1)], reference="small", buyer_id=BUYER, now=T0
    )
    assert small.warehouse_id == first
    # 2 left in the second, 0 in the first: 3 more cannot be held anywhere (no split)
    with pytest.raises(OutOfStock) as refused:
        await reservations.reserve(
            runtime, [ReservationLine(variant, 3)], reference="more", buyer_id=BUYER, now=T0
        )
    assert refused.value.extra["short"] == [{"variant_id": variant, "requested": 3, "available": 2}]
    await assert_stock_accounted(runtime)


async def test_reserving_again_is_idempotent_or_replaces_a_changed_cart(runtime: Runtime) -> None:
    s = await shelf(runtime, 10, 10)
    a, b = s.variants
    first = await reservations.reserve(
        runtime, [ReservationLine(a, 2)], reference="chk", buyer_id=BUYER, now=T0
    )
    again = await reservations.reserve(
        runtime,
        [ReservationLine(a, 1), ReservationLine(a, 1)],
        reference="chk",
        buyer_id=BUYER,
        now=T0,
    )
    assert [h.id for h in again] == [h.id for h in first]
    assert await level(runtime, a, s.warehouse) == (10, 2, 0)
    # the cart changed: the old hold is released, the new lines are held
    changed = await reservations.reserve(
        runtime, [ReservationLine(b, 4)], reference="chk", buyer_id=BUYER, now=T0
    )
    assert [(h.variant_id, h.quantity) for h in changed] == [(b, 4)]
    assert await level(runtime, a, s.warehouse) == (10, 0, 0)
    assert await level(runtime, b, s.warehouse) == (10, 4, 0)
    await reservations.claim(runtime, "chk", now=T0)
    with pytest.raises(ReservationConflict) as paid:
        await reservations.reserve(
            runtime, [ReservationLine(b, 4)], reference="chk", buyer_id=BUYER, now=T0
        )
    assert paid.value.code == "reservation_claimed"
    # another buyer cannot touch this checkout's holds
    with pytest.raises(InvalidInventoryInput):
        await reservations.reserve(
            runtime, [ReservationLine(a, 1)], reference="chk", buyer_id=OTHER_BUYER, now=T0
        )
    assert await level(runtime, b, s.warehouse) == (10, 0, 4)
    await assert_stock_accounted(runtime)


async def test_an_expired_checkout_can_reserve_again(runtime: Runtime) -> None:
    s = await shelf(runtime, 3)
    (variant,) = s.variants
    await reservations.reserve(
        runtime, [ReservationLine(variant, 3)], reference="chk", buyer_id=BUYER, now=T0
    )
    later = T0 + timedelta(minutes=11)
    assert await reservations.expire_reservations(runtime, later) == 1
    await reservations.reserve(
        runtime, [ReservationLine(variant, 3)], reference="chk", buyer_id=BUYER, now=later
    )
    claimed = await reservations.claim(runtime, "chk", now=later)
    assert [h.status for h in claimed] == ["claimed"]
    assert await statuses(runtime, "chk") == ["expired", "claimed"]
    assert await level(runtime, variant, s.warehouse) == (3, 0, 3)
    await assert_stock_accounted(runtime)


@pytest.mark.parametrize(
    "lines",
    [
        [],
        [ReservationLine("var_x", 0)],
        [ReservationLine("var_x", -1)],
        [ReservationLine("var_x", 10_001)],
        [ReservationLine("var_x", 1, DealCap("deal", 0))],
        [ReservationLine("var_x", 1, DealCap("a", 2)), ReservationLine("var_x", 1)],
    ],
)
async def test_invalid_lines_are_refused_whole(
    runtime: Runtime, lines: list[ReservationLine]
) -> None:
    with pytest.raises(InvalidInventoryInput) as refused:
        await reservations.reserve(runtime, lines, reference="chk", buyer_id=BUYER, now=T0)
    assert refused.value.status == 422 and refused.value.code == "invalid_reservation"
    assert await reservations.holds_of(runtime, "chk") == []


async def test_unknown_variant_is_out_of_stock(runtime: Runtime) -> None:
    with pytest.raises(OutOfStock) as refused:
        await reservations.reserve(
            runtime, [ReservationLine("var_nope", 1)], reference="chk", buyer_id=BUYER, now=T0
        )
    assert refused.value.extra["short"] == [
        {"variant_id": "var_nope", "requested": 1, "available": 0}
    ]


async def test_purchase_cap_counts_active_and_claimed(runtime: Runtime) -> None:
    s = await shelf(runtime, 50)
    (variant,) = s.variants
    cap = DealCap("deal_blackfriday", 3)
    await reservations.reserve(
        runtime, [ReservationLine(variant, 2, cap)], reference="one", buyer_id=BUYER, now=T0
    )
    await reservations.claim(runtime, "one", now=T0)
    with pytest.raises(PurchaseCapExceeded) as refused:
        await reservations.reserve(
            runtime, [ReservationLine(variant, 2, cap)], reference="two", buyer_id=BUYER, now=T0
        )
    error = refused.value
    assert error.status == 409 and error.code == "purchase_cap_exceeded"
    assert error.extra["already"] == 2 and error.extra["max_per_buyer"] == 3
    assert await reservations.holds_of(runtime, "two") == []
    assert await level(runtime, variant, s.warehouse) == (50, 0, 2)
    # one more is within the cap; another buyer has their own cap; no deal, no cap
    await reservations.reserve(
        runtime, [ReservationLine(variant, 1, cap)], reference="three", buyer_id=BUYER, now=T0
    )
    await reservations.reserve(
        runtime,
        [ReservationLine(variant, 3, cap)],
        reference="other",
        buyer_id=OTHER_BUYER,
        now=T0,
    )
    await reservations.reserve(
        runtime, [ReservationLine(variant, 10)], reference="nodeal", buyer_id=BUYER, now=T0
    )
    assert await reservations.cap_usage(runtime, cap.deal_id, BUYER, variant) == 3
    # releasing or expiring a hold gives its units back to the buyer's cap
    assert await reservations.release(runtime, "three", now=T0) == 1
    assert await reservations.cap_usage(runtime, cap.deal_id, BUYER, variant) == 2
    await reservations.reserve(
        runtime, [ReservationLine(variant, 1, cap)], reference="four", buyer_id=BUYER, now=T0
    )
    assert await reservations.expire_reservations(runtime, T0 + timedelta(hours=1)) == 3
    assert await reservations.cap_usage(runtime, cap.deal_id, BUYER, variant) == 2
    assert await reservations.cap_usage(runtime, cap.deal_id, OTHER_BUYER, variant) == 0
    await assert_stock_accounted(runtime)


async def test_a_cap_refusal_releases_the_rest_of_the_cart(runtime: Runtime) -> None:
    s = await shelf(runtime, 10, 10)
    a, b = s.variants
    with pytest.raises(PurchaseCapExceeded):
        await reservations.reserve(
            runtime,
            [ReservationLine(a, 1), ReservationLine(b, 2, DealCap("deal", 1))],
            reference="chk",
            buyer_id=BUYER,
            now=T0,
        )
    assert await level(runtime, a, s.warehouse) == (10, 0, 0)
    assert await level(runtime, b, s.warehouse) == (10, 0, 0)
    assert await reservations.cap_usage(runtime, "deal", BUYER, b) == 0
    await assert_stock_accounted(runtime)


# ---- sellers cannot eat held units -----------------------------------------------------------


async def _held_shelf(runtime: Runtime) -> tuple[Shelf, str]:
    """10 on hand: 4 reserved (checkout "hold"), 2 sold (checkout "paid"), 4 available."""
    s = await shelf(runtime, 10)
    (variant,) = s.variants
    await reservations.reserve(
        runtime, [ReservationLine(variant, 4)], reference="hold", buyer_id=BUYER, now=T0
    )
    await reservations.reserve(
        runtime, [ReservationLine(variant, 2)], reference="paid", buyer_id=BUYER, now=T0
    )
    await reservations.claim(runtime, "paid", now=T0)
    assert await level(runtime, variant, s.warehouse) == (10, 4, 2)
    return s, variant


async def test_adjustments_cannot_take_stock_below_reserved_and_sold(runtime: Runtime) -> None:
    s, variant = await _held_shelf(runtime)
    before = await snapshot(runtime)
    with pytest.raises(InsufficientStock) as refused:
        async with UnitOfWork(runtime.databases, home_region=s.principal.region) as uow:  # type: ignore[attr-defined]
            await service.adjust_stock(
                uow,
                s.principal,  # type: ignore[arg-type]
                [StockChange(variant, s.warehouse, -5, "adjustment")],
            )
    extra = refused.value.extra
    assert (extra["on_hand"], extra["reserved"], extra["sold"], extra["available"]) == (10, 4, 2, 4)
    assert await snapshot(runtime) == before
    async with UnitOfWork(runtime.databases, home_region=s.principal.region) as uow:  # type: ignore[attr-defined]
        await service.adjust_stock(
            uow,
            s.principal,  # type: ignore[arg-type]
            [StockChange(variant, s.warehouse, -4, "adjustment")],
        )
    assert await level(runtime, variant, s.warehouse) == (6, 4, 2)
    await assert_stock_accounted(runtime)


async def test_counts_cannot_go_below_reserved_and_sold(runtime: Runtime) -> None:
    s, variant = await _held_shelf(runtime)
    before = await snapshot(runtime)
    with pytest.raises(InsufficientStock) as refused:
        async with UnitOfWork(runtime.databases, home_region=s.principal.region) as uow:  # type: ignore[attr-defined]
            await service.count_stock(
                uow,
                s.principal,  # type: ignore[arg-type]
                [StockCount(variant, s.warehouse, 5)],
            )
    assert refused.value.extra["reserved"] == 4 and refused.value.extra["sold"] == 2
    assert await snapshot(runtime) == before
    async with UnitOfWork(runtime.databases, home_region=s.principal.region) as uow:  # type: ignore[attr-defined]
        await service.count_stock(
            uow,
            s.principal,  # type: ignore[arg-type]
            [StockCount(variant, s.warehouse, 6)],
        )
    assert await level(runtime, variant, s.warehouse) == (6, 4, 2)
    # with nothing available, a reservation is refused and the level is unchanged
    with pytest.raises(OutOfStock):
        await reservations.reserve(
            runtime, [ReservationLine(variant, 1)], reference="x", buyer_id=BUYER, now=T0
        )
    assert await level(runtime, variant, s.warehouse) == (6, 4, 2)
    await assert_stock_accounted(runtime)


async def test_the_stock_api_shows_and_protects_held_units(
    runtime: Runtime, app: object, client: httpx.AsyncClient
) -> None:
    seller = await create_seller(runtime)
    headers = await token_for(app, seller.email)
    principal = await seller_principal(runtime, seller)
    _, (variant,) = await create_product(runtime, seller.shop)
    warehouse = await new_warehouse(runtime, principal)
    await stocked(runtime, principal, [(variant.id, warehouse, 10)])
    await reservations.reserve(
        runtime, [ReservationLine(variant.id, 4)], reference="hold", buyer_id=BUYER, now=T0
    )
    await reservations.reserve(
        runtime, [ReservationLine(variant.id, 2)], reference="paid", buyer_id=BUYER, now=T0
    )
    await reservations.claim(runtime, "paid", now=T0)

    listed = await client.get("/api/v1/seller/inventory", headers=headers)
    assert listed.status_code == 200, listed.text
    (row,) = listed.json()["items"]
    assert (row["on_hand"], row["reserved"], row["sold"], row["available"]) == (10, 4, 2, 4)
    low = await client.get("/api/v1/seller/inventory?low_stock_below=5", headers=headers)
    assert [r["variant_id"] for r in low.json()["items"]] == [variant.id]  # 4 available

    before = await snapshot(runtime)
    refused = await adjust(client, headers, line(variant.id, warehouse, -5, "adjustment"))
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    body = refused.json()
    assert body["code"] == "insufficient_stock"
    assert (body["on_hand"], body["reserved"], body["sold"], body["available"]) == (10, 4, 2, 4)
    assert await snapshot(runtime) == before
    counted = await client.post(
        "/api/v1/seller/inventory/counts",
        json={"lines": [{"variant_id": variant.id, "warehouse_id": warehouse, "on_hand": 3}]},
        headers=headers,
    )
    assert counted.status_code == 409 and counted.json()["code"] == "insufficient_stock"
    assert await snapshot(runtime) == before
    # deactivating a warehouse that holds reserved/sold units is refused too
    deactivate = await client.post(
        f"/api/v1/seller/warehouses/{warehouse}/deactivate", headers=headers
    )
    assert deactivate.status_code == 409 and deactivate.json()["code"] == "warehouse_has_stock"
    assert await snapshot(runtime) == before
