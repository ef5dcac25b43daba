"""Seller onboarding through the JSON API: from sign-up to an approved shop, validation,
staff review through the broker, the checklist, the public shop and where the data lives."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select, text

from shopreel.catalog.models import ShopStatus
from shopreel.inventory.models import Warehouse
from shopreel.kit.ids import new_id
from shopreel.planes import GLOBAL, regional
from shopreel.runtime import Runtime
from shopreel.sellers.models import SellerApplication, SellerApplicationEvent
from tests.fixtures.factories import PASSWORD, api_login
from tests.fixtures.sellers import create_product
from tests.sellers.conftest import (
    API,
    COMPLETE_BUSINESS,
    Login,
    application_row,
    apply,
    audit_kinds,
    shop_row,
)

ALL_MISSING = [
    "legal_name",
    "address.line1",
    "address.city",
    "address.postal_code",
    "address.country",
    "tax_id",
    "contact.email",
    "contact.phone",
    "bank",
]


async def test_from_signup_to_approved_shop(
    client: httpx.AsyncClient, login: Login, runtime: Runtime
) -> None:
    signup = await client.post(
        f"{API}/auth/signup",
        json={
            "email": "maker@example.com",
            "password": PASSWORD,
            "display_name": "Maker",
            "country": "US",
        },
    )
    assert signup.status_code == 201 and signup.json()["roles"] == ["shopper"]
    csrf = await api_login(client, "maker@example.com")
    headers = {"X-CSRF-Token": csrf}

    created = await client.post(
        f"{API}/seller/application",
        json={
            "kind": "business",
            "handle": "Quixotic-Ceramics",
            "shop_name": "Quixotic",
            "description": "Mugs.",
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["state"] == "draft" and body["kind"] == "business" and body["region"] == "us"
    assert body["shop"]["handle"] == "quixotic-ceramics" and body["shop"]["status"] == "pending"
    assert body["missing"] == ALL_MISSING and body["editable"] is True
    assert (await client.get(f"{API}/me")).json()["roles"] == ["shopper", "seller"]

    # Nothing to submit yet: every missing field is listed.
    early = await client.post(f"{API}/seller/application/submit", headers=headers)
    assert early.status_code == 422
    assert early.headers["content-type"].startswith("application/problem+json")
    assert (
        early.json()["code"] == "application_incomplete" and early.json()["missing"] == ALL_MISSING
    )

    patched = await client.patch(
        f"{API}/seller/application", json=COMPLETE_BUSINESS, headers=headers
    )
    assert patched.status_code == 200, patched.text
    app = patched.json()
    assert app["legal_name"] == "Quixotic Ceramics Holdings LLC"
    assert app["address"]["state"] == "IL" and app["address"]["postal_code"] == "62704-1234"
    assert app["contact"] == {"email": "books@quixotic.example", "phone": "+12175550142"}
    assert app["tax_id"] == {"type": "ein", "last4": "5268"}
    assert app["bank"]["account_last4"] == "1234" and app["bank"]["routing_last4"] == "0021"
    assert app["bank"]["token"].startswith("btok_sandbox_")
    assert "94-7315268" not in patched.text and "98765432101234" not in patched.text
    assert "021000021" not in patched.text
    assert app["missing"] == []

    submitted = await client.post(f"{API}/seller/application/submit", headers=headers)
    assert submitted.status_code == 200 and submitted.json()["state"] == "submitted"
    assert submitted.json()["submitted_at"] is not None
    locked = await client.patch(
        f"{API}/seller/application", json={"legal_name": "X"}, headers=headers
    )
    assert locked.status_code == 409 and locked.json()["code"] == "application_locked"
    again = await client.post(f"{API}/seller/application/submit", headers=headers)
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"

    # Staff: the queue has no personal data; details come through the broker.
    staff = await login(jurisdiction="US", staff_roles=("seller_ops",))
    queue = await staff.get("/staff/seller-applications")
    assert queue.status_code == 200
    [row] = queue.json()
    assert set(row) == {"id", "shop_handle", "shop_name", "kind", "state", "submitted_at"}
    assert row["shop_handle"] == "quixotic-ceramics" and row["state"] == "submitted"
    assert "Quixotic Ceramics Holdings" not in queue.text and "books@" not in queue.text
    application_id = row["id"]
    assert application_id == app["id"]

    detail = await staff.get(
        f"/staff/seller-applications/{application_id}", purpose="seller_verification"
    )
    assert detail.status_code == 200, detail.text
    read = detail.json()
    assert read["personal_data"]["legal_name"] == "Quixotic Ceramics Holdings LLC"
    assert read["personal_data"]["tax_id"] == "94-7315268"
    assert read["personal_data"]["bank"]["routing_number"] == "021000021"
    assert "98765432101234" not in detail.text  # never stored, so never shown
    assert read["allowed_actions"] == ["approve", "reject"]
    assert read["decision"]["allowed"] and read["decision"]["reasons"] == [
        "staff-read-for-allowed-purpose"
    ]
    decisions = [a for k, a in await audit_kinds(runtime) if k == "access.decision"]
    assert decisions[-1]["category"] == "seller_application"
    assert decisions[-1]["purpose"] == "seller_verification" and decisions[-1]["allowed"] is True

    # Reject: the seller sees the reasons, the shop stays pending, the public page 404s.
    no_reasons = await staff.post(
        f"/staff/seller-applications/{application_id}/reject", {"reasons": ["  "]}
    )
    assert no_reasons.status_code == 422
    rejected = await staff.post(
        f"/staff/seller-applications/{application_id}/reject",
        {"reasons": ["The EIN does not match the legal name.", "Add a street address."]},
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["state"] == "rejected" and rejected.json()["shop_status"] == "pending"
    mine = (await client.get(f"{API}/seller/application")).json()
    assert mine["state"] == "rejected" and mine["editable"] is True
    assert mine["rejection_reasons"] == [
        "The EIN does not match the legal name.",
        "Add a street address.",
    ]
    assert [h["by"] for h in mine["history"]] == ["you", "you", "staff"]
    assert (await client.get(f"{API}/shops/quixotic-ceramics")).status_code == 404

    fixed = await client.patch(
        f"{API}/seller/application", json={"legal_name": "Quixotic LLC"}, headers=headers
    )
    assert fixed.status_code == 200
    resubmitted = await client.post(f"{API}/seller/application/submit", headers=headers)
    assert resubmitted.json()["state"] == "submitted"

    approved = await staff.post(f"/staff/seller-applications/{application_id}/approve")
    assert approved.status_code == 200 and approved.json()["state"] == "approved"
    assert (
        approved.json()["shop_status"] == "approved" and approved.json()["rejection_reasons"] == []
    )
    public = await client.get(f"{API}/shops/quixotic-ceramics")
    assert public.status_code == 200 and public.json()["name"] == "Quixotic"
    assert public.json()["products"] == []
    twice = await staff.post(f"/staff/seller-applications/{application_id}/approve")
    assert twice.status_code == 409 and twice.json()["code"] == "invalid_transition"

    # Suspend needs a reason; then the shop disappears; reinstating brings it back.
    reasonless = await staff.post(
        f"/staff/seller-applications/{application_id}/suspend", {"reason": " "}
    )
    assert reasonless.status_code == 422
    suspended = await staff.post(
        f"/staff/seller-applications/{application_id}/suspend",
        {"reason": "Chargebacks over limit."},
    )
    assert (
        suspended.json()["state"] == "suspended" and suspended.json()["shop_status"] == "suspended"
    )
    assert (await client.get(f"{API}/shops/quixotic-ceramics")).status_code == 404
    reinstated = await staff.post(f"/staff/seller-applications/{application_id}/reinstate")
    assert (
        reinstated.json()["state"] == "approved" and reinstated.json()["shop_status"] == "approved"
    )

    # Every decision is in the audit log, without the reasons' text.
    seller_decisions = [a for k, a in await audit_kinds(runtime) if k == "seller.decision"]
    assert [(d["action"], d["from_state"], d["to_state"]) for d in seller_decisions] == [
        ("reject", "submitted", "rejected"),
        ("approve", "submitted", "approved"),
        ("suspend", "approved", "suspended"),
        ("reinstate", "suspended", "approved"),
    ]
    assert (
        seller_decisions[0]["reason_count"] == 2
        and len(seller_decisions[0]["reasons_sha256"]) == 64
    )
    assert "EIN does not match" not in str(seller_decisions)
    async with runtime.databases.session(regional("us")) as session:
        events = list(
            await session.scalars(
                select(SellerApplicationEvent)
                .where(SellerApplicationEvent.application_id == application_id)
                .order_by(SellerApplicationEvent.created_at, SellerApplicationEvent.id)
            )
        )
    assert [(e.from_state, e.to_state) for e in events] == [
        (None, "draft"),
        ("draft", "submitted"),
        ("submitted", "rejected"),
        ("rejected", "submitted"),
        ("submitted", "approved"),
        ("approved", "suspended"),
        ("suspended", "approved"),
    ]
    assert events[2].actor_id == staff.id and events[2].reasons[0].startswith("The EIN")
    assert events[5].reasons == ["Chargebacks over limit."]


async def test_invalid_fields_are_all_reported_and_nothing_is_stored(
    login: Login, runtime: Runtime
) -> None:
    seller = await login()
    assert (await apply(seller, "valid-handle")).status_code == 201
    before = await application_row(runtime, seller.id, "us")
    bad = {
        "legal_name": "Ada",
        "address": {
            "line1": "1 Main",
            "city": "X",
            "state": "ZZ",
            "postal_code": "1234",
            "country": "US",
        },
        "tax_id": "07-1234567",
        "contact": {"email": "nope", "phone": "555-0100"},
        "bank": {"routing_number": "021000022", "account_number": "12"},
    }
    response = await seller.patch("/seller/application", bad)
    assert response.status_code == 422 and response.json()["code"] == "validation_failed"
    fields = [e["field"] for e in response.json()["errors"]]
    assert fields == [
        "address.state",
        "address.postal_code",
        "tax_id",
        "contact.email",
        "contact.phone",
        "bank.routing_number",
        "bank.account_number",
    ]
    assert await application_row(runtime, seller.id, "us") == before


async def test_individual_uses_ssn_last4(login: Login) -> None:
    seller = await login()
    assert (await apply(seller, "solo-maker", kind="individual")).status_code == 201
    wrong = await seller.patch("/seller/application", {"tax_id": "12-3456789"})
    assert wrong.status_code == 422 and wrong.json()["field"] == "tax_id"
    zeros = await seller.patch("/seller/application", {"tax_id": "0000"})
    assert zeros.status_code == 422
    ok = await seller.patch("/seller/application", {"tax_id": "4321"})
    assert ok.json()["tax_id"] == {"type": "ssn_last4", "last4": "4321"}


async def test_handles_and_one_application_per_user(login: Login, runtime: Runtime) -> None:
    first = await login()
    second = await login()
    assert (await apply(first, "taken-handle")).status_code == 201
    for handle, code in [("taken-handle", "handle_taken"), ("TAKEN-HANDLE", "handle_taken")]:
        response = await apply(second, handle)
        assert response.status_code == 409 and response.json()["code"] == code
    for handle in ("admin", "a", "bad--handle", "-x-", "shop_reel"):
        response = await apply(second, handle)
        assert response.status_code == 422 and response.json()["field"] == "handle", handle
    again = await apply(first, "another-handle")
    assert again.status_code == 409 and again.json()["code"] == "application_exists"
    assert await shop_row(runtime, second.id) is None
    async with runtime.databases.session(GLOBAL) as session:
        from shopreel.catalog.models import Shop

        assert await session.scalar(select(func.count()).select_from(Shop)) == 1


async def test_shop_profile_and_shipping(login: Login) -> None:
    seller = await login()
    assert (await seller.get("/seller/shop")).json()["code"] == "shop_required"
    await apply(seller, "shipping-shop")
    shop = await seller.get("/seller/shop")
    assert shop.status_code == 200 and shop.json()["shipping"]["shipping_set_at"] is None
    too_long = await seller.patch("/seller/shop", {"description": "x" * 2001})
    assert too_long.status_code == 422 and too_long.json()["field"] == "description"
    changed = await seller.patch(
        "/seller/shop",
        {"name": "  New   Name ", "description": "Hand-thrown mugs.\r\nSmall batches."},
    )
    assert changed.json()["name"] == "New Name"
    assert changed.json()["description"] == "Hand-thrown mugs.\nSmall batches."
    bad = await seller.put(
        "/seller/shop/shipping",
        {
            "default_handling_days": 31,
            "flat_shipping_cents": -1,
            "free_shipping_threshold_cents": -5,
        },
    )
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == [
        "default_handling_days",
        "flat_shipping_cents",
        "free_shipping_threshold_cents",
    ]
    ok = await seller.put(
        "/seller/shop/shipping",
        {
            "default_handling_days": 3,
            "flat_shipping_cents": 599,
            "free_shipping_threshold_cents": None,
        },
    )
    shipping = ok.json()["shipping"]
    assert shipping["default_handling_days"] == 3 and shipping["flat_shipping_cents"] == 599
    assert shipping["free_shipping_threshold_cents"] is None and shipping["shipping_set_at"]


async def test_checklist_follows_real_data(login: Login, runtime: Runtime) -> None:
    seller = await login()
    await apply(seller, "checklist-shop")

    async def done() -> dict[str, bool]:
        response = await seller.get("/seller/checklist")
        assert response.status_code == 200
        return {item["key"]: item["done"] for item in response.json()["items"]}

    assert await done() == {
        "application_submitted": False,
        "application_approved": False,
        "shop_profile": False,
        "warehouse": False,
        "shipping": False,
        "first_product": False,
        "first_live_product": False,
    }
    items = (await seller.get("/seller/checklist")).json()["items"]
    assert {i["key"]: i["href"] for i in items}["warehouse"] == "/seller/warehouses"

    await seller.patch("/seller/shop", {"description": "We make things."})
    await seller.put(
        "/seller/shop/shipping", {"default_handling_days": 1, "flat_shipping_cents": 0}
    )
    shop = await shop_row(runtime, seller.id)
    assert shop is not None
    async with runtime.databases.transaction(GLOBAL) as session:
        session.add(Warehouse(id=new_id("wh"), shop_id=shop["id"], name="Home", country="US"))
    state = await done()
    assert state["shop_profile"] and state["shipping"] and state["warehouse"]
    assert not state["first_product"]

    from shopreel.catalog.models import Shop

    async with runtime.databases.session(GLOBAL) as session:
        shop_model = await session.get(Shop, shop["id"])
    assert shop_model is not None
    await create_product(runtime, shop_model, status="draft")
    state = await done()
    assert state["first_product"] and not state["first_live_product"]
    await create_product(runtime, shop_model, status="live")
    state = await done()
    assert state["first_live_product"] and not state["application_submitted"]

    assert (await seller.patch("/seller/application", COMPLETE_BUSINESS)).status_code == 200
    await seller.post("/seller/application/submit")
    assert (await done())["application_submitted"]


async def test_public_shop_lists_live_products_only(
    client: httpx.AsyncClient, login: Login, runtime: Runtime
) -> None:
    from tests.fixtures.sellers import create_seller

    seller = await create_seller(runtime, handle="public-shop")
    await create_product(runtime, seller.shop, title="Mug", variants=(((), 1500),))
    await create_product(
        runtime,
        seller.shop,
        title="Bowl",
        option_names=("Size",),
        variants=((("S",), 2500), (("L",), 1900)),
    )
    await create_product(runtime, seller.shop, title="Draft thing", status="draft")
    response = await client.get(f"{API}/shops/public-shop")
    assert response.status_code == 200
    products = {
        p["title"]: (p["min_price_cents"], p["currency"]) for p in response.json()["products"]
    }
    assert products == {"Mug": (1500, "USD"), "Bowl": (1900, "USD")}
    assert (await client.get(f"{API}/shops/nope-shop")).status_code == 404
    pending = await create_seller(runtime, handle="pending-shop", status=ShopStatus.PENDING)
    assert pending.shop.status == "pending"
    assert (await client.get(f"{API}/shops/pending-shop")).status_code == 404


async def test_intl_application_lives_in_the_intl_database(login: Login, runtime: Runtime) -> None:
    seller = await login(country="SG")
    created = await apply(seller, "singapore-shop")
    assert created.status_code == 201 and created.json()["region"] == "intl"
    assert created.json()["id"].startswith("sap_intl_")
    assert await application_row(runtime, seller.id, "intl") is not None
    async with runtime.databases.session(regional("us")) as session:
        assert await session.scalar(select(func.count()).select_from(SellerApplication)) == 0
    shop = await shop_row(runtime, seller.id)
    assert shop is not None and shop["home_region"] == "intl" and shop["country"] == "SG"


async def test_personal_data_is_encrypted_at_rest(login: Login, runtime: Runtime) -> None:
    seller = await login()
    await apply(seller, "secret-shop")
    assert (await seller.patch("/seller/application", COMPLETE_BUSINESS)).status_code == 200
    needles = [
        "Quixotic Ceramics",
        "94-7315268",
        "947315268",
        "Evergreen Terrace",
        "books@quixotic",
        "2175550142",
        "021000021",
        "98765432101234",
    ]
    engine = runtime.databases.engine(regional("us"))
    async with engine.connect() as connection:
        for table in ("seller_applications", "seller_application_events"):
            rows = (await connection.execute(text(f"SELECT * FROM {table}"))).all()  # noqa: S608
            assert rows
            for row in rows:
                for value in row:
                    blob = (
                        bytes(value)
                        if isinstance(value, bytes | memoryview)
                        else str(value).encode()
                    )
                    for needle in needles:
                        assert needle.encode() not in blob, (table, needle)
        ciphertexts = (
            await connection.execute(
                text("SELECT legal_name_ct, tax_id_ct, bank_ct FROM seller_applications")
            )
        ).one()
        assert all(c is not None and len(bytes(c)) > 16 for c in ciphertexts)
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        assert database
        from pathlib import Path

        for path in (Path(database), Path(database + "-wal")):
            if path.exists():
                raw = path.read_bytes()
                for needle in needles:
                    assert needle.encode() not in raw, (path.name, needle)


async def test_seller_data_in_the_privacy_export_and_erased_with_the_account(
    login: Login, runtime: Runtime
) -> None:
    from shopreel.sellers.privacy import erase_application, export_application
    from shopreel.sovereignty import privacy
    from shopreel.uow import UnitOfWork
    from tests.sovereignty.test_access_service import principal_of

    assert "seller_application" in [name for name, _, _ in privacy.exporters()]
    assert "seller_application" in [name for name, _, _ in privacy.erasers()]
    seller = await login()
    await apply(seller, "exported-shop")
    await seller.patch("/seller/application", COMPLETE_BUSINESS)
    principal = await principal_of(runtime, seller.user)
    async with UnitOfWork(runtime.databases, home_region="us") as uow:
        [record] = await export_application(uow, runtime, principal)
    assert (
        record["legal_name"] == "Quixotic Ceramics Holdings LLC"
        and record["tax_id"] == "94-7315268"
    )
    assert record["bank"]["account_last4"] == "1234" and "account_number" not in record["bank"]
    async with UnitOfWork(runtime.databases, home_region="us") as uow:
        assert await erase_application(uow, runtime, principal) == 1
    row = await application_row(runtime, seller.id, "us")
    assert row is not None and row["legal_name_ct"] is None and row["bank_ct"] is None
    assert row["state"] == "draft"  # the fact of an application stays, nothing personal
