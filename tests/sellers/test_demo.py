"""The demo hook writes an approved, valid, encrypted application."""

from __future__ import annotations

from shopreel.catalog.models import ShopStatus
from shopreel.planes import regional
from shopreel.runtime import Runtime
from shopreel.sellers import rules
from shopreel.sellers.demo import seed_demo_application
from shopreel.sellers.vault import application_record
from tests.fixtures.sellers import create_seller


async def test_seed_demo_application(runtime: Runtime) -> None:
    seller = await create_seller(runtime, handle="demo-shop", status=ShopStatus.APPROVED)
    kwargs = {"user_id": seller.user.id, "shop_id": seller.shop.id, "region": "us", "country": "US"}
    first = await seed_demo_application(runtime, **kwargs)
    assert await seed_demo_application(runtime, **kwargs) == first  # idempotent
    async with runtime.databases.session(regional("us")) as session:
        record = await application_record(runtime, session, seller.user.id)
    assert record is not None and record["id"] == first
    assert record["state"] == "approved" and record["kind"] == "business"
    complete = rules.missing_fields(
        legal_name=record["legal_name"],
        address=record["address"],
        tax_id=record["tax_id"],
        contact=record["contact"],
        bank=record["bank"],
    )
    assert complete.complete
    assert rules.validate_ein(record["tax_id"]) == record["tax_id"]
    assert rules.validate_routing_number(record["bank"]["routing_number"])
    assert rules.validate_phone(record["contact"]["phone"]) == record["contact"]["phone"]
    assert rules.validate_zip(record["address"]["postal_code"])
