"""The checkout domain's part of data-subject rights (see :mod:`shopreel.sovereignty.privacy`).

* **Export** (``checkouts.json``): every checkout of the user with its status, lines, totals
  and decrypted ship-to address.
* **Erase**: open checkouts give their held stock back, then every checkout row of the user
  is deleted (the orders a checkout produced are the orders domain's, pseudonymized there;
  the addresses were encrypted under the user's data key, which the deletion destroys).

Imported by :mod:`shopreel.checkout.endpoints`, so both are registered with the API.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from sqlalchemy import delete, select

from shopreel.accounts.principal import Principal
from shopreel.checkout import rules, service
from shopreel.checkout.models import Checkout
from shopreel.inventory import reservations
from shopreel.inventory.errors import ReservationNotFound
from shopreel.runtime import Runtime
from shopreel.sovereignty import privacy
from shopreel.uow import UnitOfWork

NAME = "checkouts"


async def export_checkouts(
    uow: UnitOfWork, runtime: Runtime, principal: Principal
) -> list[dict[str, Any]]:
    rows = await uow.region(principal.region).scalars(
        select(Checkout).where(Checkout.buyer_id == principal.id).order_by(Checkout.created_at)
    )
    exported: list[dict[str, Any]] = []
    for checkout in rows:
        exported.append(
            {
                "id": checkout.id,
                "status": checkout.status,
                "currency": checkout.currency,
                "total_cents": checkout.total_cents,
                "lines": checkout.lines,
                "shipping_choices": checkout.shipping_choices,
                "ship_to": await service.address_of(uow, runtime, checkout),
                "payment_id": checkout.payment_id,
                "failure_code": checkout.failure_code,
                "created_at": checkout.created_at,
                "completed_at": checkout.completed_at,
            }
        )
    return exported


async def erase_checkouts(uow: UnitOfWork, runtime: Runtime, principal: Principal) -> int:
    session = uow.region(principal.region)
    open_ids = await session.scalars(
        select(Checkout.id).where(
            Checkout.buyer_id == principal.id,
            Checkout.status.in_([s.value for s in rules.OPEN]),
        )
    )
    for checkout_id in open_ids:
        with suppress(ReservationNotFound):  # a checkout whose holds were never written
            await reservations.release(runtime, checkout_id)
    result = await session.execute(
        delete(Checkout)
        .where(Checkout.buyer_id == principal.id)
        .execution_options(synchronize_session=False)
    )
    count = getattr(result, "rowcount", 0)
    return count if isinstance(count, int) and count > 0 else 0


def register() -> None:
    """Register both once (importing twice must not raise)."""
    if NAME not in {name for name, _, _ in privacy.exporters()}:
        privacy.register_exporter(
            NAME, export_checkouts, description="checkouts with lines, totals and address"
        )
    if NAME not in {name for name, _, _ in privacy.erasers()}:
        privacy.register_eraser(
            NAME,
            erase_checkouts,
            description="open checkouts release their stock; checkout rows deleted",
        )


register()
