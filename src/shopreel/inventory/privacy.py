"""The inventory domain's part of data-subject rights (see :mod:`shopreel.sovereignty.privacy`).

* Export: the seller's warehouses with their street lines decrypted.
* Erasure: the encrypted street lines (home region) are deleted. The global warehouse rows
  keep only shipping facts (city, state, postal code, country) and stay with the shop,
  which the ``public/shops`` eraser suspends and marks as owned by a deleted account.

Imported by :mod:`shopreel.inventory.endpoints`, so the hooks are registered whenever the
app is.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from shopreel.accounts.principal import Principal
from shopreel.inventory import repository, service
from shopreel.inventory.models import Warehouse, WarehouseAddress
from shopreel.runtime import Runtime
from shopreel.sovereignty import privacy
from shopreel.uow import UnitOfWork

EXPORT_NAME = "warehouse_addresses"


async def export_warehouse_addresses(
    uow: UnitOfWork, runtime: Runtime, principal: Principal
) -> list[dict[str, Any]]:
    addresses = await repository.addresses_of_owner(uow.region(principal.region), principal.id)
    if not addresses:
        return []
    warehouses = {
        w.id: w
        for w in await uow.global_.scalars(
            select(Warehouse).where(Warehouse.id.in_([a.warehouse_id for a in addresses]))
        )
    }
    data_key = await service.owner_data_key(uow, runtime, principal)
    records: list[dict[str, Any]] = []
    for address in addresses:
        line1, line2 = service.open_address(runtime, principal.region, data_key, address)
        w = warehouses.get(address.warehouse_id)
        records.append(
            {
                "warehouse_id": address.warehouse_id,
                "name": w.name if w else None,
                "line1": line1,
                "line2": line2,
                "city": w.city if w else None,
                "state": w.subdivision if w else None,
                "postal_code": w.postal_code if w else None,
                "country": w.country if w else None,
                "handling_days": w.handling_days if w else None,
                "active": w.active if w else None,
                "updated_at": address.updated_at,
            }
        )
    return records


async def erase_warehouse_addresses(
    uow: UnitOfWork, _runtime: Runtime, principal: Principal
) -> int:
    result = await uow.region(principal.region).execute(
        delete(WarehouseAddress).where(WarehouseAddress.owner_id == principal.id)
    )
    count = getattr(result, "rowcount", 0)
    return count if isinstance(count, int) and count > 0 else 0


def register() -> None:
    """Register the hooks once (idempotent: importing twice must not raise)."""
    if EXPORT_NAME not in {name for name, _, _ in privacy.exporters()}:
        privacy.register_exporter(
            EXPORT_NAME,
            export_warehouse_addresses,
            description="Your warehouses' street addresses, decrypted",
        )
    if EXPORT_NAME not in {name for name, _, _ in privacy.erasers()}:
        privacy.register_eraser(
            EXPORT_NAME,
            erase_warehouse_addresses,
            description="warehouse street addresses deleted",
        )


register()
