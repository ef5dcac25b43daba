"""The orders domain's part of data-subject rights (see :mod:`shopreel.sovereignty.privacy`).

* **Export** (``orders.json``): the buyer's orders with their lines, history and the
  decrypted ship-to address.
* **Erasure** (``orders``): orders are records the marketplace must keep for tax and
  accounting (and the ledger's postings refer to them), so they are *pseudonymized*, not
  deleted: the ship-to ciphertext (name, street, city, postal code, phone) is removed, and
  free text in the history (reasons) is blanked. Amounts, dates, lines, status, the shipping
  method and the ship-to state and country (what sales-tax reports need) stay. Nothing in the
  ledger is touched. The buyer's account id stays on the rows; with the account shredded it
  no longer leads to a person.

Sellers are not affected by a buyer's erasure beyond what they never saw (the address), and a
seller's own erasure does not change their shop's orders (they hold none of the seller's
personal data). Imported by :mod:`shopreel.orders.endpoints`, so the hooks are registered
whenever the app is.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import select, update

from shopreel.accounts.principal import Principal
from shopreel.orders import repository
from shopreel.orders.models import Order, OrderEvent
from shopreel.orders.service import open_ship_to
from shopreel.runtime import Runtime
from shopreel.sovereignty import privacy
from shopreel.uow import UnitOfWork

NAME: Final = "orders"
_FREE_TEXT: Final = ("reason", "note", "message")


async def export_orders(
    uow: UnitOfWork, runtime: Runtime, principal: Principal
) -> list[dict[str, Any]]:
    session = uow.region(principal.region)
    orders = list(
        await session.scalars(
            select(Order).where(Order.buyer_id == principal.id).order_by(Order.placed_at, Order.id)
        )
    )
    lines = await repository.lines_of(session, [o.id for o in orders])
    records: list[dict[str, Any]] = []
    for order in orders:
        events = await repository.events_of(session, order.id)
        records.append(
            {
                "id": order.id,
                "checkout_id": order.checkout_id,
                "shop_id": order.shop_id,
                "status": order.status,
                "currency": order.currency,
                "subtotal_cents": order.subtotal_cents,
                "discount_cents": order.discount_cents,
                "shipping_cents": order.shipping_cents,
                "tax_cents": order.tax_cents,
                "total_cents": order.total_cents,
                "tax_jurisdiction": order.tax_jurisdiction,
                "shipping_method": order.shipping_method,
                "shipping_label": order.shipping_label,
                "ship_to": await open_ship_to(runtime, session, order),
                "payment_id": order.payment_id,
                "placed_at": order.placed_at,
                "lines": [
                    {
                        "variant_id": line.variant_id,
                        "product_id": line.product_id,
                        "sku": line.sku,
                        "title": line.title,
                        "options": dict(line.options or {}),
                        "quantity": line.quantity,
                        "unit_price_cents": line.unit_price_cents,
                        "discount_cents": line.discount_cents,
                        "net_cents": line.net_cents,
                        "tax_cents": line.tax_cents,
                    }
                    for line in lines[order.id]
                ],
                "history": [
                    {"kind": e.kind, "data": dict(e.data or {}), "at": e.created_at} for e in events
                ],
            }
        )
    return records


async def erase_orders(uow: UnitOfWork, _runtime: Runtime, principal: Principal) -> int:
    """Pseudonymize the buyer's orders; returns how many there were."""
    session = uow.region(principal.region)
    ids = await repository.buyer_order_ids(session, principal.id)
    if not ids:
        return 0
    await session.execute(
        update(Order)
        .where(Order.id.in_(ids))
        .values(ship_to_ct=None)
        .execution_options(synchronize_session=False)
    )
    events = await session.scalars(select(OrderEvent).where(OrderEvent.order_id.in_(ids)))
    for event in events:
        data = dict(event.data or {})
        if any(key in data for key in _FREE_TEXT):
            event.data = {k: ("" if k in _FREE_TEXT else v) for k, v in data.items()}
    await session.flush()
    return len(ids)


def register() -> None:
    if NAME not in {name for name, _, _ in privacy.exporters()}:
        privacy.register_exporter(
            NAME, export_orders, description="Your orders, with their ship-to addresses"
        )
    if NAME not in {name for name, _, _ in privacy.erasers()}:
        privacy.register_eraser(
            NAME,
            erase_orders,
            description="orders kept for tax records but pseudonymized: ship-to name, "
            "address and phone shredded; amounts, dates and ship-to state and country kept",
        )


register()
