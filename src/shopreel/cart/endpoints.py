"""Cart JSON API (under /api/v1). A cart is always the caller's own: no id in any path
names a cart, so another user's cart cannot even be addressed. Tokens need
``orders:read`` to read and ``cart:write`` to change; browser sessions carry every scope
(writes with the ``X-CSRF-Token`` header). Every write answers with the whole cart."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from shopreel.accounts.principal import Principal
from shopreel.cart import privacy as _privacy  # noqa: F401 - registers the privacy hooks
from shopreel.cart import service
from shopreel.cart.schemas import AddItemIn, CartRead, SetQuantityIn, cart_read
from shopreel.deps import UowDep, require_scope

router = APIRouter(prefix="/cart", tags=["cart"])

Reader = Annotated[Principal, Depends(require_scope("orders:read"))]
Writer = Annotated[Principal, Depends(require_scope("cart:write"))]
VariantId = Annotated[str, Path(min_length=1, max_length=64)]


@router.get("")
async def get_cart(principal: Reader, uow: UowDep) -> CartRead:
    """Your cart with live prices and stock, grouped by seller, with notices per line."""
    return cart_read(await service.get_cart(uow, principal.id))


@router.post("/items")
async def add_item(body: AddItemIn, principal: Writer, uow: UowDep) -> CartRead:
    """Add a variant (an existing line grows); 1..20 per line, 50 lines per cart."""
    view = await service.add_item(uow, principal.id, body.variant_id, body.quantity)
    return cart_read(view)


@router.patch("/items/{variant_id}")
async def set_quantity(
    variant_id: VariantId, body: SetQuantityIn, principal: Writer, uow: UowDep
) -> CartRead:
    """Set a line's quantity; 0 removes the line."""
    view = await service.set_quantity(uow, principal.id, variant_id, body.quantity)
    return cart_read(view)


@router.delete("/items/{variant_id}")
async def remove_item(variant_id: VariantId, principal: Writer, uow: UowDep) -> CartRead:
    """Remove a line."""
    return cart_read(await service.remove_item(uow, principal.id, variant_id))
