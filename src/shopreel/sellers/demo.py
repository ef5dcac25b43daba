"""Demo data of seller onboarding: an approved application for the demo shop's owner.

Called by the demo seed after the owner's account (and data key) and the shop exist. The
data is plausible and fake: a 555 phone number, an EIN with an assigned prefix but no real
business behind it, the Federal Reserve's routing number paired with a made-up account.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select

from shopreel.kit.ids import new_id
from shopreel.kit.time import utcnow
from shopreel.planes import regional
from shopreel.runtime import Runtime
from shopreel.sellers.models import (
    ApplicationKind,
    ApplicationState,
    SellerApplication,
    SellerApplicationEvent,
)
from shopreel.sellers.service import BANK_TOKEN_PREFIX
from shopreel.sellers.vault import PersonalData, data_key, seal

DEMO_REVIEWER = "system:demo-seed"


def demo_personal_data(country: str) -> PersonalData:
    us = country == "US"
    return PersonalData(
        legal_name="Demo Shop Goods LLC",
        address={
            "line1": "500 Market Street" if us else "1 Raffles Place",
            "line2": "Suite 300" if us else "#20-01",
            "city": "San Francisco" if us else "Singapore",
            "state": "CA" if us else "",
            "postal_code": "94105" if us else "048616",
            "country": country,
        },
        tax_id="94-1234567",
        contact={"email": "seller@demo.shopreel.test", "phone": "+14155550123"},
        bank={
            "token": BANK_TOKEN_PREFIX + secrets.token_hex(12),
            "account_last4": "6789",
            "routing_number": "011000015",
        },
    )


async def seed_demo_application(
    runtime: Runtime, *, user_id: str, shop_id: str, region: str, country: str
) -> str:
    """Write an approved business application for ``user_id``'s shop ``shop_id`` (idempotent:
    an existing application of the user is kept). Returns the application id. The shop's
    own status is the seed's business (it creates the shop approved)."""
    async with runtime.databases.transaction(regional(region)) as session:
        existing = await session.scalar(
            select(SellerApplication.id).where(SellerApplication.user_id == user_id)
        )
        if existing is not None:
            return str(existing)
        key = await data_key(runtime, session, user_id)
        if key is None:
            raise LookupError(f"no data key for {user_id}: create the account first")
        submitted = utcnow() - timedelta(days=3)
        decided = submitted + timedelta(hours=20)
        application = SellerApplication(
            id=new_id("sap", region),
            region=region,
            user_id=user_id,
            shop_id=shop_id,
            kind=ApplicationKind.BUSINESS.value,
            state=ApplicationState.APPROVED.value,
            rejection_reasons=[],
            submitted_at=submitted,
            decided_at=decided,
            decided_by=DEMO_REVIEWER,
            created_at=submitted - timedelta(hours=1),
            updated_at=decided,
        )
        seal(runtime.cipher(region), key, application, demo_personal_data(country))
        session.add(application)
        steps = (
            (None, ApplicationState.DRAFT, user_id, application.created_at),
            (ApplicationState.DRAFT, ApplicationState.SUBMITTED, user_id, submitted),
            (ApplicationState.SUBMITTED, ApplicationState.APPROVED, DEMO_REVIEWER, decided),
        )
        for source, target, actor, moment in steps:
            session.add(
                SellerApplicationEvent(
                    id=new_id("sae", region),
                    region=region,
                    application_id=application.id,
                    from_state=source.value if source else None,
                    to_state=target.value,
                    actor_id=actor,
                    reasons=[],
                    details={"event": "demo_seed"},
                    created_at=moment,
                )
            )
        return application.id
