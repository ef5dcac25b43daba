"""The idempotency domain's part of data-subject rights (see
:mod:`shopreel.sovereignty.privacy`).

Stored responses are copies of what other domains hold (orders, payments) and are kept
for a day; they are not exported (those domains export the facts themselves). Deleting an
account deletes them: the bodies are encrypted under the user's data key, which the deletion
destroys anyway, and the rows (keys, fingerprints, timestamps) go with it.

Imported by :mod:`shopreel.idempotency.http`, so the eraser is registered whenever an
idempotent endpoint exists.
"""

from __future__ import annotations

from sqlalchemy import delete

from shopreel.accounts.principal import Principal
from shopreel.idempotency.models import IdempotencyRecord
from shopreel.runtime import Runtime
from shopreel.sovereignty import privacy
from shopreel.uow import UnitOfWork

ERASER_NAME = "idempotency_records"


async def erase_idempotency_records(
    uow: UnitOfWork, _runtime: Runtime, principal: Principal
) -> int:
    result = await uow.region(principal.region).execute(
        delete(IdempotencyRecord)
        .where(IdempotencyRecord.user_id == principal.id)
        .execution_options(synchronize_session=False)
    )
    count = getattr(result, "rowcount", 0)
    return count if isinstance(count, int) and count > 0 else 0


def register() -> None:
    """Register the eraser once (importing twice must not raise)."""
    if ERASER_NAME not in {name for name, _, _ in privacy.erasers()}:
        privacy.register_eraser(
            ERASER_NAME,
            erase_idempotency_records,
            description="stored responses of retried requests deleted",
        )


register()
