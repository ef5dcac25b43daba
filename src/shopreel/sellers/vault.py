"""Sealing and opening the personal fields of a seller application.

Each identifying field (legal name, business address, tax id, contact, bank token) is a JSON
value encrypted with AES-GCM under the applicant's data key, bound to the context
``"seller_applications.<field>:<application id>"`` so a ciphertext cannot be moved to another
row or column. Only the kind, state, reasons and timestamps stay in the clear.

The broker (staff reads), the privacy export and the seller's own API all open applications
through :func:`application_record`, so there is one decryption path to review.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shopreel.accounts.service import user_data_key
from shopreel.kit.time import as_utc
from shopreel.runtime import Runtime
from shopreel.sellers.models import SellerApplication
from shopreel.sovereignty.crypto import FieldCipher

FIELDS: Final = ("legal_name", "address", "tax_id", "contact", "bank")


@dataclass(frozen=True)
class PersonalData:
    """The decrypted personal fields of one application (None: not given yet).

    ``bank`` holds only the sandbox token, the account's last 4 digits and the routing
    number: the full account number is never stored."""

    legal_name: str | None = None
    address: dict[str, str] | None = None
    tax_id: str | None = None
    contact: dict[str, str] | None = None
    bank: dict[str, str] | None = None

    def merged(self, **changes: Any) -> PersonalData:
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in FIELDS}


def field_context(application_id: str, field: str) -> str:
    return f"seller_applications.{field}:{application_id}"


def seal(
    cipher: FieldCipher, data_key: bytes, application: SellerApplication, data: PersonalData
) -> None:
    """Write every field of ``data`` to the application's ciphertext columns."""
    for field in FIELDS:
        value = getattr(data, field)
        blob = (
            None
            if value is None
            else cipher.encrypt(
                data_key,
                json.dumps(value, sort_keys=True, ensure_ascii=False),
                field_context(application.id, field),
            )
        )
        setattr(application, f"{field}_ct", blob)


def unseal(cipher: FieldCipher, data_key: bytes, application: SellerApplication) -> PersonalData:
    values: dict[str, Any] = {}
    for field in FIELDS:
        blob = getattr(application, f"{field}_ct")
        values[field] = (
            None
            if not blob
            else json.loads(
                cipher.decrypt_text(data_key, blob, field_context(application.id, field))
            )
        )
    return PersonalData(**values)


async def data_key(runtime: Runtime, session: AsyncSession, user_id: str) -> bytes | None:
    """The user's unwrapped data key from their home region's session (None: shredded)."""
    return await user_data_key(runtime, session, user_id)


async def application_of(session: AsyncSession, user_id: str) -> SellerApplication | None:
    return await session.scalar(
        select(SellerApplication).where(SellerApplication.user_id == user_id)
    )


async def application_record(
    runtime: Runtime, session: AsyncSession, user_id: str
) -> dict[str, Any] | None:
    """The user's application with its personal fields decrypted, for the staff broker and
    the privacy export; None when there is none or the user's key is shredded."""
    application = await application_of(session, user_id)
    if application is None:
        return None
    key = await data_key(runtime, session, user_id)
    if key is None:
        return None
    data = unseal(runtime.cipher(application.region), key, application)
    return {
        "id": application.id,
        "shop_id": application.shop_id,
        "kind": application.kind,
        "state": application.state,
        **data.as_dict(),
        "rejection_reasons": list(application.rejection_reasons or []),
        "submitted_at": _iso(application.submitted_at),
        "decided_at": _iso(application.decided_at),
        "created_at": _iso(application.created_at),
        "updated_at": _iso(application.updated_at),
    }


def _iso(value: Any) -> str | None:
    return None if value is None else as_utc(value).isoformat()
