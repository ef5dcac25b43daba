"""The cart service on real databases: live catalog data, flags, limits, and the two
functions the checkout calls."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from shopreel.cart import service
from shopreel.cart.errors import (
    CartEmpty,
    CartLineNotFound,
    CurrencyMismatch,
    LineLimit,
    LineUnavailable,
    OutOfStock,
    QuantityLimit,
    VariantNotFound,
)
from shopreel.cart.service import CartLine, CartView
from shopreel.catalog.models import Variant
from shopreel.planes import GLOBAL
from shopreel.runtime import Runtime
from shopreel.uow import UnitOfWork
from tests.cart.helpers import (
    Buyer,
    carts_snapshot,
    create_buyer,
    delete_variant,
    lines_in,
    set_price,
    set_product_status,
    set_shop_status,
    stock,
    stock_all,
)
from tests.fixtures.sellers import create_product, create_seller


async def _add(runtime: Runtime, user: Buyer, variant_id: str, quantity: int = 1) -> CartView:
    async with UnitOfWork(runtime.databases, home_region=user.region) as uow:
        view = await service.add_item(uow, user.id, variant_id, quantity)
        await uow.commit()
    return view


async def _set(runtime: Runtime, user: Buyer, variant_id: str, quantity: int) -> CartView:
    async with UnitOfWork(runtime.databases, home_region=user.region) as uow:
        view = await service.set_quantity(uow, user.id, variant_id, quantity)
        await uow.commit()
    return view


async def _get(runtime: Runtime, user: Buyer) -> CartView:
    async with UnitOfWork(runtime.databases, home_region=user.region) as uow:
        return await service.get_cart(uow, user.id)


async def _checkout_lines(runtime: Runtime, user: Buyer) -> list[CartLine]:
    async with UnitOfWork(runtime.databases, home_region=user.region) as uow:
        return await service.checkout_lines(uow, user.id)


async def test_cart_groups_lines_by_seller_with_live_data(runtime: Runtime) -> None:
    a = await create_seller(runtime)
    b = await create_seller(runtime)
    _, (shirt_s, shirt_m) = await create_product(
        runtime,
        a.shop,
        title="Shirt",
        option_names=("Size",),
        variants=((("S",), 1500), (("M",), 1600)),
    )
    _, (mug,) = await create_product(runtime, b.shop, title="Mug", variants=(((), 900),))
    await stock(runtime, shirt_s, 5)
    await stock(runtime, shirt_s, 2, reserved=1)  # a second warehouse: 5 + (2 - 1) = 6
    await stock(runtime, shirt_m, 4, sold=1)
    await stock(runtime, mug, 10)
    await stock(runtime, mug, 50, active=False)  # an inactive warehouse does not count
    buyer = await create_buyer(runtime)

    await _add(runtime, buyer, shirt_s.id, 2)
    await _add(runtime, buyer, mug.id, 3)
    view = await _add(runtime, buyer, shirt_m.id, 1)

    assert [(g.shop_name, [line.variant_id for line in g.lines]) for g in view.sellers] == [
        (a.shop.name, [shirt_s.id, shirt_m.id]),
        (b.shop.name, [mug.id]),
    ]
    assert [g.subtotal_cents for g in view.sellers] == [2 * 1500 + 1600, 3 * 900]
    assert view.subtotal_cents == 4600 + 2700 and view.item_count == 6 and view.line_count == 3
    shirt_line = view.sellers[0].lines[0]
    assert (shirt_line.title, shirt_line.options, shirt_line.sku) == (
        "Shirt",
        {"Size": "S"},
        shirt_s.sku,
    )
    assert [line.available for line in view.lines] == [6, 3, 10]
    assert view.can_checkout and view.currency == "USD"
    assert view.id is not None and view.id.startswith("cart_us_")
    assert await lines_in(runtime, buyer) == {shirt_s.id: 2, mug.id: 3, shirt_m.id: 1}


async def test_reading_an_empty_cart_creates_nothing(runtime: Runtime) -> None:
    buyer = await create_buyer(runtime)
    view = await _get(runtime, buyer)
    assert view.id is None and view.sellers == [] and not view.can_checkout
    assert await carts_snapshot(runtime) == {"us": [], "intl": []}


async def test_adding_again_merges_and_is_capped(runtime: Runtime) -> None:
    seller = await create_seller(runtime)
    _, (variant,) = await create_product(runtime, seller.shop)
    await stock(runtime, variant, 100)
    buyer = await create_buyer(runtime)
    await _add(runtime, buyer, variant.id, 15)
    view = await _add(runtime, buyer, variant.id, 4)
    assert [(line.variant_id, line.quantity) for line in view.lines] == [(variant.id, 19)]
    with pytest.raises(QuantityLimit) as refused:
        await _add(runtime, buyer, variant.id, 2)
    assert refused.value.extra["can_add"] == 1
    assert await lines_in(runtime, buyer) == {variant.id: 19}
    with pytest.raises(QuantityLimit):
        await _set(runtime, buyer, variant.id, 21)


async def test_refusals_when_adding(runtime: Runtime) -> None:
    seller = await create_seller(runtime)
    _, (draft,) = await create_product(runtime, seller.shop, status="draft")
    _, (few,) = await create_product(runtime, seller.shop)
    _, (none_left,) = await create_product(runtime, seller.shop)
    await stock(runtime, draft, 10)
    await stock(runtime, few, 3)
    await stock(runtime, none_left, 2, reserved=1, sold=1)
    buyer = await create_buyer(runtime)

    with pytest.raises(LineUnavailable) as unavailable:
        await _add(runtime, buyer, draft.id)
    assert unavailable.value.status == 422 and unavailable.value.code == "line_unavailable"
    assert unavailable.value.extra == {"variant_ids": [draft.id]}

    with pytest.raises(OutOfStock) as short:
        await _add(runtime, buyer, few.id, 4)
    assert short.value.status == 409 and short.value.code == "out_of_stock"
    assert short.value.extra == {"short": [{"variant_id": few.id, "requested": 4, "available": 3}]}
    await _add(runtime, buyer, few.id, 3)
    with pytest.raises(OutOfStock) as merged:  # the merged quantity counts
        await _add(runtime, buyer, few.id, 1)
    assert merged.value.extra["short"][0]["requested"] == 4

    with pytest.raises(OutOfStock):
        await _add(runtime, buyer, none_left.id)
    with pytest.raises(VariantNotFound):
        await _add(runtime, buyer, "var_doesnotexist")
    assert await lines_in(runtime, buyer) == {few.id: 3}


async def test_line_limit_and_one_currency(runtime: Runtime) -> None:
    seller = await create_seller(runtime)
    _, variants = await create_product(
        runtime,
        seller.shop,
        option_names=("Number",),
        variants=[((str(n),), 100 + n) for n in range(52)],
    )
    await stock_all(runtime, variants, 5)
    buyer = await create_buyer(runtime)
    async with UnitOfWork(runtime.databases, home_region=buyer.region) as uow:
        for variant in variants[:50]:
            await service.add_item(uow, buyer.id, variant.id, 1)
        await uow.commit()
    with pytest.raises(LineLimit):
        await _add(runtime, buyer, variants[50].id)
    await _add(runtime, buyer, variants[0].id, 1)  # an existing line may still grow
    assert len(await lines_in(runtime, buyer)) == 50

    other = await create_buyer(runtime)
    await _add(runtime, other, variants[0].id)
    async with runtime.databases.transaction(GLOBAL) as session:
        await session.execute(
            update(Variant).where(Variant.id == variants[51].id).values(currency="EUR")
        )
    with pytest.raises(CurrencyMismatch):
        await _add(runtime, other, variants[51].id)


async def test_flags_for_price_changes_unavailable_and_short_lines(runtime: Runtime) -> None:
    seller = await create_seller(runtime)
    suspended = await create_seller(runtime)
    _, (repriced,) = await create_product(runtime, seller.shop, title="Repriced")
    archived_product, (archived,) = await create_product(runtime, seller.shop, title="Archived")
    _, (deleted,) = await create_product(runtime, seller.shop, title="Deleted")
    _, (scarce,) = await create_product(runtime, seller.shop, title="Scarce")
    _, (closed,) = await create_product(runtime, suspended.shop, title="Closed")
    for variant in (repriced, archived, deleted, closed):
        await stock(runtime, variant, 10)
    scarce_warehouse = await stock(runtime, scarce, 5)
    buyer = await create_buyer(runtime)
    for variant in (repriced, archived, deleted, scarce, closed):
        await _add(runtime, buyer, variant.id, 3)

    await set_price(runtime, repriced.id, 2999)
    await set_product_status(runtime, archived_product.id, "archived")
    await delete_variant(runtime, deleted.id)
    await set_shop_status(runtime, suspended.shop.id, "suspended")
    async with runtime.databases.transaction(GLOBAL) as session:
        from shopreel.inventory.models import InventoryLevel

        await session.execute(
            update(InventoryLevel)
            .where(InventoryLevel.warehouse_id == scarce_warehouse)
            .values(sold=4)
        )

    view = await _get(runtime, buyer)
    by_title = {line.title: line for line in view.lines}
    assert set(by_title) == {"Repriced", "Archived", "Deleted", "Scarce", "Closed"}
    change = by_title["Repriced"].flags.price_change
    assert change is not None and (change.seen_cents, change.current_cents) == (1999, 2999)
    assert by_title["Repriced"].unit_price_cents == 2999
    assert by_title["Repriced"].price_when_added_cents == 1999
    assert by_title["Archived"].flags.unavailable == "product_not_live"
    assert by_title["Deleted"].flags.unavailable == "variant_gone"
    assert by_title["Closed"].flags.unavailable == "shop_suspended"
    assert by_title["Scarce"].flags.short and by_title["Scarce"].available == 1
    assert not by_title["Repriced"].flags.short
    assert view.has_price_changes and view.has_unavailable and view.has_short
    assert not view.can_checkout
    # unavailable lines are left out of the subtotals
    assert view.subtotal_cents == 3 * 2999 + 3 * 1999

    with pytest.raises(LineUnavailable) as refused:
        await _checkout_lines(runtime, buyer)
    assert refused.value.extra["variant_ids"] == sorted([archived.id, deleted.id, closed.id])

    # lowering a short line is allowed even when still short; raising it is not
    lowered = await _set(runtime, buyer, scarce.id, 2)
    assert next(line for line in lowered.lines if line.title == "Scarce").flags.short
    with pytest.raises(OutOfStock):
        await _set(runtime, buyer, scarce.id, 3)
    # an unavailable line cannot grow, but can be lowered and removed
    with pytest.raises(LineUnavailable):
        await _set(runtime, buyer, archived.id, 4)
    await _set(runtime, buyer, archived.id, 1)
    await _set(runtime, buyer, deleted.id, 0)
    # changing a line takes the current price as the price seen
    updated = await _set(runtime, buyer, repriced.id, 2)
    assert not next(line for line in updated.lines if line.title == "Repriced").flags.price_changed


async def test_checkout_lines(runtime: Runtime) -> None:
    a = await create_seller(runtime)
    b = await create_seller(runtime)
    _, (one,) = await create_product(runtime, a.shop, title="One", variants=(((), 1000),))
    product_two, (two,) = await create_product(runtime, b.shop, title="Two")
    await stock(runtime, one, 3)
    await stock(runtime, two, 3)
    buyer = await create_buyer(runtime)

    with pytest.raises(CartEmpty) as empty:
        await _checkout_lines(runtime, buyer)
    assert (empty.value.status, empty.value.code) == (422, "cart_empty")

    await _add(runtime, buyer, one.id, 2)
    await _add(runtime, buyer, two.id, 1)
    await set_price(runtime, one.id, 1200)
    lines = await _checkout_lines(runtime, buyer)
    assert [
        (
            line.variant_id,
            line.product_id,
            line.shop_id,
            line.quantity,
            line.unit_price_cents,
            line.currency,
        )
        for line in lines
    ] == [
        (one.id, one.product_id, a.shop.id, 2, 1200, "USD"),  # the current price
        (two.id, product_two.id, b.shop.id, 1, 1999, "USD"),
    ]
    assert (lines[0].title, lines[0].shop_name) == ("One", a.shop.name)


async def test_remove_purchased_runs_in_the_callers_transaction(runtime: Runtime) -> None:
    seller = await create_seller(runtime)
    _, (one,) = await create_product(runtime, seller.shop)
    _, (two,) = await create_product(runtime, seller.shop)
    _, (three,) = await create_product(runtime, seller.shop)
    for variant in (one, two, three):
        await stock(runtime, variant, 10)
    buyer = await create_buyer(runtime)
    await _add(runtime, buyer, one.id, 3)
    await _add(runtime, buyer, two.id, 1)
    await _add(runtime, buyer, three.id, 2)
    before = await carts_snapshot(runtime)

    async with UnitOfWork(runtime.databases, home_region=buyer.region) as uow:
        await service.remove_purchased(uow, buyer.id, {one.id: 1, two.id: 1, "var_gone": 2})
        await uow.rollback()  # no commit of its own: the caller's rollback undoes it
    assert await carts_snapshot(runtime) == before

    async with UnitOfWork(runtime.databases, home_region=buyer.region) as uow:
        await service.remove_purchased(uow, buyer.id, {one.id: 1, two.id: 1, three.id: 5})
        await uow.commit()
    assert await lines_in(runtime, buyer) == {one.id: 2}

    nobody = await create_buyer(runtime)
    async with UnitOfWork(runtime.databases, home_region=nobody.region) as uow:
        await service.remove_purchased(uow, nobody.id, {one.id: 1})  # no cart: nothing to do
        await uow.commit()
    assert await lines_in(runtime, buyer) == {one.id: 2}


async def test_changing_a_line_that_is_not_in_the_cart(runtime: Runtime) -> None:
    seller = await create_seller(runtime)
    _, (variant,) = await create_product(runtime, seller.shop)
    await stock(runtime, variant, 10)
    buyer = await create_buyer(runtime)
    with pytest.raises(CartLineNotFound):
        await _set(runtime, buyer, variant.id, 1)
    await _add(runtime, buyer, variant.id)
    view = await _set(runtime, buyer, variant.id, 0)
    assert view.lines == [] and view.id is not None
    with pytest.raises(CartLineNotFound):
        await _set(runtime, buyer, variant.id, 0)
    assert await lines_in(runtime, buyer) == {}
