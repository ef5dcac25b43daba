"""Privacy hooks of seller onboarding: the application in the user's data export, and its
erasure when the account is deleted.

Deleting an account destroys the user's data key, which already makes every ciphertext of the
application unreadable (crypto-shredding). The eraser also empties those columns and the
free-text reasons, so that nothing of it survives even as ciphertext; the row itself (kind,
state, dates) stays, like the shop, as the record that a seller existed and was decided on.
Registered when :mod:`shopreel.sellers.endpoints` is imported (the app imports it).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from shopreel.accounts.principal import Principal
from shopreel.runtime import Runtime
from shopreel.sellers.models import SellerApplication, SellerApplicationEvent
from shopreel.sellers.vault import application_record
from shopreel.sovereignty import privacy
from shopreel.uow import UnitOfWork

NAME = "seller_application"


async def export_application(
    uow: UnitOfWork, runtime: Runtime, principal: Principal
) -> list[dict[str, Any]]:
    """The user's application, decrypted (their own tax id in full; of the bank account only
    the sandbox token, the last 4 digits and the routing number were ever stored)."""
    session = uow.region(principal.region)
    record = await application_record(runtime, session, principal.id)
    return [] if record is None else [record]


async def erase_application(uow: UnitOfWork, _runtime: Runtime, principal: Principal) -> int:
    session = uow.region(principal.region)
    ids = list(
        await session.scalars(
            select(SellerApplication.id).where(SellerApplication.user_id == principal.id)
        )
    )
    if not ids:
        return 0
    await session.execute(
        update(SellerApplication)
        .where(SellerApplication.id.in_(ids))
        .values(
            legal_name_ct=None,
            address_ct=None,
            tax_id_ct=None,
            contact_ct=None,
            bank_ct=None,
            rejection_reasons=[],
        )
    )
    await session.execute(
        update(SellerApplicationEvent)
        .where(SellerApplicationEvent.application_id.in_(ids))
        .values(reasons=[], details={})
    )
    return len(ids)


def _register() -> None:
    if NAME not in {name for name, _, _ in privacy.exporters()}:
        privacy.register_exporter(
            NAME, export_application, description="Your seller application, decrypted"
        )
    if NAME not in {name for name, _, _ in privacy.erasers()}:
        privacy.register_eraser(
            NAME,
            erase_application,
            description="seller application's personal fields and review reasons erased",
        )


_register()
